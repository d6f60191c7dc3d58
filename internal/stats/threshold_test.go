package stats

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseThreshold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key, src string
		sel      string // Selector.Key()
		agg      string
		pct      float64
		op       string
		limit    float64
		err      string // substring of the error; "" for success
	}{
		// Every aggregation.
		{key: "http_req_duration", src: "avg<200", sel: "http_req_duration", agg: "avg", op: "<", limit: 200},
		{key: "http_req_duration", src: "min<10", sel: "http_req_duration", agg: "min", op: "<", limit: 10},
		{key: "http_req_duration", src: "max<3000", sel: "http_req_duration", agg: "max", op: "<", limit: 3000},
		{key: "http_req_duration", src: "med<150", sel: "http_req_duration", agg: "med", op: "<", limit: 150},
		{key: "http_req_duration", src: "p(95)<300", sel: "http_req_duration", agg: "p", pct: 95, op: "<", limit: 300},
		{key: "http_req_duration", src: "p(99.9)<1000", sel: "http_req_duration", agg: "p", pct: 99.9, op: "<", limit: 1000},
		{key: "http_req_duration", src: "p(0)>=1", sel: "http_req_duration", agg: "p", pct: 0, op: ">=", limit: 1},
		{key: "http_req_duration", src: "p(100)<5", sel: "http_req_duration", agg: "p", pct: 100, op: "<", limit: 5},
		{key: "http_reqs", src: "count>100", sel: "http_reqs", agg: "count", op: ">", limit: 100},
		{key: "http_reqs", src: "rate>50", sel: "http_reqs", agg: "rate", op: ">", limit: 50},
		{key: "http_req_failed", src: "rate<0.01", sel: "http_req_failed", agg: "rate", op: "<", limit: 0.01},
		{key: "vus", src: "value<=100", sel: "vus", agg: "value", op: "<=", limit: 100},
		// Every operator.
		{key: "checks", src: "rate>0.99", sel: "checks", agg: "rate", op: ">", limit: 0.99},
		{key: "checks", src: "rate>=0.99", sel: "checks", agg: "rate", op: ">=", limit: 0.99},
		{key: "checks", src: "rate<0.5", sel: "checks", agg: "rate", op: "<", limit: 0.5},
		{key: "checks", src: "rate<=0.5", sel: "checks", agg: "rate", op: "<=", limit: 0.5},
		{key: "errors", src: "count==0", sel: "errors", agg: "count", op: "==", limit: 0},
		{key: "errors", src: "count===0", sel: "errors", agg: "count", op: "===", limit: 0},
		{key: "errors", src: "count!=3", sel: "errors", agg: "count", op: "!=", limit: 3},
		// Spaces and numbers.
		{key: "http_req_duration", src: "p(95) < 300", sel: "http_req_duration", agg: "p", pct: 95, op: "<", limit: 300},
		{key: "http_req_duration", src: "  avg<=  1e3 ", sel: "http_req_duration", agg: "avg", op: "<=", limit: 1000},
		{key: "http_req_failed", src: "rate < .5", sel: "http_req_failed", agg: "rate", op: "<", limit: 0.5},
		{key: "temperature", src: "value > -10.25", sel: "temperature", agg: "value", op: ">", limit: -10.25},
		{key: "temperature", src: "value>-1", sel: "temperature", agg: "value", op: ">", limit: -1},
		{key: "http_req_duration", src: "p(90)\t<\t2.5E2", sel: "http_req_duration", agg: "p", pct: 90, op: "<", limit: 250},
		// Sub-metric keys.
		{key: "http_req_duration{name:login}", src: "p(95)<300", sel: "http_req_duration{name:login}", agg: "p", pct: 95, op: "<", limit: 300},
		{key: "http_req_duration{ method : POST, name:'login' }", src: "max<1", sel: "http_req_duration{method:POST,name:login}", agg: "max", op: "<", limit: 1},
		{key: "checks{group:::api::login}", src: "rate==1", sel: "checks{group:::api::login}", agg: "rate", op: "==", limit: 1},
		{key: "http_req_duration{expected_response:true}", src: "p(99)<500", sel: "http_req_duration{expected_response:true}", agg: "p", pct: 99, op: "<", limit: 500},

		// Malformed.
		{key: "http_req_duration", src: "", err: `empty expression`},
		{key: "http_req_duration", src: "   ", err: `empty expression`},
		{key: "http_req_duration", src: "p95<300", err: `unknown aggregation "p95": did you mean p(95)?`},
		{key: "http_req_duration", src: "p99.9 < 300", err: `unknown aggregation "p99.9": did you mean p(99.9)?`},
		{key: "http_req_duration", src: "P(95)<300", err: `unknown aggregation "P(95)": did you mean p(95)?`},
		{key: "http_req_duration", src: "AVG<300", err: `unknown aggregation "AVG": did you mean avg?`},
		{key: "http_req_duration", src: "median<300", err: `unknown aggregation "median": did you mean med?`},
		{key: "http_req_duration", src: "foo<300", err: `unknown aggregation "foo": want avg, min, max, med, p(N), count, rate or value`},
		{key: "http_req_duration", src: "p(95)300", err: `missing operator`},
		{key: "http_req_duration", src: "avg", err: `missing operator`},
		{key: "http_req_duration", src: "p(95)=300", err: `bad operator "="`},
		{key: "http_req_duration", src: "p(95)=<300", err: `bad operator "=<"`},
		{key: "http_req_duration", src: "p(95)<>300", err: `bad operator "<>"`},
		{key: "http_req_duration", src: "p(95)====300", err: `bad operator "===="`},
		{key: "http_req_duration", src: "p(95)<", err: `missing number after "<"`},
		{key: "http_req_duration", src: "p(95) <=  ", err: `missing number after "<="`},
		{key: "http_req_duration", src: "p(95)<abc", err: `bad number "abc"`},
		{key: "http_req_duration", src: "p(95)<300ms", err: `bad number "300ms"`},
		{key: "http_req_duration", src: "p(95)<NaN", err: `bad number "NaN"`},
		{key: "http_req_duration", src: "p(95)<Inf", err: `bad number "Inf"`},
		{key: "http_req_duration", src: "p(95)<1e999", err: `number "1e999" is out of range`},
		{key: "http_req_duration", src: "<300", err: `missing aggregation before "<"`},
		{key: "http_req_duration", src: "p(101)<300", err: `percentile "p(101)": N must be a number from 0 to 100`},
		{key: "http_req_duration", src: "p(-1)<300", err: `percentile "p(-1)": N must be a number from 0 to 100`},
		{key: "http_req_duration", src: "p(abc)<300", err: `percentile "p(abc)": N must be a number`},
		{key: "http_req_duration", src: "p()<300", err: `percentile "p()": missing N`},
		{key: "http_req_duration", src: "p(95<300", err: `percentile "p(95": missing closing parenthesis`},
		{key: "http_req_duration", src: "p( 95 )<300", err: `no spaces inside the parentheses, write p(95)`},
		{key: "", src: "p(95)<300", err: `want a metric name`},
		{key: "http_req_duration{name:x", src: "p(95)<300", err: `not closed`},
	}
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.src, func(t *testing.T) {
			t.Parallel()
			th, err := ParseThreshold(tt.key, tt.src)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseThreshold(%q, %q) error = %v, want one containing %q", tt.key, tt.src, err, tt.err)
				}
				if !errors.Is(err, ErrInvalidThreshold) {
					t.Errorf("error %v does not wrap ErrInvalidThreshold", err)
				}
				if !strings.Contains(err.Error(), `"`+tt.src+`"`) {
					t.Errorf("error %v does not quote the expression", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseThreshold(%q, %q): %v", tt.key, tt.src, err)
			}
			if th.Selector.Key() != tt.sel || th.Agg != tt.agg || th.Percentile != tt.pct || th.Op != tt.op || th.Limit != tt.limit {
				t.Errorf("got %s %s pct=%v %s %v, want %s %s pct=%v %s %v",
					th.Selector.Key(), th.Agg, th.Percentile, th.Op, th.Limit, tt.sel, tt.agg, tt.pct, tt.op, tt.limit)
			}
			if th.Source != tt.src {
				t.Errorf("Source = %q, want %q as written", th.Source, tt.src)
			}
		})
	}
}

