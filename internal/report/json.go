package report

import (
	"encoding/json"
	"io"
	"sort"
	"time"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
)

// SchemaVersion names the JSON summary's layout; it changes only when a field changes meaning or goes away.
const SchemaVersion = "stampede.summary/v1"

// Summary is the JSON summary (--summary-json), documented in docs/summary-json.md.
type Summary struct {
	Schema          string                   `json:"schema"`
	RunID           string                   `json:"run_id"`
	Mode            string                   `json:"mode"`
	Script          string                   `json:"script"`
	Started         time.Time                `json:"started"`
	Ended           time.Time                `json:"ended"`
	DurationSeconds float64                  `json:"duration_seconds"`
	Outcome         Outcome                  `json:"outcome"`
	Users           int64                    `json:"users,omitempty"`
	SpawnRate       float64                  `json:"spawn_rate,omitempty"`
	Thresholds      []master.ThresholdResult `json:"thresholds"`
	Totals          Stat                     `json:"totals"`
	Requests        []Stat                   `json:"requests"`
	Errors          []Error                  `json:"errors"`
	Checks          []Check                  `json:"checks"`
	Metrics         map[string]Metric        `json:"metrics"`
	Workers         []master.WorkerResult    `json:"workers"`
	Series          []Point                  `json:"series"`
}

// Outcome says how the run ended.
type Outcome struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Notes say what a reader of a sound result should know, e.g. a worker cut off mid-run whose
	// stats all arrived late.
	Notes []string `json:"notes,omitempty"`
}

// Stat is one row of the request table.
type Stat struct {
	Name         string            `json:"name,omitempty"`
	Method       string            `json:"method,omitempty"`
	Requests     uint64            `json:"requests"`
	Failures     uint64            `json:"failures"`
	FailureRate  float64           `json:"failure_rate"`
	RequestsPerS float64           `json:"requests_per_second"`
	DurationMs   Distribution      `json:"duration_ms"`
	Statuses     map[string]uint64 `json:"statuses,omitempty"`
	// AvgSizeBytes is bytes received per request, headers included, as read from the network. On
	// the totals it is k6's data_received over every request. On a row it is over the row's sized
	// requests: those made by iterations whose requests all fell under the row (k6 counts bytes per
	// iteration, not per request; see internal/k6run). Absent when no request of the row was sized.
	AvgSizeBytes *float64 `json:"avg_size_bytes,omitempty"`
}

// Distribution summarises a histogram; percentiles are within 1% of the exact values.
type Distribution struct {
	Min  float64 `json:"min"`
	Avg  float64 `json:"avg"`
	Med  float64 `json:"med"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// Error is one group of failures.
type Error struct {
	Name   string `json:"name"`
	Method string `json:"method"`
	Error  string `json:"error"`
	Count  uint64 `json:"count"`
}

// Check is one k6 check over the fleet.
type Check struct {
	Group  string  `json:"group"`
	Name   string  `json:"name"`
	Passes uint64  `json:"passes"`
	Fails  uint64  `json:"fails"`
	Rate   float64 `json:"rate"`
}

// Metric is one k6 metric (builtin or custom) over the fleet. Fields depend on the type.
type Metric struct {
	Type     string        `json:"type"`
	Contains string        `json:"contains"`
	Count    uint64        `json:"count"`
	Sum      *float64      `json:"sum,omitempty"`
	Rate     *float64      `json:"rate,omitempty"`
	Value    *float64      `json:"value,omitempty"`
	Min      *float64      `json:"min,omitempty"`
	Max      *float64      `json:"max,omitempty"`
	Dist     *Distribution `json:"distribution,omitempty"`
}

// Point is one second of the run.
type Point struct {
	Time     int64              `json:"time"`
	Requests uint64             `json:"requests"`
	Failures uint64             `json:"failures"`
	P50      float64            `json:"p50_ms"`
	P95      float64            `json:"p95_ms"`
	P99      float64            `json:"p99_ms"`
	Users    int64              `json:"users"`
	Workers  int                `json:"workers"`
	Extra    map[string]float64 `json:"extra,omitempty"`
}

func dist(h *stats.Histogram) Distribution {
	if h.Count == 0 {
		return Distribution{}
	}
	q := h.Quantiles(quantiles...)
	return Distribution{Min: h.Min, Avg: h.Mean(), Med: q[0], P90: q[1], P95: q[2], P99: q[3], P999: q[4], Max: h.Max}
}

func stat(name, method string, e *stats.Entry, secs float64) Stat {
	s := Stat{Name: name, Method: method, Requests: e.Requests, Failures: e.Failures, DurationMs: dist(&e.Duration)}
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
func Tables(agg *stats.Aggregate, secs float64) (totals Stat, rows []Stat, errs []Error, checks []Check) {
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
	rows, errs, checks = []Stat{}, []Error{}, []Check{}
	for _, ne := range agg.ByName() {
		e := ne.Entry
		st := stat(ne.Name, ne.Method, &e, secs)
		st.Statuses = statuses[[2]string{ne.Name, ne.Method}]
		rows = append(rows, st)
	}
	for _, e := range sortedErrors(agg) {
		errs = append(errs, Error{Name: e.Name, Method: e.Method, Error: e.Error, Count: e.Count})
	}
	for _, c := range sortedChecks(agg) {
		checks = append(checks, Check(c))
	}
	return totals, rows, errs, checks
}

// NewSummary builds the JSON summary of a result.
func NewSummary(res *master.Result) *Summary {
	secs := res.Duration().Seconds()
	agg := res.Aggregate
	s := &Summary{Schema: SchemaVersion, RunID: res.RunID, Mode: res.Mode.String(), Script: res.Script,
		Started: res.Started, Ended: res.Ended, DurationSeconds: secs, Users: res.Users, SpawnRate: res.SpawnRate,
		Outcome: Outcome{OK: res.Err == nil, Notes: res.Notes}, Requests: []Stat{}, Errors: []Error{}, Checks: []Check{},
		Metrics: map[string]Metric{}, Workers: res.Workers, Series: []Point{},
		Thresholds: append([]master.ThresholdResult{}, res.Thresholds...)}
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
func Points(ps []stats.Point) []Point {
	out := make([]Point, 0, len(ps))
	for _, p := range ps {
		out = append(out, Point{Time: p.Time, Requests: p.Requests, Failures: p.Failures,
			P50: p.P50, P95: p.P95, P99: p.P99, Users: p.Users, Workers: p.Workers, Extra: p.Extra})
	}
	return out
}

func ptr(v float64) *float64 { return &v }

func metric(m *stats.Metric) Metric {
	out := Metric{Type: m.Type.String(), Contains: m.Contains, Count: m.Count}
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
