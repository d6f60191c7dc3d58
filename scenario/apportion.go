package scenario

import (
	"cmp"
	"slices"
)

// Apportion divides users over classes by their weights with largest remainders (Hamilton's
// method, as Locust splits users over its User classes): class c gets floor(users*w_c/W), and the
// users left over go one each to the classes with the largest remainders, the lower index first on
// a tie. The counts add up to users. A class of weight 0 gets none; with no positive weight, or no
// class, the result is nil.
func Apportion(users int64, weights []int64) []int64 {
	var sum int64
	for _, w := range weights {
		if w > 0 {
			sum += w
		}
	}
	if sum == 0 || users < 0 {
		return nil
	}
	counts := make([]int64, len(weights))
	rem := make([]int64, len(weights)) // users*w mod sum: the remainder's numerator
	var given int64
	for i, w := range weights {
		if w <= 0 {
			continue
		}
		// users*w may not fit in 64 bits for huge counts: split users into quotient and remainder.
		q, r := users/sum, users%sum
		counts[i] = q*w + r*w/sum
		rem[i] = r * w % sum
		given += counts[i]
	}
	order := make([]int, 0, len(weights))
	for i, w := range weights {
		if w > 0 {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rem[b], rem[a]) })
	for k := int64(0); k < users-given; k++ {
		counts[order[k]]++
	}
	return counts
}
