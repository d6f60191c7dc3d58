package stats

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidThreshold is returned (wrapped) for a threshold that does not parse.
var ErrInvalidThreshold = errors.New("invalid threshold")

// ErrThresholdType is returned (wrapped) by CheckType for an aggregation the metric's type does
// not have, such as avg on a counter.
var ErrThresholdType = errors.New("threshold does not apply to the metric's type")

// Threshold is one k6 threshold, "p(95)<300" on "http_req_duration{name:login}": a pass
// criterion on one aggregation of a metric or sub-metric, judged on the fleet's merged data.
type Threshold struct {
	Selector       Selector // parsed from the key, e.g. http_req_duration{name:login}
	Source         string   // the expression as written, "p(95)<300"
	Agg            string   // "avg","min","max","med","p","count","rate","value"
	Percentile     float64  // for Agg "p": 95 for p(95), 99.9 for p(99.9)
	Op             string   // "<", "<=", ">", ">=", "==", "===", "!="
	Limit          float64
	AbortOnFail    bool
	DelayAbortEval time.Duration
}

// thresholdOps are the operators k6 accepts, longest first so a prefix never wins.
var thresholdOps = []string{"===", "==", "!=", "<=", ">=", "<", ">"}

const opList = "<, <=, >, >=, ==, === or !="

// aggsByType lists, per metric type, the aggregations k6 allows on it (k6's
// MetricType.supportedAggregationMethods); "p" stands for p(N).
var aggsByType = map[MetricType][]string{
	Counter: {"count", "rate"},
	Gauge:   {"value"},
	Rate:    {"rate"},
	Trend:   {"avg", "min", "max", "med", "p"},
}

// likelyAgg maps common mistakes to the aggregation meant; p95-style names are handled apart.
var likelyAgg = map[string]string{
	"average": "avg", "mean": "avg", "median": "med", "minimum": "min", "maximum": "max",
	"last": "value", "total": "count", "sum": "count", "percentile": "p(N)",
}

var bareP = regexp.MustCompile(`^(?i)p(?:ercentile)?_?([0-9.]+)$`)

// ParseThreshold parses the threshold source on the metric or sub-metric key, with k6's syntax:
// an aggregation, an operator and a number, with any spaces between them ("p(95) < 300").
//
// Aggregations are avg, min, max, med, p(N) (N in [0, 100], e.g. p(99.9)), count, rate and
// value; operators <, <=, >, >=, ==, === (the same as ==) and !=. The number is a Go float
// ("300", "1e3", ".5", "-1"); NaN and infinities are refused, as no measurement can be judged
// against them. Like k6, ParseThreshold checks only the syntax: which aggregations a metric
// has depends on its type, known once samples arrive; see CheckType.
func ParseThreshold(key, source string) (*Threshold, error) {
	sel, err := ParseSelector(key)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidThreshold, source, err)
	}
	t := &Threshold{Selector: sel, Source: source}
	if err := t.parseExpr(source); err != nil {
		return nil, fmt.Errorf("%w %q on %s: %s", ErrInvalidThreshold, source, sel.Key(), err)
	}
	return t, nil
}

// parseExpr fills Agg, Percentile, Op and Limit from s; its errors name the bad part.
func (t *Threshold) parseExpr(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("empty expression: want aggregation, operator and number, e.g. p(95)<300")
	}
	i := strings.IndexAny(s, "<>=!")
	if i < 0 {
		return fmt.Errorf("missing operator: want %s between the aggregation and the number, e.g. p(95)<300", opList)
	}
	for _, op := range thresholdOps {
		if strings.HasPrefix(s[i:], op) {
			t.Op = op
			break
		}
	}
	lhs, rhs := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+len(t.Op):])
	run := s[i:]
	if j := strings.IndexFunc(run, func(r rune) bool { return !strings.ContainsRune("<>=!", r) }); j >= 0 {
		run = run[:j]
	}
	if t.Op == "" || len(run) > len(t.Op) {
		return fmt.Errorf("bad operator %q: want %s", run, opList)
	}
	if lhs == "" {
		return fmt.Errorf("missing aggregation before %q: want avg, min, max, med, p(N), count, rate or value", t.Op)
	}
	if err := t.parseAgg(lhs); err != nil {
		return err
	}
	if rhs == "" {
		return fmt.Errorf("missing number after %q", t.Op)
	}
	v, err := strconv.ParseFloat(rhs, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return fmt.Errorf("number %q is out of range", rhs)
	case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Errorf("bad number %q after %q: want a finite number such as 300, 0.01 or 1e3", rhs, t.Op)
	}
	t.Limit = v
	return nil
}

