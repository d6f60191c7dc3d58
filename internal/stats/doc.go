// Package stats folds load-test samples into small summaries that can be merged exactly, so a
// master can combine what many workers saw into one set of numbers and percentiles.
//
// # On a worker
//
// The k6 output collects each second's samples into a Delta and ships it (with encoding/gob):
//
//	var d stats.Delta
//	d.Start = start
//	d.AddRequest(stats.Key{Name: "/login", Method: "POST", Status: "200"}, 12.5, false, "")
//	d.AddRequest(stats.Key{Name: "/login", Method: "POST", Status: "0"}, 3001, true, "dial: i/o timeout")
//	d.AddReceived(stats.Key{Name: "/login", Method: "POST", Status: "200"}, 1, 734) // what it received
//	d.AddCheck(stats.CheckKey{Group: "::login", Name: "status is 200"}, true)
//	d.AddSample("vus", stats.Gauge, "default", 40, now.UnixNano())
//	d.End = now
//	err := enc.Encode(&d) // then d.Reset() for the next second
//
// # On the master
//
// Every delta received goes into one Aggregate, and once a second the master closes the seconds
// no more deltas are expected for, stamping its own view of the run on the new points:
//
//	var a stats.Aggregate
//	a.Add(&d)
//	for _, p := range a.Series.Close(now.Unix() - 2) {
//		p.Users, p.Workers = users, workers
//	}
//	total := a.Total()
//	p99 := total.Duration.Quantile(0.99) // ms
//	rows := a.ByName()                   // the per-request table
//
// # Thresholds
//
// A Threshold is one k6 pass criterion, parsed from the script's key and expression (or the
// command line's "key: expression") and judged on the merged metric the key selects:
//
//	t, err := stats.ParseThreshold("http_req_duration{name:login}", "p(95)<300")
//	// or stats.ParseCLIThreshold("http_req_duration{name:login}: p(95)<300")
//	m := metrics[t.Selector.Key()] // the merged Metric; nil until samples arrive
//	if m != nil && m.Count > 0 {
//		err = t.CheckType(m.Type) // e.g. avg on a counter: a configuration error
//	}
//	if v, ok := t.Observe(m, elapsed); !ok {
//		// no data yet (or ever)
//	} else if !t.Holds(v) {
//		// failed; k6 aborts if t.AbortOnFail and elapsed > t.DelayAbortEval
//	}
//
// Parsing checks only the syntax; whether an aggregation fits the metric (count and rate for
// a counter, value for a gauge, rate for a rate, avg/min/max/med/p(N) for a trend) is known
// only from the metric's type, hence CheckType. Percentiles carry the histogram's 1% error, so
// a p(95) within 1% of its limit may be judged either way. Its methods never modify a
// Threshold, so one parsed Threshold may be shared by goroutines.
//
// # Accuracy
//
// Counts, sums, minima and maxima are exact. Percentiles come from a Histogram with logarithmic
// buckets and are within 1% of the exact value at rank ceil(q*n) of the samples, however the
// samples were split across workers and seconds: merging histograms adds bucket counts, so it
// loses nothing. Memory per histogram is bounded by the buckets in use (about 1,100 for
// durations from 1µs to 1 hour), not by the number of samples.
//
// # Concurrency
//
// The package is pure: no I/O, goroutines, clocks or globals; callers pass times in. No type is
// safe for concurrent use. Confine each value to one goroutine or guard it with a mutex; merging
// a value into another only reads the source, so distinct sources may be read concurrently while
// nothing writes them.
package stats