func TestThresholdHolds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		op               string
		below, at, above bool // v = 9, 10, 11 against Limit 10
		nan              bool
	}{
		{op: "<", below: true},
		{op: "<=", below: true, at: true},
		{op: ">", above: true},
		{op: ">=", at: true, above: true},
		{op: "==", at: true},
		{op: "===", at: true},
		{op: "!=", below: true, above: true, nan: true},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			t.Parallel()
			th, err := ParseThreshold("m", "avg"+tt.op+"10")
			if err != nil {
				t.Fatal(err)
			}
			for v, want := range map[float64]bool{9: tt.below, 10: tt.at, 11: tt.above, math.NaN(): tt.nan} {
				if got := th.Holds(v); got != want {
					t.Errorf("avg%s10 Holds(%v) = %v, want %v", tt.op, v, got, want)
				}
			}
		})
	}
}

func TestThresholdObserve(t *testing.T) {
	t.Parallel()
	build := func(typ MetricType, vs ...float64) *Metric {
		m := &Metric{Type: typ}
		for i, v := range vs {
			m.Add(v, int64(i))
		}
		return m
	}
	// 1..1000 ms: exact p(N) at rank ceil(N/100*1000) is 10*N, med is 500.
	durations := make([]float64, 1000)
	for i := range durations {
		durations[i] = float64(1000 - i) // added out of order
	}
	trend := build(Trend, durations...)
	counter := build(Counter, 1, 1, 1, 2, 5) // 10 in total over 5 samples
	rate := build(Rate, 1, 0, 0, 1, 1, 0, 1, 1)
	gauge := build(Gauge, 3, 40, 7) // latest (time 2) is 7

	tests := []struct {
		name    string
		m       *Metric
		src     string
		elapsed time.Duration
		want    float64
		tol     float64 // relative
		ok      bool
	}{
		{name: "counter count is the sum", m: counter, src: "count>0", want: 10, ok: true},
		{name: "counter rate per second", m: counter, src: "rate>0", elapsed: 4 * time.Second, want: 2.5, ok: true},
		{name: "counter rate sub-second", m: counter, src: "rate>0", elapsed: 500 * time.Millisecond, want: 20, ok: true},
		{name: "counter rate at time zero", m: counter, src: "rate>0", elapsed: 0, ok: false},
		{name: "rate is trues over count", m: rate, src: "rate>0", elapsed: time.Hour, want: 5.0 / 8, ok: true},
		{name: "gauge latest value", m: gauge, src: "value>0", want: 7, ok: true},
		{name: "trend avg exact", m: trend, src: "avg<1", want: 500.5, ok: true},
		{name: "trend min exact", m: trend, src: "min<1", want: 1, ok: true},
		{name: "trend max exact", m: trend, src: "max<1", want: 1000, ok: true},
		{name: "trend med", m: trend, src: "med<1", want: 500, tol: 0.01, ok: true},
		{name: "trend p(90)", m: trend, src: "p(90)<1", want: 900, tol: 0.01, ok: true},
		{name: "trend p(95)", m: trend, src: "p(95)<1", want: 950, tol: 0.01, ok: true},
		{name: "trend p(99.9)", m: trend, src: "p(99.9)<1", want: 999, tol: 0.01, ok: true},
		{name: "trend p(0) is min", m: trend, src: "p(0)<1", want: 1, ok: true},
		{name: "trend p(100) is max", m: trend, src: "p(100)<1", want: 1000, ok: true},
		{name: "nil metric", m: nil, src: "p(95)<1", ok: false},
		{name: "empty trend", m: &Metric{Type: Trend}, src: "p(95)<1", ok: false},
		{name: "empty rate", m: &Metric{Type: Rate}, src: "rate<1", elapsed: time.Second, ok: false},
		{name: "empty counter", m: &Metric{Type: Counter}, src: "count<1", elapsed: time.Second, ok: false},
		{name: "wrong type", m: counter, src: "avg<1", ok: false},
		{name: "untyped", m: &Metric{Count: 1, Sum: 1}, src: "count<1", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			th, err := ParseThreshold("m", tt.src)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := th.Observe(tt.m, tt.elapsed)
			if ok != tt.ok {
				t.Fatalf("Observe ok = %v, want %v (v = %v)", ok, tt.ok, got)
			}
			if ok && math.Abs(got-tt.want) > tt.tol*math.Abs(tt.want)+1e-12 {
				t.Errorf("Observe = %v, want %v within %v%%", got, tt.want, tt.tol*100)
			}
		})
	}
}

