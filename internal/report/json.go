package report

import (
	"encoding/json"
	"io"
	"sort"

	"github.com/stampede-load/stampede/internal/api"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

func dist(h *stats.Histogram) api.Distribution {
	if h.Count == 0 {
		return api.Distribution{}
	}
	q := h.Quantiles(quantiles...)
	return api.Distribution{Min: h.Min, Avg: h.Mean(), Med: q[0], P90: q[1], P95: q[2], P99: q[3], P999: q[4], Max: h.Max}
}

func stat(name, method string, e *stats.Entry, secs float64) api.Stat {
	s := api.Stat{Name: name, Method: method, Requests: e.Requests, Failures: e.Failures, DurationMs: dist(&e.Duration)}
	if e.Requests > 0 {
		s.FailureRate = float64(e.Failures) / float64(e.Requests)
	}
	if secs > 0 {
		s.RequestsPerS = float64(e.Requests) / secs
	}
	if avg, ok := e.AvgSize(); ok {
		s.AvgSizeBytes = ptr(avg)
	}
	return s
}

// Tables returns the request table of agg (the aggregated row and one row per name and method, with
// requests per second over secs), its errors (most frequent first) and its checks. The live views of
// the web UI and the API show the same rows as the summary.
func Tables(agg *stats.Aggregate, secs float64) (totals api.Stat, rows []api.Stat, errs []api.Error, checks []api.Check) {
	tot := agg.Total()
	totals = stat("", "", &tot, secs)
	// Every byte counts in the totals, the iterations whose bytes no row could take included.
	totals.AvgSizeBytes = nil
	if m := agg.Metrics["data_received"]; m != nil && tot.Requests > 0 {
		totals.AvgSizeBytes = ptr(m.Sum / float64(tot.Requests))
	}
	statuses := map[[2]string]map[string]uint64{}
	for k, e := range agg.Entries {
		key := [2]string{k.Name, k.Method}
		if statuses[key] == nil {
			statuses[key] = map[string]uint64{}
		}
		statuses[key][k.Status] += e.Requests
	}
	rows, errs, checks = []api.Stat{}, []api.Error{}, []api.Check{}
	for _, ne := range agg.ByName() {
		e := ne.Entry
		st := stat(ne.Name, ne.Method, &e, secs)
		st.Statuses = statuses[[2]string{ne.Name, ne.Method}]
		rows = append(rows, st)
	}
	for _, e := range sortedErrors(agg) {
		errs = append(errs, api.Error{Name: e.Name, Method: e.Method, Error: e.Error, Count: e.Count})
	}
	for _, c := range sortedChecks(agg) {
		checks = append(checks, api.Check{Group: c.Group, Name: c.Name, Passes: c.Passes, Fails: c.Fails, Rate: c.Rate})
	}
	return totals, rows, errs, checks
}

// NewSummary builds the JSON summary of a result.
func NewSummary(res *master.Result) *api.Summary {
	secs := res.Duration().Seconds()
	agg := aggregateOf(res)
	s := &api.Summary{Schema: api.SchemaVersion, RunID: res.RunID, Mode: res.Mode.String(), Script: res.Script, Engine: res.Engine,
		Started: res.Started, Ended: res.Ended, DurationSeconds: secs, Users: res.Users, SpawnRate: res.SpawnRate,
		Outcome: api.Outcome{OK: res.Err == nil, Notes: res.Notes}, Requests: []api.Stat{}, Errors: []api.Error{}, Checks: []api.Check{},
		Metrics: map[string]api.Metric{}, Workers: WorkerResults(res.Workers), Series: []api.Point{},
		Thresholds: ThresholdResults(res.Thresholds), Classes: UserClasses(res.Classes), Shape: Shape(res.Shape)}
	if s.Thresholds == nil {
		s.Thresholds = []api.ThresholdResult{}
	}
	if res.Err != nil {
		s.Outcome.Error = res.Err.Error()
	}
	s.Totals, s.Requests, s.Errors, s.Checks = Tables(agg, secs)
	for name, m := range agg.Metrics {
		s.Metrics[name] = metric(m)
	}
	s.Series = Points(res.Points)
	sort.Slice(s.Series, func(i, j int) bool { return s.Series[i].Time < s.Series[j].Time })
	return s
}

// Points converts a time series for JSON, in time order.
func Points(ps []stats.Point) []api.Point {
	out := make([]api.Point, 0, len(ps))
	for _, p := range ps {
		out = append(out, api.Point{Time: p.Time, Requests: p.Requests, Failures: p.Failures,
			P50: p.P50, P95: p.P95, P99: p.P99, Users: p.Users, Workers: p.Workers, Extra: p.Extra})
	}
	return out
}

// WorkerResults publishes the workers' parts in a run; nil stays nil (null in JSON).
func WorkerResults(ws []master.WorkerResult) []api.WorkerResult {
	return api.List(ws, func(w master.WorkerResult) api.WorkerResult {
		return api.WorkerResult{Index: w.Index, ID: w.ID, Host: w.Host, Requests: w.Requests,
			ExitCode: w.ExitCode, Error: w.Error, Lost: w.Lost, Segment: w.Segment}
	})
}

// ThresholdResults publishes threshold verdicts; nil stays nil (null in JSON).
func ThresholdResults(ts []master.ThresholdResult) []api.ThresholdResult {
	return api.List(ts, func(t master.ThresholdResult) api.ThresholdResult {
		return api.ThresholdResult{Metric: t.Metric, Source: t.Source, Observed: t.Observed, HasData: t.HasData,
			OK: t.OK, AbortOnFail: t.AbortOnFail, Aborted: t.Aborted, Error: t.Error}
	})
}

// UserClasses publishes a run's user classes; nil stays nil (null in JSON).
func UserClasses(cs []master.ClassInfo) []api.UserClass {
	return api.List(cs, func(c master.ClassInfo) api.UserClass {
		return api.UserClass{Name: c.Name, Weight: c.Weight, Tags: c.Tags, Users: c.Users}
	})
}

// Shape publishes where a run's load shape stands (nil: the run has none).
func Shape(s *master.ShapeInfo) *api.Shape {
	if s == nil {
		return nil
	}
	return &api.Shape{Stage: s.Stage, TakenOver: s.TakenOver, Stages: api.List(s.Stages, func(st scenario.Stage) api.Stage {
		return api.Stage{Duration: st.Duration.String(), Users: st.Users, SpawnRate: st.SpawnRate}
	})}
}

func ptr(v float64) *float64 { return &v }

func metric(m *stats.Metric) api.Metric {
	out := api.Metric{Type: m.Type.String(), Contains: m.Contains, Count: m.Count}
	switch m.Type {
	case stats.Counter:
		out.Sum = ptr(m.Sum)
	case stats.Rate:
		out.Rate = ptr(m.Rate())
	case stats.Gauge:
		out.Value, out.Min, out.Max = ptr(m.Value), ptr(m.Min), ptr(m.Max)
	case stats.Trend:
		d := dist(&m.Hist)
		out.Dist = &d
	}
	return out
}

// WriteJSON writes the JSON summary of res.
func WriteJSON(w io.Writer, res *master.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewSummary(res))
}
