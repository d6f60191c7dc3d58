package scenario

import (
	"math/big"
	"strings"
	"testing"
)

func TestSegmentStrings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int
		seq  string
		segs []string
	}{
		{1, "0,1", []string{"0:1"}},
		{2, "0,1/2,1", []string{"0:1/2", "1/2:1"}},
		{3, "0,1/3,2/3,1", []string{"0:1/3", "1/3:2/3", "2/3:1"}},
		{4, "0,1/4,1/2,3/4,1", []string{"0:1/4", "1/4:1/2", "1/2:3/4", "3/4:1"}},
		{6, "0,1/6,1/3,1/2,2/3,5/6,1", []string{"0:1/6", "1/6:1/3", "1/3:1/2", "1/2:2/3", "2/3:5/6", "5/6:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.seq, func(t *testing.T) {
			t.Parallel()
			if got := SegmentSequence(tt.n); got != tt.seq {
				t.Errorf("SegmentSequence(%d) = %q, want %q", tt.n, got, tt.seq)
			}
			for i, want := range tt.segs {
				if got := Segment(i, tt.n); got != want {
					t.Errorf("Segment(%d, %d) = %q, want %q", i, tt.n, got, want)
				}
			}
		})
	}
}

// TestSegmentsTile checks that the segments of n parts are equal, reduced,
// and cover [0,1] exactly, as k6 requires of a segment sequence.
func TestSegmentsTile(t *testing.T) {
	t.Parallel()
	rat := func(t *testing.T, s string) *big.Rat {
		t.Helper()
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("%q is not a rational", s)
		}
		if r.RatString() != s {
			t.Errorf("%q is not in lowest terms (%s)", s, r.RatString())
		}
		return r
	}
	for n := 1; n <= 7; n++ {
		t.Run(SegmentSequence(n), func(t *testing.T) {
			t.Parallel()
			seq := strings.Split(SegmentSequence(n), ",")
			if len(seq) != n+1 {
				t.Fatalf("sequence has %d values, want %d", len(seq), n+1)
			}
			part := big.NewRat(1, int64(n))
			end := new(big.Rat) // where the previous segment ended
			for i := range n {
				from, to, ok := strings.Cut(Segment(i, n), ":")
				if !ok {
					t.Fatalf("Segment(%d, %d) = %q has no colon", i, n, Segment(i, n))
				}
				f, g := rat(t, from), rat(t, to)
				if f.Cmp(end) != 0 {
					t.Errorf("segment %d starts at %s, previous ended at %s", i, f, end)
				}
				if d := new(big.Rat).Sub(g, f); d.Cmp(part) != 0 {
					t.Errorf("segment %d is %s long, want %s", i, d.RatString(), part.RatString())
				}
				if from != seq[i] || to != seq[i+1] {
					t.Errorf("Segment(%d, %d) = %s:%s, sequence has %s:%s", i, n, from, to, seq[i], seq[i+1])
				}
				end = g
			}
			if end.Cmp(big.NewRat(1, 1)) != 0 || rat(t, seq[0]).Sign() != 0 {
				t.Errorf("segments cover [%s, %s], want [0, 1]", seq[0], end)
			}
		})
	}
}

func TestSegmentPanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		f    func()
	}{
		{"sequence of 0", func() { SegmentSequence(0) }},
		{"part 3 of 3", func() { Segment(3, 3) }},
		{"part -1", func() { Segment(-1, 3) }},
		{"part of 0", func() { Segment(0, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tt.f()
		})
	}
}