// parseAgg parses the aggregation: a keyword, or p(N) written as k6 wants it, with no spaces
// inside the parentheses.
func (t *Threshold) parseAgg(s string) error {
	switch s {
	case "avg", "min", "max", "med", "count", "rate", "value":
		t.Agg = s
		return nil
	}
	if inner, ok := strings.CutPrefix(s, "p("); ok {
		inner, ok = strings.CutSuffix(inner, ")")
		if !ok {
			return fmt.Errorf("percentile %q: missing closing parenthesis, want p(N) such as p(95)", s)
		}
		if inner == "" {
			return fmt.Errorf("percentile %q: missing N, want p(N) such as p(95)", s)
		}
		if strings.TrimSpace(inner) != inner {
			return fmt.Errorf("percentile %q: k6 allows no spaces inside the parentheses, write p(%s)", s, strings.TrimSpace(inner))
		}
		p, err := strconv.ParseFloat(inner, 64)
		if err != nil || !(p >= 0 && p <= 100) {
			return fmt.Errorf("percentile %q: N must be a number from 0 to 100, such as p(95) or p(99.9)", s)
		}
		t.Agg, t.Percentile = "p", p
		return nil
	}
	hint := ""
	lower := strings.ToLower(s)
	if m := bareP.FindStringSubmatch(s); m != nil {
		hint = fmt.Sprintf(": did you mean p(%s)?", m[1])
	} else if strings.HasPrefix(lower, "p(") {
		hint = fmt.Sprintf(": did you mean %s? (lower-case p, no spaces)", "p"+strings.ReplaceAll(s[1:], " ", ""))
	} else if alt, ok := likelyAgg[lower]; ok {
		hint = fmt.Sprintf(": did you mean %s?", alt)
	} else if lower != s && (&Threshold{}).parseAgg(lower) == nil {
		hint = fmt.Sprintf(": did you mean %s? (aggregations are lower case)", lower)
	}
	if hint == "" {
		hint = ": want avg, min, max, med, p(N), count, rate or value"
	}
	return fmt.Errorf("unknown aggregation %q%s", s, hint)
}

// aggName is Agg as a user writes it: p(N) for percentiles.
func (t *Threshold) aggName() string {
	if t.Agg == "p" {
		return "p(" + strconv.FormatFloat(t.Percentile, 'g', -1, 64) + ")"
	}
	return t.Agg
}

// CheckType reports, wrapping ErrThresholdType, whether t's aggregation does not exist for a
// metric of type typ, naming the metric, its type and the aggregations it has. k6 refuses such
// thresholds before the test starts; a master learns types only from samples, so it calls
// CheckType when the metric first appears.
func (t *Threshold) CheckType(typ MetricType) error {
	valid, ok := aggsByType[typ]
	if !ok {
		return fmt.Errorf("%w: threshold %q on %s: metric has unknown type %v", ErrThresholdType, t.Source, t.Selector.Key(), typ)
	}
	for _, a := range valid {
		if a == t.Agg {
			return nil
		}
	}
	names := make([]string, len(valid))
	for i, a := range valid {
		names[i] = a
		if a == "p" {
			names[i] = "p(N)"
		}
	}
	return fmt.Errorf("%w: threshold %q on %s: %s does not apply to %s, a %v metric; use %s",
		ErrThresholdType, t.Source, t.Selector.Key(), t.aggName(), t.Selector.Metric, typ, strings.Join(names, ", "))
}

// Observe returns the value t's aggregation has on m, a metric merged over the fleet, in a run
// that has lasted elapsed. Values are in m's unit: milliseconds for k6's time metrics.
//
//   - count: a Counter's total, Sum (k6 sums the added values, it does not count samples)
//   - rate: on a Counter, Sum per second of elapsed (k6 divides by the test run's duration);
//     on a Rate, the share of non-zero samples, Trues/Count
//   - value: a Gauge's latest value
//   - avg, min, max: exact; med and p(N): from the histogram, within 1% of the sample at rank
//     ceil(N/100*Count) (k6 interpolates between neighbouring samples; the two agree within the
//     histogram's precision on any sizeable sample)
//
// ok is false when m is nil or has no samples, when CheckType(m.Type) fails, and for a
// Counter's rate before any time has elapsed. An empty metric is "no data": k6 (v0.3x to v1)
// skips thresholds on an empty metric or sub-metric while the test runs, so they never abort
// it, and at the end judges them on zeroes (count, rate, value, avg, min, max, med and p(N) all
// read 0, so "p(95)<300" passes and "count>0" fails), except a Rate, which has no rate and is
// logged as a threshold error without failing the test. Stampede does not invent a 0: the
// master reports the threshold as having no data and decides the verdict itself.
func (t *Threshold) Observe(m *Metric, elapsed time.Duration) (v float64, ok bool) {
	if m == nil || m.Count == 0 || t.CheckType(m.Type) != nil {
		return 0, false
	}
	switch t.Agg {
	case "count":
		return m.Sum, true
	case "rate":
		if m.Type == Rate {
			return m.Rate(), true
		}
		if elapsed <= 0 {
			return 0, false
		}
		return m.Sum / elapsed.Seconds(), true
	case "value":
		return m.Value, true
	case "avg":
		return m.Sum / float64(m.Count), true
	case "min":
		return m.Min, true
	case "max":
		return m.Max, true
	case "med":
		return m.Hist.Quantile(0.5), true
	case "p":
		return m.Hist.Quantile(t.Percentile / 100), true
	}
	return 0, false
}

// Holds reports whether v meets the threshold: v Op Limit. "==" and "===" are the same, as in
// k6. NaN holds only for "!=".
func (t *Threshold) Holds(v float64) bool {
	switch t.Op {
	case "<":
		return v < t.Limit
	case "<=":
		return v <= t.Limit
	case ">":
		return v > t.Limit
	case ">=":
		return v >= t.Limit
	case "==", "===":
		return v == t.Limit
	case "!=":
		return v != t.Limit
	}
	return false
}

// ParseCLIThreshold parses the command-line form of a threshold: the key, a colon and the
// expression, "http_req_duration{name:login}: p(95)<300". An expression never contains a colon,
// so the last colon separates the two, whatever colons, braces or quotes the key's tags hold.
func ParseCLIThreshold(s string) (*Threshold, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.ContainsAny(s[i+1:], "{}") {
		return nil, fmt.Errorf("%w %q: want metric: expression, e.g. \"http_req_duration{name:login}: p(95)<300\"", ErrInvalidThreshold, s)
	}
	return ParseThreshold(s[:i], strings.TrimSpace(s[i+1:]))
}
