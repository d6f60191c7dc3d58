package master

import (
	"fmt"
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

func TestRamp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		from, target int64
		rate         float64
		elapsed      time.Duration
		want         int64
	}{
		{name: "up: start", from: 0, target: 10, rate: 2, elapsed: 0, want: 0},
		{name: "up: half a user is no user", from: 0, target: 10, rate: 2, elapsed: 250 * time.Millisecond, want: 0},
		{name: "up: midway", from: 0, target: 10, rate: 2, elapsed: 2500 * time.Millisecond, want: 5},
		{name: "up: from a base", from: 4, target: 10, rate: 2, elapsed: time.Second, want: 6},
		{name: "up: exactly done", from: 0, target: 10, rate: 2, elapsed: 5 * time.Second, want: 10},
		{name: "up: never overshoots", from: 0, target: 10, rate: 2, elapsed: time.Hour, want: 10},
		{name: "down: start", from: 10, target: 2, rate: 4, elapsed: 0, want: 10},
		{name: "down: midway", from: 10, target: 2, rate: 4, elapsed: time.Second, want: 6},
		{name: "down: never undershoots", from: 10, target: 2, rate: 4, elapsed: time.Minute, want: 2},
		{name: "down to zero", from: 3, target: 0, rate: 1, elapsed: 10 * time.Second, want: 0},
		{name: "slow rate: nothing before 2s", from: 0, target: 5, rate: 0.5, elapsed: 1999 * time.Millisecond, want: 0},
		{name: "slow rate: one user at 2s", from: 0, target: 5, rate: 0.5, elapsed: 2 * time.Second, want: 1},
		{name: "slow rate: 0.1/s for 10s is one user, not 0.999", from: 0, target: 5, rate: 0.1, elapsed: 10 * time.Second, want: 1},
		{name: "rate 0 jumps up", from: 0, target: 50, rate: 0, elapsed: 0, want: 50},
		{name: "rate 0 jumps down", from: 50, target: 3, rate: 0, elapsed: 0, want: 3},
		{name: "negative rate jumps", from: 0, target: 7, rate: -1, elapsed: time.Millisecond, want: 7},
		{name: "negative elapsed stays put going up", from: 2, target: 9, rate: 5, elapsed: -time.Hour, want: 2},
		{name: "negative elapsed stays put going down", from: 9, target: 2, rate: 5, elapsed: -time.Second, want: 9},
		{name: "already there", from: 6, target: 6, rate: 3, elapsed: time.Second, want: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Ramp(tt.from, tt.target, tt.rate, tt.elapsed); got != tt.want {
				t.Fatalf("Ramp(%d, %d, %g, %s) = %d, want %d", tt.from, tt.target, tt.rate, tt.elapsed, got, tt.want)
			}
		})
	}
}

func TestRampDone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		from, target int64
		rate         float64
		want         time.Duration
	}{
		{name: "up", from: 0, target: 10, rate: 2, want: 5 * time.Second},
		{name: "down", from: 10, target: 4, rate: 3, want: 2 * time.Second},
		{name: "slow rate", from: 0, target: 1, rate: 0.5, want: 2 * time.Second},
		{name: "rounds up to the nanosecond", from: 0, target: 1, rate: 3, want: 333333334 * time.Nanosecond},
		{name: "rate 0 is at once", from: 0, target: 100, rate: 0, want: 0},
		{name: "negative rate is at once", from: 100, target: 0, rate: -2, want: 0},
		{name: "nothing to do", from: 5, target: 5, rate: 1, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := RampDone(tt.from, tt.target, tt.rate)
			if got != tt.want {
				t.Fatalf("RampDone(%d, %d, %g) = %s, want %s", tt.from, tt.target, tt.rate, got, tt.want)
			}
			if r := Ramp(tt.from, tt.target, tt.rate, got); r != tt.target {
				t.Fatalf("Ramp(%d, %d, %g, RampDone = %s) = %d, want the target", tt.from, tt.target, tt.rate, got, r)
			}
		})
	}
}

// TestRampProperties checks, over many ramps, that Ramp moves monotonically from `from` towards
// `target` without passing it, reaches it exactly at RampDone and not noticeably before.
func TestRampProperties(t *testing.T) {
	t.Parallel()
	rates := []float64{0.1, 0.3, 0.5, 1, 1.0 / 3, 2.5, 7.3, 10, 99.9, 1000}
	ends := []int64{0, 1, 2, 5, 13, 100, 1001}
	for _, rate := range rates {
		for _, from := range ends {
			for _, target := range ends {
				t.Run(fmt.Sprintf("%d->%d@%g", from, target, rate), func(t *testing.T) {
					lo, hi := min(from, target), max(from, target)
					done := RampDone(from, target, rate)
					prev := from
					for i := 0; i <= 200; i++ {
						e := done * time.Duration(i) / 200
						got := Ramp(from, target, rate, e)
						if got < lo || got > hi {
							t.Fatalf("Ramp at %s = %d, outside [%d, %d]", e, got, lo, hi)
						}
						if (target > from && got < prev) || (target < from && got > prev) {
							t.Fatalf("Ramp at %s = %d moved away from the target (was %d)", e, got, prev)
						}
						prev = got
					}
					if got := Ramp(from, target, rate, done); got != target {
						t.Fatalf("Ramp at RampDone (%s) = %d, want %d", done, got, target)
					}
					if got := Ramp(from, target, rate, 10*done+time.Hour); got != target {
						t.Fatalf("Ramp long after RampDone = %d, want %d", got, target)
					}
					if from != target {
						if got := Ramp(from, target, rate, done-time.Microsecond); got == target {
							t.Fatalf("Ramp 1µs before RampDone (%s) already at the target %d", done, target)
						}
					}
				})
			}
		}
	}
}
