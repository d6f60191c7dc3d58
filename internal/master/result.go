package master

import (
	"encoding/json"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// Result is everything a finished run produced. It is a copy: safe to read without locks.
type Result struct {
	RunID     string
	Mode      scenario.Mode
	Script    string
	Engine    string // EngineK6 or EngineNative; empty when the file was never read
	Users     int64
	SpawnRate float64
	Started   time.Time
	Ended     time.Time
	Aggregate *stats.Aggregate
	Points    []stats.Point
	Workers   []WorkerResult
	// Thresholds are the verdicts on the run's thresholds (the script's and --threshold's), in
	// the order they were declared.
	Thresholds []ThresholdResult
	// Classes are the run's user classes with the users asked of each at the end (nil: none); Shape
	// is where its load shape got to (nil: none). As in RunInfo.
	Classes []ClassInfo
	Shape   *ShapeInfo
	// Err is how the run ended (nil: as planned).
	Err error
	// Notes are things the reader of a sound result should know: a worker cut off mid-run whose
	// stats all arrived, late.
	Notes []string
	// Archive is the run's k6 archive (nil if the script never got that far); SetupData what the
	// script's setup() returned (nil: no setup, or it returned nothing).
	Archive   *scenario.Archive
	SetupData json.RawMessage
}

// ThresholdResult is one threshold judged on the fleet's merged data.
type ThresholdResult struct {
	Metric   string  // the selector as written in the script, "http_req_duration{name:login}"
	Source   string  // the expression, "p(95)<300"
	Observed float64 // the aggregate's value, e.g. the p95 in ms
	HasData  bool    // false: the metric had no samples (Observed is 0)
	OK       bool
	// AbortOnFail thresholds stop the run when they fail; Aborted says this one did.
	AbortOnFail bool
	Aborted     bool
	// Error says why a threshold failed beyond its number: an aggregation the metric's type does
	// not have, or how far a baseline budget was overrun.
	Error string
}

// WorkerResult is one worker's part in a run.
type WorkerResult struct {
	Index    int
	ID       string
	Host     string
	Requests uint64
	ExitCode int
	Error    string
	Lost     bool
	// Segment is the worker's execution segment (script mode), e.g. "1/2:1".
	Segment string
}

// Duration is how long the load ran.
func (r *Result) Duration() time.Duration {
	if r.Started.IsZero() || r.Ended.Before(r.Started) {
		return 0
	}
	return r.Ended.Sub(r.Started)
}

// result snapshots the run. The aggregate is handed over: the run is over and nothing merges into it.
func (c *Coordinator) result(r *run, err error) *Result {
	if r.ended.IsZero() {
		r.ended = time.Now()
	}
	res := &Result{RunID: r.id, Mode: r.mode, Script: r.cfg.Script, Engine: r.engine, Users: r.cfg.Users, SpawnRate: r.cfg.SpawnRate,
		Started: r.started, Ended: r.ended, Aggregate: &r.agg, Points: append([]stats.Point(nil), r.points...), Err: err,
		Workers: r.workerResults(), Notes: r.notes(), Archive: r.archive, SetupData: r.data}
	if r.judge != nil {
		res.Thresholds = r.judge.results()
	}
	res.Classes, res.Shape = r.classInfos(), r.shapeInfo()
	r.final = true // later stats for this run are dropped: the result is what was reported
	return res
}

// Progress is a live view of the current run for progress lines and the UI.
type Progress struct {
	RunID    string
	State    State
	Mode     scenario.Mode
	Elapsed  time.Duration
	Users    int64 // reported by the workers
	Target   int64 // asked for (Swarm)
	Workers  int
	Requests uint64
	Failures uint64
	RPS      float64 // requests in the last closed second
	P95      float64 // ms, over the whole run so far
}

// Progress reports on the current run, or the idle state.
func (c *Coordinator) Progress() Progress {
	p := Progress{State: Idle}
	c.do(func() { p = c.progress() })
	return p
}

func (c *Coordinator) progress() Progress {
	p := Progress{State: Idle, Workers: len(c.connected())}
	r := c.run
	if r == nil {
		return p
	}
	p.RunID, p.State, p.Mode, p.Target = r.id, r.state, r.mode, r.target
	if !r.started.IsZero() {
		end := time.Now()
		if !r.ended.IsZero() {
			end = r.ended
		}
		p.Elapsed = end.Sub(r.started)
	}
	for _, m := range r.live() {
		p.Users += m.w.hb.Users
	}
	tot := r.agg.Total()
	p.Requests, p.Failures = tot.Requests, tot.Failures
	p.P95 = tot.Duration.Quantile(0.95)
	if n := len(r.points); n > 0 {
		p.RPS = float64(r.points[n-1].Requests)
	}
	return p
}
