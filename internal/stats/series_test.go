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
		if p.Total.Requests != got {
			t.Fatalf("point %d: Total.Requests = %d, want the running sum %d", p.Time, p.Total.Requests, got)
		}
	}
	if got != sent || len(s.open) != 0 {
		t.Errorf("series holds %d requests (%d seconds open), want %d", got, len(s.open), sent)
	}
	if tot := s.Points()[len(s.Points())-1].Total; tot.Min != 1 || tot.Max != 100 {
		t.Errorf("last Total = %+v, want min 1 and max 100", tot)
	}
}

// spread returns a delta ending at unix second sec with one request of each of the given
// durations (ms); the first failed of them fail.
func spread(sec int64, failed int, ms ...float64) *Delta {
	d := &Delta{Start: time.Unix(sec-1, 0), End: time.Unix(sec, 0)}
	for i, v := range ms {
		d.AddRequest(Key{"/", "GET", "200"}, v, i < failed, "")
	}
	return d
}

// oneTo returns 1, 2, ..., n.
func oneTo(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i + 1)
	}
	return out
}

func TestSeriesQuantiles(t *testing.T) {
	t.Parallel()
	qs := PointQuantiles()
	if qs[0] != 0.5 || qs[5] != 0.95 || qs[7] != 0.99 || qs[NumPointQuantiles-1] != 1 {
		t.Fatalf("PointQuantiles() = %v: P50, P95 and P99 are read at indexes 0, 5 and 7", qs)
	}
	tests := []struct {
		name string
		ms   []float64
		want [NumPointQuantiles]float64 // the exact values at rank ceil(q*n)
	}{
		{"1 to 100", oneTo(100), [...]float64{50, 66, 75, 80, 90, 95, 98, 99, 100, 100, 100}},
		{"1 to 10000", oneTo(10000), [...]float64{5000, 6600, 7500, 8000, 9000, 9500, 9800, 9900, 9990, 9999, 10000}},
		{"one request", []float64{42.5}, [...]float64{42.5, 42.5, 42.5, 42.5, 42.5, 42.5, 42.5, 42.5, 42.5, 42.5, 42.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s Series
			s.Add(spread(100, 0, tt.ms...))
			pts := s.Close(102) // second 101 is empty
			if len(pts) != 2 {
				t.Fatalf("got %d points, want 2", len(pts))
			}
			p := pts[0]
			for i, w := range tt.want {
				if relErr(p.Quantiles[i], w) > 0.01 {
					t.Errorf("Quantiles[%d] (q=%g) = %g, want %g within 1%%", i, qs[i], p.Quantiles[i], w)
				}
			}
			if p.Quantiles[NumPointQuantiles-1] != tt.want[NumPointQuantiles-1] {
				t.Errorf("100%% = %g, want the exact max %g", p.Quantiles[NumPointQuantiles-1], tt.want[NumPointQuantiles-1])
			}
			if p.P50 != p.Quantiles[0] || p.P95 != p.Quantiles[5] || p.P99 != p.Quantiles[7] {
				t.Errorf("P50/P95/P99 = %g/%g/%g disagree with Quantiles %v", p.P50, p.P95, p.P99, p.Quantiles)
			}
			if pts[1].Quantiles != [NumPointQuantiles]float64{} {
				t.Errorf("empty second has quantiles %v", pts[1].Quantiles)
			}
		})
	}
}

// TestSeriesTotals checks that each point's Total covers its second and every earlier one, gaps
// and late deltas included, and that Reset forgets it.
func TestSeriesTotals(t *testing.T) {
	t.Parallel()
	type call struct {
		delta *Delta
		close int64
	}
	tests := []struct {
		name  string
		calls []call
		want  []Cumulative // Total of each point, in time order
	}{
		{
			name: "running sums, min, max, mean and median",
			calls: []call{
				{delta: spread(100, 1, 10, 20, 30)},
				{delta: spread(101, 0, 5)},
				{delta: spread(103, 2, 100, 200)},
				{close: 105},
			},
			want: []Cumulative{
				{Requests: 3, Failures: 1, Mean: 20, Min: 10, Max: 30, Median: 20},
				{Requests: 4, Failures: 1, Mean: 16.25, Min: 5, Max: 30, Median: 10},
				{Requests: 4, Failures: 1, Mean: 16.25, Min: 5, Max: 30, Median: 10}, // 102: no requests, totals carry over
				{Requests: 6, Failures: 3, Mean: 365.0 / 6, Min: 5, Max: 200, Median: 20},
				{Requests: 6, Failures: 3, Mean: 365.0 / 6, Min: 5, Max: 200, Median: 20},
			},
		},
		{
			name: "late delta counts from the second it lands in",
			calls: []call{
				{delta: spread(100, 0, 10)},
				{close: 101},
				{delta: spread(100, 1, 1000)}, // late for 100: filed under 101
				{close: 102},
			},
			want: []Cumulative{
				{Requests: 1, Mean: 10, Min: 10, Max: 10, Median: 10},
				{Requests: 2, Failures: 1, Mean: 505, Min: 10, Max: 1000, Median: 10},
			},
		},
		{
			name: "reset starts over",
			calls: []call{
				{delta: spread(100, 1, 10)},
				{close: 101},
				{close: -1}, // Reset
				{delta: spread(200, 0, 7)},
				{close: 201},
			},
			want: []Cumulative{{Requests: 1, Mean: 7, Min: 7, Max: 7, Median: 7}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s Series
			for _, c := range tt.calls {
				switch {
				case c.delta != nil:
					s.Add(c.delta)
				case c.close < 0:
					s.Reset()
				default:
					s.Close(c.close)
				}
			}
			pts := s.Points()
			if len(pts) != len(tt.want) {
				t.Fatalf("got %d points, want %d", len(pts), len(tt.want))
			}
			for i, p := range pts {
				g, w := p.Total, tt.want[i]
				if g.Requests != w.Requests || g.Failures != w.Failures || g.Min != w.Min || g.Max != w.Max ||
					relErr(g.Mean, w.Mean) > 1e-12 || relErr(g.Median, w.Median) > 0.01 {
					t.Errorf("point %d (second %d): Total = %+v, want %+v", i, p.Time, g, w)
				}
			}
		})
	}
}
