package stats

import (
	"maps"
	"slices"
)

// NumPointQuantiles is the number of percentiles a Point carries; see PointQuantiles.
const NumPointQuantiles = 11

// PointQuantiles returns the quantiles of Point.Quantiles, in order. They are Locust's
// PERCENTILES_TO_REPORT (locust/stats.py), so one Point holds one row of Locust's stats history.
func PointQuantiles() [NumPointQuantiles]float64 {
	return [NumPointQuantiles]float64{0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1}
}

// Point is one second of a run's time series.
type Point struct {
	Time          int64 // unix seconds
	Requests      uint64
	Failures      uint64
	P50, P95, P99 float64 // ms, of the requests filed under this second; 0 if none
	// Quantiles are PointQuantiles() of the requests filed under this second, in ms; all 0 if
	// none. P50, P95 and P99 are three of them, kept for the JSON summary and the UI.
	Quantiles [NumPointQuantiles]float64
	// Total covers every request filed under this second or an earlier one.
	Total   Cumulative
	Users   int64              // set by the caller (the master), not by deltas
	Workers int                // set by the caller
	Extra   map[string]float64 // set by callers, e.g. HPA replicas
}

// Cumulative is a series' request totals up to the end of one second.
type Cumulative struct {
	Requests, Failures uint64
	// Response times in ms over those requests, as Histogram reports them (Min and Max exact,
	// Median within 1%); all 0 while Requests is 0.
	Mean, Min, Max, Median float64
}

// Series accumulates per-second points.
//
// A delta is filed under the second of its End time (a delta covers about one second), or of
// its Start if End is zero; a delta with neither is left out of the series (an Aggregate still
// counts it in its totals). Seconds stay open, each with a merged histogram, until Close(upTo)
// finalises every second before upTo. Closing also merges each second into one running
// histogram of the whole series, which gives every Point its Total. Memory is therefore bounded
// by the open seconds and that histogram plus one Point (about 200 bytes) per closed second.
//
// Closed points are final: a late delta, filed under a second that is already closed, is added
// to the first open second instead. Its counts are never lost and take part in that second's
// percentiles, and a point the caller has already streamed out never changes behind its back;
// the price is that late requests show up in the second the master learnt of them, and in the
// Totals from that second on.
//
// The zero value is an empty series ready to use.
type Series struct {
	points []*Point          // closed, one per second, consecutive
	open   map[int64]*second // open seconds by unix time
	next   int64             // once closed is set, every second before next is closed
	closed bool
	// total merges every closed second; cum is what it last gave, for the Points' Total.
	total Histogram
	cum   Cumulative
}

// second is an open second's running totals.
type second struct {
	requests, failures uint64
	hist               Histogram
}

// Add files d's requests under their second. d is not retained.
func (s *Series) Add(d *Delta) {
	if d == nil || len(d.Entries) == 0 {
		return
	}
	end := d.End
	if end.IsZero() {
		end = d.Start
	}
	if end.IsZero() {
		return
	}
	t := end.Unix()
	if s.closed && t < s.next {
		t = s.next // late: see the type's comment
	}
	if s.open == nil {
		s.open = make(map[int64]*second)
	}
	b := s.open[t]
	if b == nil {
		b = new(second)
		s.open[t] = b
	}
	for _, e := range d.Entries {
		b.requests += e.Requests
		b.failures += e.Failures
		b.hist.Merge(&e.Duration)
	}
}

// Close finalises every second before upTo (unix seconds) and returns the newly closed points in
// time order, or nil if none. The series starts at the first second that received requests and
// has no gaps after it: a second without requests gets a point with zero counts.
//
// The returned pointers are the series' own points, so the caller sets Users, Workers and Extra
// through them; the counts and percentiles are the series' business and should be left alone.
func (s *Series) Close(upTo int64) []*Point {
	from := s.next
	if len(s.points) == 0 {
		// Nothing is closed yet, so the series starts at its earliest data, if any.
		if len(s.open) == 0 {
			s.advance(upTo)
			return nil
		}
		from = slices.Min(slices.Collect(maps.Keys(s.open)))
	}
	if upTo <= from {
		s.advance(upTo)
		return nil
	}
	n := len(s.points)
	qs := PointQuantiles()
	for t := from; t < upTo; t++ {
		p := &Point{Time: t}
		if b := s.open[t]; b != nil {
			p.Requests, p.Failures = b.requests, b.failures
			copy(p.Quantiles[:], b.hist.Quantiles(qs[:]...))
			p.P50, p.P95, p.P99 = p.Quantiles[0], p.Quantiles[5], p.Quantiles[7]
			s.accumulate(b)
			delete(s.open, t) // the histogram goes with it: closed seconds keep only the Point
		}
		p.Total = s.cum
		s.points = append(s.points, p)
	}
	s.advance(upTo)
	return slices.Clone(s.points[n:])
}

// accumulate adds a closing second to the running totals.
func (s *Series) accumulate(b *second) {
	s.total.Merge(&b.hist)
	s.cum.Requests += b.requests
	s.cum.Failures += b.failures
	if s.total.Count > 0 {
		s.cum.Mean, s.cum.Min, s.cum.Max = s.total.Mean(), s.total.Min, s.total.Max
		s.cum.Median = s.total.Quantile(0.5)
	}
}

// advance marks every second before upTo closed.
func (s *Series) advance(upTo int64) {
	if !s.closed || upTo > s.next {
		s.next, s.closed = upTo, true
	}
}

// Points returns copies of the closed points in time order, one per second with no gaps.
// The copies share their Extra maps with the series.
func (s *Series) Points() []Point {
	out := make([]Point, len(s.points))
	for i, p := range s.points {
		out[i] = *p
	}
	return out
}

// Reset empties s.
func (s *Series) Reset() { *s = Series{} }
