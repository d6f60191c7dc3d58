package k6run

import (
	"strings"
	"testing"
	"time"

	"go.k6.io/k6/metrics"
	"go.k6.io/k6/output"

	"github.com/stampede-load/stampede/internal/stats"
)

// fixture builds k6 samples the way k6 does: metrics from a registry, tags as TagSets.
type fixture struct {
	reg *metrics.Registry
	t0  time.Time
}

func newFixture() *fixture {
	return &fixture{reg: metrics.NewRegistry(), t0: time.Unix(1700000000, 0)}
}

func (f *fixture) sample(m *metrics.Metric, v float64, kv ...string) metrics.Sample {
	tags := f.reg.RootTagSet()
	for i := 0; i+1 < len(kv); i += 2 {
		tags = tags.With(kv[i], kv[i+1])
	}
	return metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: m, Tags: tags}, Time: f.t0, Value: v}
}

func TestSubmetricFiling(t *testing.T) {
	t.Parallel()
	f := newFixture()
	dur := f.reg.MustNewMetric("http_req_duration", metrics.Trend, metrics.Time)
	reqs := f.reg.MustNewMetric("http_reqs", metrics.Counter)
	checks := f.reg.MustNewMetric("checks", metrics.Rate)
	vus := f.reg.MustNewMetric("vus", metrics.Gauge)

	subs, err := parseSubmetrics(`["http_req_duration{name:login}", "http_req_duration{ method : 'POST', name:login }",
		"http_reqs{status:500}", "checks{check:has token}", "checks{group:::api}", "http_reqs", "vus{scenario:default}"]`)
	if err != nil {
		t.Fatal(err)
	}
	o := &streamOutput{subs: subs, cur: newDelta(f.t0)}
	o.AddMetricSamples([]metrics.SampleContainer{metrics.Samples{
		f.sample(dur, 120, "name", "login", "method", "POST", "status", "200"),
		f.sample(dur, 80, "name", "login", "method", "GET", "status", "200"),
		f.sample(dur, 5, "name", "home", "method", "GET", "status", "200"),
		f.sample(dur, 7, "method", "POST"), // no name tag at all
		f.sample(reqs, 1, "name", "login", "status", "500"),
		f.sample(reqs, 1, "name", "login", "status", "200"),
		f.sample(reqs, 1, "name", "home", "status", "500"),
		f.sample(checks, 1, "check", "has token", "group", "::api"),
		f.sample(checks, 0, "check", "has token", "group", ""),
		f.sample(checks, 1, "check", "status is 200", "group", "::api::nested"),
		f.sample(vus, 3, "scenario", "default"),
	}})
	d := o.cur

	tests := []struct {
		key         string
		typ         stats.MetricType
		count       uint64
		sum         float64
		trues       uint64
		min, max    float64
		notReported bool
	}{
		{key: "http_req_duration", typ: stats.Trend, count: 4, sum: 212, min: 5, max: 120},
		{key: "http_req_duration{name:login}", typ: stats.Trend, count: 2, sum: 200, min: 80, max: 120},
		{key: "http_req_duration{method:POST,name:login}", typ: stats.Trend, count: 1, sum: 120, min: 120, max: 120},
		{key: "http_reqs", typ: stats.Counter, count: 3, sum: 3},
		{key: "http_reqs{status:500}", typ: stats.Counter, count: 2, sum: 2},
		{key: "checks", typ: stats.Rate, count: 3, sum: 2, trues: 2},
		{key: "checks{check:has token}", typ: stats.Rate, count: 2, sum: 1, trues: 1},
		// A group selector names one group exactly, not the groups nested in it (as in k6).
		{key: "checks{group:::api}", typ: stats.Rate, count: 1, sum: 1, trues: 1},
		// Per-instance gauges stay out, sub-metrics included.
		{key: "vus", notReported: true},
		{key: "vus{scenario:default}", notReported: true},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			m := d.Metrics[tt.key]
			if tt.notReported {
				if m != nil {
					t.Fatalf("%s reported: %+v", tt.key, m)
				}
				return
			}
			if m == nil {
				t.Fatalf("%s missing; have %v", tt.key, keys(d.Metrics))
			}
			if m.Type != tt.typ || m.Count != tt.count || m.Sum != tt.sum || m.Trues != tt.trues {
				t.Errorf("%s: type %v count %d sum %v trues %d, want %v %d %v %d",
					tt.key, m.Type, m.Count, m.Sum, m.Trues, tt.typ, tt.count, tt.sum, tt.trues)
			}
			if tt.typ == stats.Trend && (m.Min != tt.min || m.Max != tt.max || m.Hist.Count != tt.count) {
				t.Errorf("%s: min %v max %v hist count %d, want %v %v %d", tt.key, m.Min, m.Max, m.Hist.Count, tt.min, tt.max, tt.count)
			}
			if tt.key == "http_req_duration{name:login}" && m.Contains != "time" {
				t.Errorf("%s: contains %q, want the metric's, time", tt.key, m.Contains)
			}
		})
	}
	if n := len(d.Metrics); n != 8 {
		t.Errorf("%d metrics reported, want 8: %v", n, keys(d.Metrics))
	}
	if ch := d.Checks[stats.CheckKey{Group: "::api", Name: "has token"}]; ch == nil || ch.Passes != 1 {
		t.Errorf("the checks table changed: %+v", d.Checks)
	}
}