// TestThresholdObserveMerged judges a threshold on a metric merged from several workers, as the
// master does, and checks the verdict matches the one on all the samples in one place.
func TestThresholdObserveMerged(t *testing.T) {
	t.Parallel()
	var whole, merged Metric
	whole.Type = Trend
	parts := make([]Metric, 3)
	var all []float64
	for i := range 3000 {
		v := float64(i%997) + 0.5
		all = append(all, v)
		whole.Add(v, 0)
		parts[i%3].Type = Trend
		parts[i%3].Add(v, 0)
	}
	for i := range parts {
		merged.Merge(&parts[i])
	}
	th, err := ParseThreshold("http_req_duration{name:login}", "p(95) < 1000")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := th.Observe(&whole, time.Minute)
	b, ok := th.Observe(&merged, time.Minute)
	if !ok || a != b {
		t.Fatalf("merged p(95) = %v (ok %v), whole %v", b, ok, a)
	}
	exact := exactQuantile(slices.Sorted(slices.Values(all)), 0.95)
	if math.Abs(b-exact) > 0.01*exact {
		t.Errorf("p(95) = %v, exact %v", b, exact)
	}
	if !th.Holds(b) {
		t.Errorf("p(95)=%v should hold for < 1000", b)
	}
}

func TestThresholdCheckType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key, src string
		typ      MetricType
		err      string // "" when valid
	}{
		{key: "http_reqs", src: "count>1", typ: Counter},
		{key: "http_reqs", src: "rate>1", typ: Counter},
		{key: "vus", src: "value<1", typ: Gauge},
		{key: "checks", src: "rate>0.9", typ: Rate},
		{key: "d", src: "avg<1", typ: Trend},
		{key: "d", src: "min<1", typ: Trend},
		{key: "d", src: "max<1", typ: Trend},
		{key: "d", src: "med<1", typ: Trend},
		{key: "d", src: "p(99.9)<1", typ: Trend},
		{key: "http_reqs{name:login}", src: "avg<1", typ: Counter,
			err: `threshold "avg<1" on http_reqs{name:login}: avg does not apply to http_reqs, a counter metric; use count, rate`},
		{key: "vus", src: "max<1", typ: Gauge, err: `max does not apply to vus, a gauge metric; use value`},
		{key: "vus", src: "min>0", typ: Gauge, err: `use value`},
		{key: "checks", src: "count>1", typ: Rate, err: `count does not apply to checks, a rate metric; use rate`},
		{key: "d", src: "p(99.9)>1", typ: Counter, err: `p(99.9) does not apply to d, a counter metric`},
		{key: "d", src: "rate<1", typ: Trend, err: `rate does not apply to d, a trend metric; use avg, min, max, med, p(N)`},
		{key: "d", src: "value<1", typ: Trend, err: `use avg, min, max, med, p(N)`},
		{key: "d", src: "avg<1", typ: 0, err: `unknown type`},
	}
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.src+" "+tt.typ.String(), func(t *testing.T) {
			t.Parallel()
			th, err := ParseThreshold(tt.key, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			err = th.CheckType(tt.typ)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("CheckType(%v): %v", tt.typ, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrThresholdType) {
				t.Fatalf("CheckType(%v) = %v, want ErrThresholdType containing %q", tt.typ, err, tt.err)
			}
		})
	}
}

