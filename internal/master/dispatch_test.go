package master

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		users int64
		n     int
		want  []int64
	}{
		{name: "no workers", users: 10, n: 0, want: nil},
		{name: "negative workers", users: 10, n: -1, want: nil},
		{name: "one worker takes all", users: 17, n: 1, want: []int64{17}},
		{name: "even", users: 30, n: 3, want: []int64{10, 10, 10}},
		{name: "remainder goes to the first indexes", users: 100, n: 7, want: []int64{15, 15, 14, 14, 14, 14, 14}},
		{name: "fewer users than workers", users: 2, n: 5, want: []int64{1, 1, 0, 0, 0}},
		{name: "zero users", users: 0, n: 4, want: []int64{0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Split(tt.users, tt.n)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Split(%d, %d) = %v, want %v", tt.users, tt.n, got, tt.want)
			}
			if tt.want == nil && got != nil {
				t.Fatalf("Split(%d, %d) = %#v, want nil", tt.users, tt.n, got)
			}
		})
	}
}

// TestSplitProperties checks, over many (users, n), that the shares add up, differ by at most one,
// and give the extra users to the lowest indexes (so a worker's share depends only on its index).
func TestSplitProperties(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 40; n++ {
		for users := int64(0); users <= 500; users += 1 + users/7 {
			shares := Split(users, n)
			if len(shares) != n {
				t.Fatalf("Split(%d, %d): %d shares", users, n, len(shares))
			}
			var sum int64
			for i, s := range shares {
				sum += s
				if s < 0 {
					t.Fatalf("Split(%d, %d) = %v: negative share", users, n, shares)
				}
				if i > 0 && s > shares[i-1] {
					t.Fatalf("Split(%d, %d) = %v: share %d exceeds an earlier one", users, n, shares, i)
				}
			}
			if sum != users {
				t.Fatalf("Split(%d, %d) = %v adds up to %d", users, n, shares, sum)
			}
			if d := shares[0] - shares[n-1]; d > 1 {
				t.Fatalf("Split(%d, %d) = %v: shares differ by %d", users, n, shares, d)
			}
		}
	}
}

func TestSteps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		rate    float64
		elapsed time.Duration
		want    int64
	}{
		{"start", 2, 0, 0},
		{"half a user is no user", 2, 250 * time.Millisecond, 0},
		{"midway", 2, 2500 * time.Millisecond, 5},
		{"slow rate: nothing before 2s", 0.5, 1999 * time.Millisecond, 0},
		{"slow rate: one user at 2s", 0.5, 2 * time.Second, 1},
		{"0.1/s for 10s is one user, not 0.999", 0.1, 10 * time.Second, 1},
		{"negative elapsed is the start", 5, -time.Hour, 0},
		{"rate 0 is everything at once", 0, 0, math.MaxInt64},
		{"negative rate is everything at once", -1, time.Millisecond, math.MaxInt64},
		{"huge products saturate", 1e300, time.Hour, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Steps(tt.rate, tt.elapsed); got != tt.want {
				t.Fatalf("Steps(%g, %s) = %d, want %d", tt.rate, tt.elapsed, got, tt.want)
			}
		})
	}
}

