package main

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"time"
)

// sample is the delay of one stats delta as one websocket client saw it.
type sample struct {
	// Total runs from the worker handing the delta to its session to the client having received
	// the whole first frame that reflects it.
	Total time.Duration
	// Delivery is the part after the master took the frame's snapshot: building the frame,
	// encoding it, queueing and writing it, and the client reading it.
	Delivery time.Duration
}

// delays pairs every delta sent in [from, to) with, for each client, the first frame of run runID
// whose request count for the delta's worker reaches that worker's cumulative count through the
// delta. Per-worker counts make the pairing exact: a worker's deltas are merged in the order it
// sent them, whereas fleet totals could reach a delta's count with another worker's later delta
// before that one is merged. Frames of one client arrive in order and counts only grow within a
// run, so the first such frame is found by binary search. missing counts (delta, client) pairs no
// frame reflected.
func delays(runID string, sends [][]sent, clients [][]seen, from, to time.Time) (out []sample, missing int) {
	for _, frames := range clients {
		run := make([]seen, 0, len(frames))
		for _, f := range frames {
			if f.Counts != nil && f.Counts.RunID == runID {
				run = append(run, f)
			}
		}
		for w, ds := range sends {
			for _, d := range ds {
				if d.At.Before(from) || !d.At.Before(to) {
					continue
				}
				i := sort.Search(len(run), func(i int) bool {
					pw := run[i].Counts.PerWorker
					return w < len(pw) && pw[w] >= d.Cum
				})
				if i == len(run) {
					missing++
					continue
				}
				out = append(out, sample{Total: run[i].Recv.Sub(d.At), Delivery: run[i].Recv.Sub(run[i].Master)})
			}
		}
	}
	return out, missing
}

// quantile returns the nearest-rank q-quantile of sorted: the smallest value at least a share q
// of the values are at or below. It returns 0 for no values.
func quantile[T cmp.Ordered](sorted []T, q float64) T {
	var zero T
	if len(sorted) == 0 {
		return zero
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// summary is a distribution's p50, p99 and max.
type summary struct {
	N             int
	P50, P99, Max time.Duration
}

func summarise(ds []time.Duration) summary {
	s := slices.Clone(ds)
	slices.Sort(s)
	return summary{N: len(s), P50: quantile(s, 0.5), P99: quantile(s, 0.99), Max: quantile(s, 1)}
}
