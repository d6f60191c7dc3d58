package report

import (
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
)

func TestParseBudgets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		want     []Budget
		errMatch string
	}{
		{in: "p(95)=10%", want: []Budget{{Key: "p(95)", Limit: 0.1, Relative: true}}},
		{in: "p(95)=10%, http_req_failed=+0.5%", want: []Budget{{Key: "p(95)", Limit: 0.1, Relative: true}, {Key: "http_req_failed", Limit: 0.005}}},
		{in: "avg=+20ms", want: []Budget{{Key: "avg", Limit: 20}}},
		{in: "rps=-10%", want: []Budget{{Key: "rps", Limit: 0.1, Relative: true}}},
		{in: "p(95)", errMatch: "want KEY=LIMIT"},
		{in: "p95=10%", errMatch: `unknown key "p95"`},
		{in: "p(95)=ten%", errMatch: "not a non-negative number"},
		{in: "", errMatch: "no budget"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseBudgets(tt.in)
			if tt.errMatch != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errMatch) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.errMatch)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("%+v, %v", got, err)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Key != w.Key || g.Relative != w.Relative || g.Limit < w.Limit-1e-12 || g.Limit > w.Limit+1e-12 {
					t.Fatalf("budget %d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// resultWith is a 10-second run of n requests at durMs each, failing fails of them.
func resultWith(n, fails int, durMs float64) *master.Result {
	var d stats.Delta
	for i := range n {
		d.AddRequest(stats.Key{Name: "/", Method: "GET", Status: "200"}, durMs, i < fails, "")
	}
	var agg stats.Aggregate
	agg.Add(&d)
	start := time.Unix(1_800_000_000, 0)
	return &master.Result{RunID: "r", Started: start, Ended: start.Add(10 * time.Second), Aggregate: &agg}
}

func TestCompareBaseline(t *testing.T) {
	t.Parallel()
	base := NewSummary(resultWith(1000, 10, 100)) // p95 100 ms, 1% failed, 100 req/s
	budgets, err := ParseBudgets("p(95)=10%,http_req_failed=+0.5%,rps=-10%")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		res  *master.Result
		ok   []bool
	}{
		{"the same run passes", resultWith(1000, 10, 100), []bool{true, true, true}},
		{"5% slower passes", resultWith(1000, 10, 105), []bool{true, true, true}},
		{"20% slower fails p(95)", resultWith(1000, 10, 120), []bool{false, true, true}},
		{"2% failures fails the rate", resultWith(1000, 20, 100), []bool{true, false, true}},
		{"half the throughput fails rps", resultWith(500, 5, 100), []bool{true, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := CompareBaseline(base, tt.res, budgets)
			for i, r := range got {
				if r.OK != tt.ok[i] {
					t.Fatalf("%s: ok %v, want %v (%+v)", r.Metric, r.OK, tt.ok[i], r)
				}
				if !r.OK && !strings.Contains(r.Error, "moved from") {
					t.Fatalf("%s: error %q does not say how far it moved", r.Metric, r.Error)
				}
			}
		})
	}
}
