package main

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"time"
)

// requestsTotal is the master's fleet-wide request counter on /metrics.
const requestsTotal = "stampede_requests_total"

// scrape is one read of the master's /metrics.
type scrape struct {
	Sent, Recv time.Time // the request went out; the whole body was read
	Requests   float64   // stampede_requests_total summed over its series
}

// scrapeLoop reads /metrics every interval until ctx ends, as Prometheus would, and returns every
// successful scrape in order. A scrape that takes longer than the interval delays the next one.
func scrapeLoop(ctx context.Context, url string, every time.Duration, log *slog.Logger) []scrape {
	var out []scrape
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		sent := time.Now()
		m, err := scrapeMetrics(ctx, url)
		switch {
		case ctx.Err() != nil:
			return out
		case err != nil:
			log.Warn("cannot read the master's /metrics", "err", err)
		default:
			out = append(out, scrape{Sent: sent, Recv: time.Now(), Requests: m[requestsTotal]})
		}
		select {
		case <-ctx.Done():
			return out
		case <-tick.C:
		}
	}
}

// metricsDelays is, for every delta sent in [from, to), the time from the worker handing it to its
// session to the end of the first scrape whose fleet-wide request count reaches the fleet's
// cumulative count through that delta: all deltas of all workers ordered by the time they were
// sent, their requests summed.
//
// /metrics has no per-worker count, so unlike the websocket delay this pairing rests on the fleet
// total, and is exact only while the master merges deltas in the order they were sent. It can err
// only one way: when a later delta of another worker is merged first, the total reaches a delta's
// count before that delta is in it, and the delay comes out too short, by at most how far merges
// run out of send order (a worker's own deltas are merged in order; across workers, by the time
// their gRPC streams deliver them). The report therefore also gives the scrape duration, and every
// figure includes up to one scrape interval of waiting for the next scrape, as a Prometheus server
// scraping at that interval would see. missing counts deltas no scrape reflected.
func metricsDelays(sends [][]sent, scrapes []scrape, from, to time.Time) (out []time.Duration, missing int) {
	type fleetDelta struct {
		at time.Time
		n  uint64
	}
	var all []fleetDelta
	for _, ss := range sends {
		var prev uint64
		for _, s := range ss {
			all = append(all, fleetDelta{s.At, s.Cum - prev})
			prev = s.Cum
		}
	}
	slices.SortStableFunc(all, func(a, b fleetDelta) int { return a.at.Compare(b.at) })
	var cum uint64
	for _, d := range all {
		cum += d.n
		if d.at.Before(from) || !d.at.Before(to) {
			continue
		}
		// Counts only grow within a run, so the first scrape that reaches cum is found by search;
		// it must also have been sent after the delta.
		i := sort.Search(len(scrapes), func(i int) bool { return scrapes[i].Requests >= float64(cum) })
		for i < len(scrapes) && scrapes[i].Sent.Before(d.at) {
			i++
		}
		if i == len(scrapes) {
			missing++
			continue
		}
		out = append(out, scrapes[i].Recv.Sub(d.at))
	}
	return out, missing
}
