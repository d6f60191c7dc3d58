package api

import "time"

// SchemaVersion names the JSON summary's layout; it changes only when a field changes meaning or goes away.
const SchemaVersion = "stampede.summary/v1"

// Summary is the JSON summary (--summary-json and GET /api/v1/reports/summary.json).
type Summary struct {
	Schema          string    `json:"schema"`
	RunID           string    `json:"run_id"`
	Mode            string    `json:"mode"`
	Script          string    `json:"script"`
	Engine          string    `json:"engine"` // k6 or native
	Started         time.Time `json:"started"`
	Ended           time.Time `json:"ended"`
	DurationSeconds float64   `json:"duration_seconds"`
	Outcome         Outcome   `json:"outcome"`
	Users           int64     `json:"users,omitempty"`
	SpawnRate       float64   `json:"spawn_rate,omitempty"`
	// Classes are the run's user classes with the users asked of each at the end, and Shape its
	// load shape and the stage it got to; absent when the run had none.
	Classes    []UserClass       `json:"classes,omitempty"`
	Shape      *Shape            `json:"shape,omitempty"`
	Thresholds []ThresholdResult `json:"thresholds"`
	Totals     Stat              `json:"totals"`
	Requests   []Stat            `json:"requests"`
	Errors     []Error           `json:"errors"`
	Checks     []Check           `json:"checks"`
	Metrics    map[string]Metric `json:"metrics"`
	Workers    []WorkerResult    `json:"workers"`
	Series     []Point           `json:"series"`
}

// Outcome says how the run ended.
type Outcome struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Notes say what a reader of a sound result should know, e.g. a worker cut off mid-run whose
	// stats all arrived late.
	Notes []string `json:"notes,omitempty"`
}

// ThresholdResult is one threshold judged on the fleet's merged data.
type ThresholdResult struct {
	Metric   string  `json:"metric"`   // the selector as written in the script, "http_req_duration{name:login}"
	Source   string  `json:"source"`   // the expression, "p(95)<300"
	Observed float64 `json:"observed"` // the aggregate's value, e.g. the p95 in ms
	HasData  bool    `json:"has_data"` // false: the metric had no samples (Observed is 0)
	OK       bool    `json:"ok"`
	// AbortOnFail thresholds stop the run when they fail; Aborted says this one did.
	AbortOnFail bool `json:"abort_on_fail"`
	Aborted     bool `json:"aborted"`
	// Error says why a threshold failed beyond its number: an aggregation the metric's type does
	// not have, or how far a baseline budget was overrun.
	Error string `json:"error,omitempty"`
}

// WorkerResult is one worker's part in a run.
type WorkerResult struct {
	Index    int    `json:"index"`
	ID       string `json:"id"`
	Host     string `json:"host"`
	Requests uint64 `json:"requests"`
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error,omitempty"`
	Lost     bool   `json:"lost"`
	// Segment is the worker's execution segment (script mode), e.g. "1/2:1".
	Segment string `json:"segment,omitempty"`
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