func keys(m map[string]*stats.Metric) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestParseSubmetrics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     string
		metrics int    // metric names with at least one selector
		errHas  string // non-empty: the error must contain it
	}{
		{name: "none", env: ""},
		{name: "empty list", env: "[]"},
		{name: "whole metrics only", env: `["http_reqs","checks"]`},
		{name: "duplicates in two spellings", env: `["http_reqs{status:500}","http_reqs{ status: '500' }"]`, metrics: 1},
		{name: "two metrics", env: `["http_reqs{status:500}","checks{group:::api}"]`, metrics: 2},
		{name: "not json", env: `http_reqs{status:500}`, errHas: submetricsEnv},
		{name: "unclosed tags", env: `["http_req_duration{name:login"]`, errHas: `"http_req_duration{name:login"`},
		{name: "tag without value", env: `["http_reqs{status}"]`, errHas: `"http_reqs{status}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			subs, err := parseSubmetrics(tt.env)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("error %v, want one naming %s", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(subs) != tt.metrics {
				t.Errorf("%d metrics with selectors, want %d: %+v", len(subs), tt.metrics, subs)
			}
			if tt.name == "duplicates in two spellings" && len(subs["http_reqs"]) != 1 {
				t.Errorf("duplicate selectors kept: %+v", subs["http_reqs"])
			}
		})
	}
}

// An invalid selector stops the child at start, before k6 runs anything, with the selector named.
func TestNewOutputRejectsInvalidSubmetric(t *testing.T) {
	t.Parallel()
	_, err := newOutput(output.Params{ConfigArgument: "3",
		Environment: map[string]string{submetricsEnv: `["http_req_duration{name:login"]`}})
	if err == nil || !strings.Contains(err.Error(), `http_req_duration{name:login`) {
		t.Fatalf("error %v, want one naming the selector", err)
	}
}

// A sample that no selector matches costs no allocation, whether or not its metric has selectors.
func TestSubmetricNoMatchAllocs(t *testing.T) {
	f := newFixture()
	dur := f.reg.MustNewMetric("http_req_duration", metrics.Trend, metrics.Time)
	reqs := f.reg.MustNewMetric("http_reqs", metrics.Counter)
	subs, err := parseSubmetrics(`["http_req_duration{name:login}"]`)
	if err != nil {
		t.Fatal(err)
	}
	d := newDelta(f.t0)
	for _, s := range []metrics.Sample{f.sample(reqs, 1, "name", "home"), f.sample(dur, 5, "name", "home")} {
		addSample(d, s, subs) // the delta's entries exist from here on
		if n := testing.AllocsPerRun(100, func() { addSample(d, s, subs) }); n != 0 {
			t.Errorf("%s: %v allocations per sample, want 0", s.Metric.Name, n)
		}
	}
	if _, ok := d.Metrics["http_req_duration{name:login}"]; ok {
		t.Error("a home sample was filed under name:login")
	}
}
