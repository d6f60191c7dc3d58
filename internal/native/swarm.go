package native

import (
	"cmp"
	"slices"
)

// apportion divides users over weights by largest remainder (as the master's Apportion splits
// a fleet's users over classes): floor(users*w/W) each, then one more to the largest remainders,
// the lower index first on a tie. With no positive weight the users are spread evenly.
func apportion(users int64, weights []int64) []int64 {
	out := make([]int64, len(weights))
	var sum int64
	for _, w := range weights {
		sum += max(w, 0)
	}
	if sum == 0 {
		if len(weights) == 0 {
			return out
		}
		for i := range weights {
			out[i] = users / int64(len(weights))
			if int64(i) < users%int64(len(weights)) {
				out[i]++
			}
		}
		return out
	}
	rem := make([]int64, len(weights))
	var given int64
	q, r := users/sum, users%sum // users*w could overflow; r*w cannot (both below 2^40)
	for i, w := range weights {
		if w <= 0 {
			continue
		}
		out[i] = q*w + r*w/sum
		rem[i] = r * w % sum
		given += out[i]
	}
	order := make([]int, 0, len(weights))
	for i, w := range weights {
		if w > 0 {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rem[b], rem[a]) })
	for k := int64(0); k < users-given; k++ {
		out[order[k]]++
	}
	return out
}
