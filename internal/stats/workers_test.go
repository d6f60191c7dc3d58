package stats

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile returns the value at rank ceil(q*n) of sorted, the definition Quantile estimates.
func exactQuantile(sorted []float64, q float64) float64 {
	switch {
	case q <= 0:
		return sorted[0]
	case q >= 1:
		return sorted[len(sorted)-1]
	}
	return sorted[rank(q, uint64(len(sorted)))-1]
}

// relErr is |got-want|/|want|, or |got| when want is 0.
func relErr(got, want float64) float64 {
	if want == 0 {
		return math.Abs(got)
	}
	return math.Abs(got-want) / math.Abs(want)
}

// rawStats is what the test knows exactly about the samples behind one Entry.
type rawStats struct {
	values   []float64
	failures uint64
}

func (r *rawStats) add(v float64, failed bool) {
	r.values = append(r.values, v)
	if failed {
		r.failures++
	}
}

// TestWorkersMergeAccuracy is the package's reason to exist: four workers with very different
// latency distributions ship per-second deltas over gob, the master merges them, and every
// percentile of every row matches the exact percentile of the raw samples within 1%.
func TestWorkersMergeAccuracy(t *testing.T) {
	t.Parallel()
	const (
		perWorker = 100_000
		seconds   = 10
	)
	r := rand.New(rand.NewPCG(1, 2))
	workers := []struct {
		name string
		draw func() float64
	}{
		{"uniform", func() float64 { return 1 + 499*r.Float64() }},
		{"lognormal", func() float64 { return math.Exp(math.Log(50) + r.NormFloat64()) }},
		{"bimodal", func() float64 {
			v := 20 + 3*r.NormFloat64()
			if r.IntN(10) < 3 {
				v = 800 + 50*r.NormFloat64()
			}
			return max(v, 0.001)
		}},
		{"exponential", func() float64 { return 100 * r.ExpFloat64() }},
	}
	// Every worker uses every key, so entries are merged across distributions too.
	keys := []Key{
		{"/", "GET", "200"},
		{"/api/items", "GET", "200"},
		{"/api/items", "GET", "500"},
		{"/api/items", "POST", "201"},
		{"/login", "POST", "200"},
		{"/login", "POST", "0"},
	}
	base := time.Unix(1_700_000_000, 0)

	raw := map[Key]*rawStats{}
	var all rawStats
	var agg Aggregate
	var wire int
	for _, w := range workers {
		for sec := range seconds {
			d := Delta{Start: base.Add(time.Duration(sec) * time.Second)}
			d.End = d.Start.Add(time.Second - time.Millisecond)
			for range perWorker / seconds {
				k := keys[r.IntN(len(keys))]
				v := w.draw()
				failed := k.Status == "500" || k.Status == "0"
				d.AddRequest(k, v, failed, "")
				if raw[k] == nil {
					raw[k] = &rawStats{}
				}
				raw[k].add(v, failed)
				all.add(v, failed)
			}
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode(&d); err != nil {
				t.Fatalf("%s: encode: %v", w.name, err)
			}
			wire += buf.Len()
			var got Delta
			if err := gob.NewDecoder(&buf).Decode(&got); err != nil {
				t.Fatalf("%s: decode: %v", w.name, err)
			}
			agg.Add(&got)
		}
	}
	t.Logf("%d deltas, %d bytes of gob in total", len(workers)*seconds, wire)

	check := func(t *testing.T, e Entry, r *rawStats) {
		t.Helper()
		n := uint64(len(r.values))
		if e.Requests != n || e.Duration.Count != n || e.Failures != r.failures {
			t.Fatalf("requests/count/failures = %d/%d/%d, want %d/%d/%d",
				e.Requests, e.Duration.Count, e.Failures, n, n, r.failures)
		}
		sorted := slices.Sorted(slices.Values(r.values))
		if e.Duration.Min != sorted[0] || e.Duration.Max != sorted[len(sorted)-1] {
			t.Errorf("min/max = %v/%v, want %v/%v", e.Duration.Min, e.Duration.Max, sorted[0], sorted[len(sorted)-1])
		}
		var sum float64
		for _, v := range r.values {
			sum += v
		}
		if err := relErr(e.Duration.Sum, sum); err > 1e-9 {
			t.Errorf("sum = %v, want %v (relative error %g)", e.Duration.Sum, sum, err)
		}
		for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
			got, want := e.Duration.Quantile(q), exactQuantile(sorted, q)
			if err := relErr(got, want); err > 0.01 {
				t.Errorf("p%v = %v, want %v (relative error %.4f%%)", q*100, got, want, 100*err)
			}
		}
	}
	t.Run("total", func(t *testing.T) { check(t, agg.Total(), &all) })
	for _, k := range keys {
		t.Run(fmt.Sprintf("%s %s %s", k.Method, k.Name, k.Status), func(t *testing.T) {
			e := agg.Entries[k]
			if e == nil {
				t.Fatal("entry missing")
			}
			check(t, *e, raw[k])
		})
	}
	t.Run("by name", func(t *testing.T) {
		rows := agg.ByName()
		if len(rows) != 4 {
			t.Fatalf("got %d rows, want 4", len(rows))
		}
		for _, row := range rows {
			var r rawStats
			for _, k := range keys {
				if k.Name == row.Name && k.Method == row.Method {
					r.values = append(r.values, raw[k].values...)
					r.failures += raw[k].failures
				}
			}
			check(t, row.Entry, &r)
		}
	})
	t.Run("series", func(t *testing.T) {
		pts := agg.Series.Close(base.Unix() + seconds)
		if len(pts) != seconds {
			t.Fatalf("got %d points, want %d", len(pts), seconds)
		}
		var n uint64
		for _, p := range pts {
			n += p.Requests
			if !(p.P50 > 0 && p.P50 <= p.P95 && p.P95 <= p.P99) {
				t.Errorf("second %d: p50/p95/p99 = %v/%v/%v, want positive and ordered", p.Time, p.P50, p.P95, p.P99)
			}
		}
		if n != uint64(len(all.values)) {
			t.Errorf("series holds %d requests, want %d", n, len(all.values))
		}
	})
	t.Run("errors", func(t *testing.T) {
		want := map[ErrorKey]uint64{
			{"/api/items", "GET", "HTTP 500"}:    raw[keys[2]].failures,
			{"/login", "POST", "request failed"}: raw[keys[5]].failures,
		}
		if len(agg.Errors) != len(want) {
			t.Errorf("got %d error rows, want %d: %v", len(agg.Errors), len(want), agg.Errors)
		}
		for k, n := range want {
			if agg.Errors[k] != n {
				t.Errorf("errors[%v] = %d, want %d", k, agg.Errors[k], n)
			}
		}
	})
}
