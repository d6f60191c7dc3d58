package master

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

func TestJudge(t *testing.T) {
	t.Parallel()
	opts := &scenario.Options{ThresholdConfigs: map[string][]scenario.ThresholdConfig{
		"http_req_duration":             {{Source: "p(95)<300"}},
		"http_req_duration{name:login}": {{Source: "max<100"}},
		"http_req_failed":               {{Source: "rate<0.1", AbortOnFail: true, DelayAbortEval: 10 * time.Second}},
		"orders":                        {{Source: "count>0"}},
		"http_reqs":                     {{Source: "avg<1"}},
	}}
	extra, err := stats.ParseCLIThreshold("checks: rate>0.5")
	if err != nil {
		t.Fatal(err)
	}
	j, err := newJudge(opts, []*stats.Threshold{extra})
	if err != nil {
		t.Fatal(err)
	}
	if got := j.submetrics(); !slices.Equal(got, []string{"http_req_duration{expected_response:true}", "http_req_duration{name:login}"}) {
		t.Fatalf("submetrics %v", got)
	}
	var d stats.Delta
	for i := range 10 {
		d.AddSample("http_req_duration", stats.Trend, "time", 100, 1)
		d.AddSample("http_req_failed", stats.Rate, "default", float64(i%2), 1) // half fail
		d.AddSample("http_reqs", stats.Counter, "default", 1, 1)
	}
	d.AddSample("http_req_duration{name:login}", stats.Trend, "time", 150, 1)
	var agg stats.Aggregate
	agg.Add(&d)

	j.evaluate(&agg, 5*time.Second, false)
	if r := j.abort(5 * time.Second); r != nil {
		t.Fatalf("aborted before the delay: %+v", r)
	}
	if r := j.abort(10 * time.Second); r != nil {
		t.Fatalf("aborted at the delay itself (k6 waits until after it): %+v", r)
	}
	if r := j.abort(11 * time.Second); r == nil || r.Metric != "http_req_failed" || !r.Aborted {
		t.Fatalf("abort after the delay: %+v", r)
	}

	j.evaluate(&agg, 20*time.Second, true)
	want := map[string]bool{ // by metric: ok
		"checks": true, "http_req_duration": true, "http_req_duration{name:login}": false,
		"http_req_failed": false, "orders": false, "http_reqs": false,
	}
	for _, r := range j.results() {
		if r.OK != want[r.Metric] {
			t.Errorf("%s %s: ok %v, want %v (%+v)", r.Metric, r.Source, r.OK, want[r.Metric], r)
		}
		switch r.Metric {
		case "checks":
			if r.HasData {
				t.Errorf("checks had no samples, but HasData")
			}
		case "orders":
			if r.HasData || r.Observed != 0 {
				t.Errorf("count>0 on a metric nothing emitted: %+v, want judged at 0 and failed, as k6", r)
			}
		case "http_reqs":
			if r.Error == "" {
				t.Errorf("avg on a counter: no error in %+v", r)
			}
		}
	}
	if !j.failed() {
		t.Fatal("failed() is false with failing thresholds")
	}

	// A threshold that aborted the run failed, though the data judged after it would hold it: the
	// reports must not show it passed beside "aborted the run".
	var recovered stats.Delta
	for range 100 {
		recovered.AddSample("http_req_failed", stats.Rate, "default", 0, 1)
	}
	agg.Add(&recovered) // 5 failed of 110: under 0.1
	j.evaluate(&agg, 30*time.Second, true)
	for _, r := range j.results() {
		if r.Metric == "http_req_failed" && (r.OK || !r.Aborted || r.Observed >= 0.1) {
			t.Errorf("the aborting threshold after the rate recovered: %+v; want observed under 0.1, aborted and failed", r)
		}
	}
}

func TestJudgeRejectsMalformedScriptThresholds(t *testing.T) {
	t.Parallel()
	_, err := newJudge(&scenario.Options{ThresholdConfigs: map[string][]scenario.ThresholdConfig{
		"http_req_duration": {{Source: "p95<300"}},
	}}, nil)
	if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), "p95") {
		t.Fatalf("err %v, want invalid options naming the expression", err)
	}
}
