package main

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

// load says what one simulated worker observes per second.
type load struct {
	// Names is how many distinct request names the worker's requests spread over: "/api/item/0" ...
	Names int
	// PerName is requests per name per second; a fraction is honoured on average (0.1 is one
	// request every ten seconds), so a large fleet can share a name space thinly.
	PerName float64
	// Median and Sigma shape the request durations: log-normal, as real latencies roughly are,
	// so every name's histogram fills the realistic number of buckets.
	Median time.Duration
	Sigma  float64
	// FailRate is the share of requests answered 500 (failed); the rest are 200.
	FailRate float64
}

// names returns the request names, built once so the deltas share the strings.
func (l load) names() []string {
	out := make([]string, l.Names)
	for i := range out {
		out[i] = "/api/item/" + strconv.Itoa(i)
	}
	return out
}

// metricSpec is a builtin k6 metric a worker reports besides the request table; the master merges
// these too. value derives the sample from a request's duration (ms) and outcome.
type metricSpec struct {
	name, contains string
	typ            stats.MetricType
	value          func(ms float64, failed bool) float64
}

var builtinMetrics = []metricSpec{
	{"http_reqs", "default", stats.Counter, func(float64, bool) float64 { return 1 }},
	{"http_req_duration", "time", stats.Trend, func(ms float64, _ bool) float64 { return ms }},
	{"http_req_waiting", "time", stats.Trend, func(ms float64, _ bool) float64 { return 0.9 * ms }},
	{"http_req_sending", "time", stats.Trend, func(ms float64, _ bool) float64 { return 0.01 * ms }},
	{"http_req_receiving", "time", stats.Trend, func(ms float64, _ bool) float64 { return 0.09 * ms }},
	{"http_req_failed", "default", stats.Rate, func(_ float64, failed bool) float64 { return b2f(failed) }},
	{"iterations", "default", stats.Counter, func(float64, bool) float64 { return 1 }},
	{"iteration_duration", "time", stats.Trend, func(ms float64, _ bool) float64 { return ms + 0.05 }},
	{"data_sent", "data", stats.Counter, func(float64, bool) float64 { return 95 }},
	{"data_received", "data", stats.Counter, func(float64, bool) float64 { return 780 }},
}

// fill records into d what a worker observes in elapsed: for every name, PerName × elapsed requests
// on average (rounded at random so fractions add up over time). It returns the requests added.
func (l load) fill(d *stats.Delta, names []string, rng *rand.Rand, elapsed time.Duration, at time.Time) uint64 {
	want := l.PerName * elapsed.Seconds()
	whole, frac := math.Modf(want)
	ns := at.UnixNano()
	medianMs := float64(l.Median) / float64(time.Millisecond)
	var total uint64
	var ms []*stats.Metric // builtinMetrics' entries in d, looked up once per delta
	for _, name := range names {
		n := int(whole)
		if rng.Float64() < frac {
			n++
		}
		for range n {
			dur := medianMs * math.Exp(l.Sigma*rng.NormFloat64())
			failed := l.FailRate > 0 && rng.Float64() < l.FailRate
			k := stats.Key{Name: name, Method: "GET", Status: "200"}
			if failed {
				k.Status = "500"
			}
			d.AddRequest(k, dur, failed, "")
			if ms == nil {
				ms = make([]*stats.Metric, len(builtinMetrics))
				for i, b := range builtinMetrics {
					d.AddSample(b.name, b.typ, b.contains, b.value(dur, failed), ns)
					ms[i] = d.Metrics[b.name]
				}
			} else {
				for i, b := range builtinMetrics {
					ms[i].Add(b.value(dur, failed), ns)
				}
			}
			total++
		}
	}
	return total
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