// TestPlan is the dispatch table: what each worker runs at a moment of a ramp. Workers are in index
// order; a worker that joined has 0 users in `from`, a worker that left is simply not in it.
func TestPlan(t *testing.T) {
	t.Parallel()
	s := time.Second
	tests := []struct {
		name    string
		from    []int64
		target  int64
		rate    float64
		elapsed time.Duration
		want    []int64
	}{
		{name: "0 workers: nothing to plan", from: nil, target: 10, rate: 1, elapsed: s, want: nil},
		{name: "1 worker: ramps at the rate", from: []int64{0}, target: 10, rate: 2, elapsed: 3 * s, want: []int64{6}},
		{name: "1 worker: stops at the target", from: []int64{0}, target: 10, rate: 2, elapsed: time.Hour, want: []int64{10}},
		{name: "1 worker: ramps down at the rate", from: []int64{10}, target: 4, rate: 2, elapsed: 2 * s, want: []int64{6}},
		{name: "7 workers, 100 users: the first 3 users go to the first 3 workers",
			from: make([]int64, 7), target: 100, rate: 1, elapsed: 3 * s, want: []int64{1, 1, 1, 0, 0, 0, 0}},
		{name: "7 workers, 100 users: midway stays even",
			from: make([]int64, 7), target: 100, rate: 10, elapsed: 5 * s, want: []int64{8, 7, 7, 7, 7, 7, 7}},
		{name: "7 workers, 100 users: done is the largest-remainder split",
			from: make([]int64, 7), target: 100, rate: 10, elapsed: 10 * s, want: []int64{15, 15, 14, 14, 14, 14, 14}},
		{name: "7 workers, 100 users: all at once with rate 0",
			from: make([]int64, 7), target: 100, rate: 0, elapsed: 0, want: []int64{15, 15, 14, 14, 14, 14, 14}},
		{name: "worker leaving mid-ramp: the rest ramp on to the whole target at the rate",
			// 3 workers were at 4, 4, 4 of 30 (rate 2/s); worker 1 left, so the ramp restarts from 4, 4.
			from: []int64{4, 4}, target: 30, rate: 2, elapsed: 2 * s, want: []int64{6, 6}},
		{name: "worker leaving mid-ramp: done",
			from: []int64{4, 4}, target: 30, rate: 2, elapsed: 11 * s, want: []int64{15, 15}},
		{name: "worker joining at steady state: users move at the rate, the total holds",
			from: []int64{15, 15, 0}, target: 30, rate: 2, elapsed: 2 * s, want: []int64{13, 13, 4}},
		{name: "worker joining at steady state: done",
			from: []int64{15, 15, 0}, target: 30, rate: 2, elapsed: 5 * s, want: []int64{10, 10, 10}},
		{name: "worker joining while the target grows",
			from: []int64{10, 10, 0}, target: 60, rate: 3, elapsed: 2 * s, want: []int64{10, 10, 6}},
		{name: "spawn rate below 1/s: one user per 4 s",
			from: []int64{0, 0}, target: 3, rate: 0.25, elapsed: 8 * s, want: []int64{1, 1}},
		{name: "spawn rate below 1/s: nothing yet",
			from: []int64{0, 0}, target: 3, rate: 0.25, elapsed: 3999 * time.Millisecond, want: []int64{0, 0}},
		{name: "down to zero", from: []int64{3, 2}, target: 0, rate: 1, elapsed: 3 * s, want: []int64{1, 1}},
		{name: "negative target is zero", from: []int64{3, 2}, target: -5, rate: 0, elapsed: 0, want: []int64{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			from := slices.Clone(tt.from)
			got := Plan(tt.from, tt.target, tt.rate, tt.elapsed)
			if !slices.Equal(got, tt.want) || (tt.want == nil) != (got == nil) {
				t.Fatalf("Plan(%v, %d, %g, %s) = %v, want %v", tt.from, tt.target, tt.rate, tt.elapsed, got, tt.want)
			}
			if !slices.Equal(from, tt.from) {
				t.Fatalf("Plan changed its input: %v, was %v", tt.from, from)
			}
		})
	}
}

// TestPlanProperties checks many ramps step by step: no worker passes its share, starts and stops
// per step never exceed the rate's allowance, each worker moves one way only, the plan is done at
// PlanDone, and while it runs no two workers that are still moving the same way differ by more
// than one user.
func TestPlanProperties(t *testing.T) {
	t.Parallel()
	starts := [][]int64{{0}, {0, 0, 0}, make([]int64, 7), {15, 15, 0}, {9, 0, 3, 7}, {50, 0}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}
	targets := []int64{0, 1, 5, 30, 100, 1001}
	rates := []float64{0.25, 1, 1.0 / 3, 2.5, 10, 1000}
	for _, from := range starts {
		for _, target := range targets {
			for _, rate := range rates {
				t.Run(fmt.Sprintf("%v->%d@%g", from, target, rate), func(t *testing.T) {
					to := Split(target, len(from))
					done := PlanDone(from, target, rate)
					prev := slices.Clone(from)
					for i := 0; i <= 100; i++ {
						e := done * time.Duration(i) / 100
						got := Plan(from, target, rate, e)
						var started, stopped int64
						for w := range got {
							lo, hi := min(from[w], to[w]), max(from[w], to[w])
							if got[w] < lo || got[w] > hi {
								t.Fatalf("at %s worker %d has %d, outside [%d, %d]", e, w, got[w], lo, hi)
							}
							if (to[w] > from[w] && got[w] < prev[w]) || (to[w] < from[w] && got[w] > prev[w]) {
								t.Fatalf("at %s worker %d moved back: %d after %d", e, w, got[w], prev[w])
							}
							started += max(0, got[w]-from[w])
							stopped += max(0, from[w]-got[w])
						}
						if allowed := Steps(rate, e); started > allowed || stopped > allowed {
							t.Fatalf("at %s: %d started, %d stopped, only %d allowed", e, started, stopped, allowed)
						}
						prev = got
					}
					if got := Plan(from, target, rate, done); !slices.Equal(got, to) {
						t.Fatalf("at PlanDone (%s) %v, want %v", done, got, to)
					}
				})
			}
		}
	}
}

// TestPlanEvenRampUp: ramping up from nothing, the fleet at every step is exactly the Split of the
// users started so far (Locust spread users unevenly over many workers, locust#2128).
func TestPlanEvenRampUp(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 7, 100, 1000} {
		for step := int64(0); step <= 2500; step += 1 + step/3 {
			got := Plan(make([]int64, n), 2500, 1, time.Duration(step)*time.Second)
			if want := Split(step, n); !slices.Equal(got, want) {
				t.Fatalf("%d workers, step %d: %v, want %v", n, step, got[:min(n, 10)], want[:min(n, 10)])
			}
		}
	}
}
