package stats

import (
	"testing"
	"time"
)

// deltaAt returns a delta ending at unix second sec (plus ns nanoseconds) with n requests of ms
// milliseconds each, failed ones among them.
func deltaAt(sec int64, ns int64, n int, ms float64, failed int) *Delta {
	d := &Delta{Start: time.Unix(sec-1, ns), End: time.Unix(sec, ns)}
	for i := range n {
		d.AddRequest(Key{"/", "GET", "200"}, ms, i < failed, "")
	}
	return d
}

// step is one call on a Series: Add(delta) when delta is set, else Close(close).
type step struct {
	delta *Delta
	close int64
	want  []Point // points Close must return (only Time, Requests, Failures, P50 compared)
}

func TestSeries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps []step
		all   []Point // Points() at the end
		open  int     // open seconds left at the end
	}{
		{
			name: "attributed by end second",
			steps: []step{
				{delta: deltaAt(100, 999_999_999, 2, 10, 0)}, // 100.999… is second 100
				{delta: deltaAt(101, 0, 3, 20, 1)},           // exactly 101.0 is second 101
				{close: 102, want: []Point{{Time: 100, Requests: 2, P50: 10}, {Time: 101, Requests: 3, Failures: 1, P50: 20}}},
			},
			all: []Point{{Time: 100, Requests: 2, P50: 10}, {Time: 101, Requests: 3, Failures: 1, P50: 20}},
		},
		{
			name: "merged within a second",
			steps: []step{
				{delta: deltaAt(100, 1, 1, 10, 0)},
				{delta: deltaAt(100, 500_000_000, 1, 1000, 1)},
				{delta: deltaAt(100, 2, 1, 1000, 0)},
				{close: 101, want: []Point{{Time: 100, Requests: 3, Failures: 1, P50: 1000}}},
			},
			all: []Point{{Time: 100, Requests: 3, Failures: 1, P50: 1000}},
		},
		{
			name: "gaps filled",
			steps: []step{
				{delta: deltaAt(100, 0, 1, 5, 0)},
				{delta: deltaAt(103, 0, 1, 7, 0)},
				{close: 105, want: []Point{{Time: 100, Requests: 1, P50: 5}, {Time: 101}, {Time: 102}, {Time: 103, Requests: 1, P50: 7}, {Time: 104}}},
				{close: 107, want: []Point{{Time: 105}, {Time: 106}}},
			},
			all: []Point{{Time: 100, Requests: 1, P50: 5}, {Time: 101}, {Time: 102}, {Time: 103, Requests: 1, P50: 7}, {Time: 104}, {Time: 105}, {Time: 106}},
		},
		{
			name: "open seconds stay open",
			steps: []step{
				{delta: deltaAt(100, 0, 1, 5, 0)},
				{delta: deltaAt(102, 0, 2, 6, 0)},
				{delta: deltaAt(110, 0, 3, 7, 0)},
				{close: 102, want: []Point{{Time: 100, Requests: 1, P50: 5}, {Time: 101}}},
				{close: 102}, // nothing new
				{close: 90},  // going back closes nothing
				{close: 103, want: []Point{{Time: 102, Requests: 2, P50: 6}}},
			},
			all:  []Point{{Time: 100, Requests: 1, P50: 5}, {Time: 101}, {Time: 102, Requests: 2, P50: 6}},
			open: 1, // second 110
		},
		{
			name: "late delta goes to first open second",
			steps: []step{
				{delta: deltaAt(100, 0, 1, 5, 0)},
				{close: 102, want: []Point{{Time: 100, Requests: 1, P50: 5}, {Time: 101}}},
				{delta: deltaAt(100, 0, 4, 50, 2)}, // late for 100
				{delta: deltaAt(102, 0, 1, 50, 0)},
				{close: 103, want: []Point{{Time: 102, Requests: 5, Failures: 2, P50: 50}}},
			},
			// second 100 keeps what it had when closed: closed points are final
			all: []Point{{Time: 100, Requests: 1, P50: 5}, {Time: 101}, {Time: 102, Requests: 5, Failures: 2, P50: 50}},
		},
		{
			name: "close before data starts the series at the data",
			steps: []step{
				{close: 100},
				{delta: deltaAt(95, 0, 1, 5, 0)}, // late before anything was closed: second 100
				{delta: deltaAt(102, 0, 1, 5, 0)},
				{close: 103, want: []Point{{Time: 100, Requests: 1, P50: 5}, {Time: 101}, {Time: 102, Requests: 1, P50: 5}}},
			},
			all: []Point{{Time: 100, Requests: 1, P50: 5}, {Time: 101}, {Time: 102, Requests: 1, P50: 5}},
		},
		{
			name: "deltas without requests or times are not filed",
			steps: []step{
				{delta: &Delta{End: time.Unix(100, 0)}},
				{delta: func() *Delta { d := deltaAt(100, 0, 1, 5, 0); d.Start, d.End = time.Time{}, time.Time{}; return d }()},
				{delta: func() *Delta { d := deltaAt(101, 0, 1, 5, 0); d.End = time.Time{}; return d }()}, // Start is second 100
				{close: 101, want: []Point{{Time: 100, Requests: 1, P50: 5}}},
			},
			all: []Point{{Time: 100, Requests: 1, P50: 5}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s Series
			for i, st := range tt.steps {
				if st.delta != nil {
					s.Add(st.delta)
					continue
				}
				got := s.Close(st.close)
				comparePoints(t, i, derefs(got), st.want)
			}
			comparePoints(t, -1, s.Points(), tt.all)
			if len(s.open) != tt.open {
				t.Errorf("%d open seconds left, want %d", len(s.open), tt.open)
			}
		})
	}
}

