package master

import (
	"math"
	"sort"
	"time"
)

// User dispatch in Swarm mode, as pure functions of (workers' users when the ramp began, target,
// spawn rate, time since). The master recomputes them at every tick, and starts a new ramp from
// the current counts whenever the target, the rate or the set of workers changes.
//
// The spawn rate is fleet-wide: in any second at most `rate` users start and at most `rate` users
// stop across all workers together, whether the fleet grows, shrinks or rebalances onto a worker
// that joined (one user stopping on an old worker while one starts on the new one keeps the total
// steady). Shares follow Split, so the most and the fewest users on any two workers differ by at
// most one once a ramp is done, and by as little as the steps allow while it runs.

// Steps returns how many users may have started (and, separately, stopped) `elapsed` into a ramp
// at `rate` users per second: floor(rate * seconds). A rate <= 0 means all at once.
func Steps(rate float64, elapsed time.Duration) int64 {
	if rate <= 0 {
		return math.MaxInt64
	}
	elapsed = max(elapsed, 0)
	// A tiny epsilon keeps 0.1 users/s * 10 s from flooring to 0.999...
	s := math.Floor(rate*elapsed.Seconds() + 1e-9)
	if s >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(s)
}

// Plan returns each worker's users `elapsed` into a ramp that began with from[i] users on worker i
// (in index order) towards Split(target, len(from)), at `rate` users per second fleet-wide.
// Starts go to the workers with the fewest users first, stops come from those with the most, so
// the fleet stays as even as it can at every step. A nil or empty from yields nil.
func Plan(from []int64, target int64, rate float64, elapsed time.Duration) []int64 {
	if len(from) == 0 {
		return nil
	}
	to := Split(max(target, 0), len(from))
	steps := Steps(rate, elapsed)
	cur := make([]int64, len(from))
	copy(cur, from)
	fill(cur, to, steps)
	drain(cur, to, steps)
	return cur
}

// fill starts up to k users on the workers below their share, lowest counts first (lowest index on
// a tie), never beyond the share.
func fill(cur, to []int64, k int64) {
	var need int64
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range cur {
		if to[i] > cur[i] {
			need += to[i] - cur[i]
			lo, hi = min(lo, cur[i]), max(hi, to[i])
		}
	}
	if need == 0 {
		return
	}
	if k >= need {
		for i := range cur {
			cur[i] = max(cur[i], to[i])
		}
		return
	}
	// The highest level L that k starts can lift every worker to (each up to its share).
	cost := func(level int64) int64 {
		var c int64
		for i := range cur {
			if to[i] > cur[i] {
				c += max(0, min(to[i], level)-cur[i])
			}
		}
		return c
	}
	level := lo + int64(sort.Search(int(hi-lo+1), func(d int) bool { return cost(lo+int64(d)) > k })) - 1
	k -= cost(level)
	for i := range cur {
		if to[i] > cur[i] {
			cur[i] = max(cur[i], min(to[i], level))
		}
	}
	for i := range cur { // what is left: one more each on the workers at that level, by index
		if k == 0 {
			break
		}
		if cur[i] == level && cur[i] < to[i] {
			cur[i]++
			k--
		}
	}
}

// drain stops up to k users on the workers above their share, highest counts first (highest index
// on a tie), never below the share. It is fill seen in a mirror: negated counts, reversed order.
func drain(cur, to []int64, k int64) {
	n := len(cur)
	mc, mt := make([]int64, n), make([]int64, n)
	for i := range cur {
		mc[n-1-i], mt[n-1-i] = -cur[i], -to[i]
	}
	fill(mc, mt, k)
	for i := range cur {
		cur[i] = -mc[n-1-i]
	}
}

// PlanDone returns how long the ramp of Plan(from, target, rate, ·) takes to reach its shares.
func PlanDone(from []int64, target int64, rate float64) time.Duration {
	to := Split(max(target, 0), len(from))
	var up, down int64
	for i := range from {
		up += max(0, to[i]-from[i])
		down += max(0, from[i]-to[i])
	}
	moves := max(up, down)
	if rate <= 0 || moves == 0 {
		return 0
	}
	return time.Duration(math.Ceil(float64(moves) / rate * 1e9))
}

// Split divides users over n workers by largest remainder with equal weights: every worker gets
// users/n and the first users%n workers (in index order) one more. The shares differ by at most one
// and always add up to users. n <= 0 yields nil.
func Split(users int64, n int) []int64 {
	if n <= 0 {
		return nil
	}
	shares := make([]int64, n)
	base, extra := users/int64(n), users%int64(n)
	for i := range shares {
		shares[i] = base
		if int64(i) < extra {
			shares[i]++
		}
	}
	return shares
}
