package master

import (
	"math"
	"time"
)

// Ramp returns how many users should run `elapsed` after a ramp began at `from` users towards
// `target`, moving at `rate` users per second fleet-wide (up or down). A rate <= 0 jumps at once.
// It is a pure function of its arguments, so the master can recompute it at any tick.
func Ramp(from, target int64, rate float64, elapsed time.Duration) int64 {
	if rate <= 0 {
		return target
	}
	elapsed = max(elapsed, 0)
	// A tiny epsilon keeps 0.1 users/s * 10 s from flooring to 0.999...
	step := int64(math.Floor(rate*elapsed.Seconds() + 1e-9))
	if target > from {
		return min(target, from+step)
	}
	return max(target, from-step)
}

// RampDone returns when a ramp from `from` to `target` at `rate` reaches its target.
func RampDone(from, target int64, rate float64) time.Duration {
	if rate <= 0 || from == target {
		return 0
	}
	d := math.Abs(float64(target - from))
	return time.Duration(math.Ceil(d/rate*1e9)) * time.Nanosecond
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
