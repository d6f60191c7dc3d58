package native

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

// TestPercentilesWithinOnePercent: two engines (two workers) load a target whose answers take 0
// to 20 ms; their deltas, merged as the master merges them, give percentiles of http_req_duration
// (the row's and the metric's) within 1% of the exact ones of every duration the engines measured.
func TestPercentilesWithinOnePercent(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) bool {
		time.Sleep(time.Duration(rand.IntN(20_000)) * time.Microsecond)
		return false
	})
	src := `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
classes:
  u:
    steps: [ { get: /, name: home } ]
`
	var mu sync.Mutex
	var raw []float64
	ctx := context.Background()
	var runs []*run
	for range 2 {
		r := start(t, ctx, src, tg, nil, nil)
		r.rec.trace = func(d time.Duration) {
			mu.Lock()
			raw = append(raw, ms(d))
			mu.Unlock()
		}
		_ = r.Resume(ctx)
		_ = r.SetVUs(ctx, 8, 8)
		runs = append(runs, r)
	}
	waitFor(t, "2,000 requests", func() bool { return tg.total() >= 2000 })
	var merged stats.Delta
	for _, r := range runs {
		r.end(t)
		merged.Merge(r.snapshot())
	}
	slices.Sort(raw)
	row := merged.Entries[stats.Key{Name: "home", Method: "GET", Status: "200"}]
	metric := merged.Metrics["http_req_duration"]
	if row == nil || metric == nil || row.Requests != uint64(len(raw)) || uint64(tg.total()) != row.Requests {
		t.Fatalf("row %+v, metric %v: want %d requests, as traced and as the target counted (%d)", row, metric != nil, len(raw), tg.total())
	}
	for _, q := range []float64{0.5, 0.9, 0.95, 0.99} {
		// The value at rank ceil(q*n), 1-based, as Histogram.Quantile defines it.
		want := raw[int(math.Ceil(q*float64(len(raw))))-1]
		for what, h := range map[string]*stats.Histogram{"row": &row.Duration, "http_req_duration": &metric.Hist} {
			if got := h.Quantile(q); math.Abs(got-want) > 0.01*want {
				t.Errorf("%s p(%g) = %.4f ms, exact %.4f ms: off by %.2f%%", what, q*100, got, want, 100*math.Abs(got-want)/want)
			}
		}
	}
	t.Logf("%d requests; exact p50 %.3f, p99 %.3f ms", len(raw), raw[len(raw)/2], raw[len(raw)*99/100])
}