func derefs(ps []*Point) []Point {
	out := make([]Point, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out
}

func comparePoints(t *testing.T, step int, got, want []Point) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("step %d: got %d points %+v, want %d", step, len(got), got, len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Time != w.Time || g.Requests != w.Requests || g.Failures != w.Failures || relErr(g.P50, w.P50) > 0.01 {
			t.Errorf("step %d: point %d = %+v, want %+v", step, i, g, w)
		}
		if g.Requests == 0 && (g.P50 != 0 || g.P95 != 0 || g.P99 != 0) {
			t.Errorf("step %d: empty point %d has percentiles %+v", step, i, g)
		}
	}
}

// TestSeriesCallerFields checks that Users, Workers and Extra set through Close's result stick.
func TestSeriesCallerFields(t *testing.T) {
	t.Parallel()
	var s Series
	s.Add(deltaAt(10, 0, 1, 5, 0))
	for _, p := range s.Close(12) {
		p.Users, p.Workers, p.Extra = 40+p.Time, 2, map[string]float64{"replicas": 3}
	}
	s.Close(13)
	pts := s.Points()
	if len(pts) != 3 {
		t.Fatalf("got %d points, want 3", len(pts))
	}
	for _, p := range pts[:2] {
		if p.Users != 40+p.Time || p.Workers != 2 || p.Extra["replicas"] != 3 {
			t.Errorf("point %d lost caller fields: %+v", p.Time, p)
		}
	}
	if pts[2].Users != 0 || pts[2].Extra != nil {
		t.Errorf("point 12 has caller fields it was never given: %+v", pts[2])
	}
}

// TestSeriesBounded checks that a long run keeps only open seconds' histograms, and that counts
// survive arbitrary lateness.
func TestSeriesBounded(t *testing.T) {
	t.Parallel()
	var s Series
	var sent uint64
	for sec := int64(1000); sec < 4600; sec++ {
		for w := range int64(4) {
			// Worker w reports w seconds late and only one second of slack is waited for,
			// so workers 2 and 3 are always late.
			s.Add(deltaAt(sec-w, 0, 3, float64(sec%100+1), 0))
			sent += 3
		}
		s.Close(sec - 1)
		if len(s.open) > 3 {
			t.Fatalf("at %d: %d open seconds, want at most 3", sec, len(s.open))
		}
	}
	s.Close(5000)
	var got uint64
	for _, p := range s.Points() {
		got += p.Requests
	}
	if got != sent || len(s.open) != 0 {
		t.Errorf("series holds %d requests (%d seconds open), want %d", got, len(s.open), sent)
	}
}
