package master

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// Errors of thresholds; cmd/master maps each to its exit code (99, as k6, and its own for an abort).
var (
	ErrThresholdsFailed = errors.New("thresholds failed")
	ErrThresholdAborted = errors.New("a threshold with abortOnFail failed")
)

// judge holds a run's thresholds and their latest verdicts. The master is the only judge: workers'
// k6 children run with --no-thresholds, so every verdict is on the fleet's merged data.
type judge struct {
	list []*stats.Threshold
	res  []ThresholdResult
}

// newJudge parses the script's thresholds (k6 inspect gives them) and adds the command line's.
// A malformed script threshold is invalid options, named with its metric and expression.
func newJudge(opts *scenario.Options, extra []*stats.Threshold) (*judge, error) {
	j := &judge{}
	if opts != nil {
		for _, key := range slices.Sorted(maps.Keys(opts.ThresholdConfigs)) {
			for _, tc := range opts.ThresholdConfigs[key] {
				t, err := stats.ParseThreshold(key, tc.Source)
				if err != nil {
					return nil, fmt.Errorf("%w: thresholds[%q]: %q: %w", ErrInvalidOptions, key, tc.Source, err)
				}
				t.AbortOnFail, t.DelayAbortEval = tc.AbortOnFail, tc.DelayAbortEval
				j.list = append(j.list, t)
			}
		}
	}
	j.list = append(j.list, extra...)
	j.res = make([]ThresholdResult, len(j.list))
	for i, t := range j.list {
		j.res[i] = ThresholdResult{Metric: t.Selector.Key(), Source: t.Source, OK: true, AbortOnFail: t.AbortOnFail}
	}
	return j, nil
}

// submetrics are the tagged selectors the workers must file samples under.
func (j *judge) submetrics() []string {
	// k6 always reports this one in its end-of-test summary and handleSummary()'s data.
	out := []string{defaultSubmetric}
	for _, t := range j.list {
		if len(t.Selector.Tags) > 0 && !slices.Contains(out, t.Selector.Key()) {
			out = append(out, t.Selector.Key())
		}
	}
	slices.Sort(out)
	return out
}

// defaultSubmetric is the submetric k6 adds to every test: the duration of the requests whose
// status the script expected.
const defaultSubmetric = "http_req_duration{expected_response:true}"

// evaluate judges every threshold on agg, a run that has lasted elapsed. A metric without samples
// is judged as k6 does: while the load runs it is skipped (it aborts nothing); at the end (final)
// its count, value and trend aggregations read 0 and are judged, so `count>0` on a counter nothing
// emitted fails, while a rate without samples has no value and passes.
func (j *judge) evaluate(agg *stats.Aggregate, elapsed time.Duration, final bool) {
	for i, t := range j.list {
		r := &j.res[i]
		m := agg.Metrics[t.Selector.Key()]
		r.Error = ""
		if m != nil && m.Count > 0 {
			if err := t.CheckType(m.Type); err != nil {
				r.OK, r.HasData, r.Error = false, true, err.Error()
				continue
			}
		}
		v, ok := t.Observe(m, elapsed)
		r.Observed, r.HasData = v, ok
		switch {
		case ok:
			r.OK = t.Holds(v)
		case final && t.Agg != "rate":
			r.Observed, r.OK = 0, t.Holds(0)
		default:
			r.OK = true
		}
		if r.Aborted {
			r.OK = false // it failed when it stopped the run, whatever the data judged since says
		}
	}
}

// abort returns the first failing abortOnFail threshold whose delay has passed, marking it.
func (j *judge) abort(elapsed time.Duration) *ThresholdResult {
	for i, t := range j.list {
		r := &j.res[i]
		if t.AbortOnFail && !r.OK && r.HasData && elapsed > t.DelayAbortEval { // k6: strictly after the delay
			r.Aborted = true
			return r
		}
	}
	return nil
}

func (j *judge) failed() bool {
	return slices.ContainsFunc(j.res, func(r ThresholdResult) bool { return !r.OK })
}

func (j *judge) results() []ThresholdResult { return slices.Clone(j.res) }

// describe is a verdict in words: `http_req_duration{name:login}: p(95)<300 (observed 412.3)`.
func (r ThresholdResult) describe() string {
	if r.Error != "" {
		return fmt.Sprintf("%s: %s (%s)", r.Metric, r.Source, r.Error)
	}
	if !r.HasData {
		return fmt.Sprintf("%s: %s (no samples)", r.Metric, r.Source)
	}
	return fmt.Sprintf("%s: %s (observed %.4g)", r.Metric, r.Source, r.Observed)
}