func TestParseCLIThreshold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, sel, src, err string
	}{
		{in: "http_req_duration: p(95)<300", sel: "http_req_duration", src: "p(95)<300"},
		{in: "http_req_duration:p(95)<300", sel: "http_req_duration", src: "p(95)<300"},
		{in: "http_req_duration{name:login}: p(95)<300", sel: "http_req_duration{name:login}", src: "p(95)<300"},
		{in: "checks{group:::api::login}: rate > 0.99", sel: "checks{group:::api::login}", src: "rate > 0.99"},
		{in: `http_req_duration{url:"http://x/{id}"}: max<1`, sel: "http_req_duration{url:http://x/{id}}", src: "max<1"},
		{in: "  http_reqs :  count>=10  ", sel: "http_reqs", src: "count>=10"},
		{in: "http_reqs{name:it's}: count>=10", sel: "http_reqs{name:it's}", src: "count>=10"},
		{in: "http_reqs{name: 'a}:b'}: count>=10", sel: "http_reqs{name:a}:b}", src: "count>=10"},
		{in: "http_req_duration p(95)<300", err: "want metric: expression"},
		{in: "http_req_duration{name:login} p(95)<300", err: "want metric: expression"},
		{in: "", err: "want metric: expression"},
		{in: "http_req_duration: ", err: "empty expression"},
		{in: ": p(95)<300", err: "want a metric name"},
		{in: "http_req_duration: p95<300", err: "did you mean p(95)?"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			th, err := ParseCLIThreshold(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrInvalidThreshold) {
					t.Fatalf("ParseCLIThreshold(%q) error = %v, want ErrInvalidThreshold containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCLIThreshold(%q): %v", tt.in, err)
			}
			if th.Selector.Key() != tt.sel || th.Source != tt.src {
				t.Errorf("got %q %q, want %q %q", th.Selector.Key(), th.Source, tt.sel, tt.src)
			}
		})
	}
}
