package master

import (
	"maps"
	"slices"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// Snapshot is a copy of what the master knows at one moment: the connected workers and the current
// (or last) run with its statistics so far. It shares nothing with the Coordinator, so it is safe to
// read without locks; the web UI, the REST API and /metrics read it.
type Snapshot struct {
	Time    time.Time
	Workers []WorkerInfo // connected, by index
	// Run is nil before the first run; the fields below are empty then.
	Run *RunInfo
	// Stats is the run's aggregate so far (since the last stats reset), with request names over
	// the cap folded into OtherName.
	Stats *stats.Aggregate
	// Points are the closed seconds of the run's time series, oldest first.
	Points []stats.Point
	// Current is requests and failures per second of each name over the last closed seconds
	// (Locust's "current RPS"), keyed like the request table.
	Current map[NameMethod]Current
	// Logs are the most recent script log lines, oldest first (at most LogLines).
	Logs []LogEntry
	// Fleet is the worker pool the master scales (nil: it scales none).
	Fleet *FleetStatus
	// Gauges are Options.Gauges' values now, between runs too (nil without Options.Gauges).
	Gauges map[stats.GaugeKey]float64
}

// RunInfo describes the current or last run.
type RunInfo struct {
	ID     string
	State  State
	Mode   scenario.Mode
	Script string
	Engine string // EngineK6 or EngineNative; empty until the file has been read
	// Users and SpawnRate are what is asked for now (Swarm): changed live by Update.
	Users     int64
	SpawnRate float64
	RunTime   time.Duration
	Env       map[string]string
	Started   time.Time // zero until the load starts
	Ended     time.Time // zero while it runs
	// UsersRunning is what the workers report running.
	UsersRunning int64
	// Err is how the run ended (empty: as planned, or not yet ended).
	Err string
	// Workers are the workers taking part, with their totals.
	Workers []WorkerResult
	// NameCap is the most distinct (name, method) rows a run keeps; NamesFolded counts the
	// further ones whose requests went to the OtherName row.
	NameCap     int
	NamesFolded int
	// StatsReset is when the statistics were last reset (zero: never, they cover the whole run).
	StatsReset time.Time
	// Thresholds are the latest verdicts (judged every second while the load runs, and at the end).
	Thresholds []ThresholdResult
	// WorkersAsked is RunConfig.Workers: the workers the fleet was scaled to for the run (0: none).
	WorkersAsked int
	// Shape is the load shape driving the run (nil: none).
	Shape *ShapeInfo
	// Classes are the user classes the run runs (nil: none), and Tags and ExcludeTags the tags
	// that chose them (RunConfig's).
	Classes           []ClassInfo
	Tags, ExcludeTags []string
}

// ClassInfo is one user class of a run.
type ClassInfo struct {
	Name   string
	Weight int64 // the run's (RunConfig.ClassWeights, else the script's)
	Tags   []string
	// Users is what the workers taking part are asked to run of this class now: the fleet's users
	// split by the weights, with largest remainders.
	Users int64
}

// ShapeInfo is where a run's load shape stands.
type ShapeInfo struct {
	Stages scenario.Shape
	// Stage is the stage playing (0-based; -1 before the load starts, len(Stages) once ended).
	Stage int
	// TakenOver: a live change stopped the shape; the run goes on at what was asked.
	TakenOver bool
}

// Elapsed is how long the load has run (so far).
func (r *RunInfo) Elapsed(now time.Time) time.Duration {
	switch {
	case r.Started.IsZero():
		return 0
	case !r.Ended.IsZero():
		return r.Ended.Sub(r.Started)
	}
	return now.Sub(r.Started)
}

// NameMethod identifies a row of the request table.
type NameMethod struct{ Name, Method string }

// Current is a row's recent rate.
type Current struct {
	RPS, FailuresPerSecond float64
}

// LogEntry is a script log line as the master keeps it. Seq increases by one per line, so a reader
// can ask for what is new.
type LogEntry struct {
	Seq     uint64
	Time    time.Time
	Worker  int
	Level   string
	Source  string
	Message string
}

// OtherName is the request name that names over the run's cap are folded into.
const OtherName = "(other)"

// LogLines is how many script log lines the master keeps for the UI.
const LogLines = 500

// currentWindow is how many closed seconds Current averages over (Locust uses 10).
const currentWindow = 10

// Snapshot copies the master's state. The copy costs about as much as one merge of every row.
func (c *Coordinator) Snapshot() *Snapshot {
	s := &Snapshot{Time: time.Now()}
	c.do(func() { s = c.snapshot() })
	return s
}

func (c *Coordinator) snapshot() *Snapshot {
	s := &Snapshot{Time: time.Now(), Workers: c.workerInfos(), Logs: c.logs.list(), Fleet: c.fleetStatus()}
	if c.opts.Gauges != nil {
		s.Gauges = maps.Clone(c.opts.Gauges())
	}
	r := c.run
	if r == nil {
		return s
	}
	info := &RunInfo{ID: r.id, State: r.state, Mode: r.mode, Script: r.cfg.Script, Engine: r.engine, Users: r.target,
		SpawnRate: r.rate, RunTime: r.cfg.RunTime, Env: maps.Clone(r.cfg.Env), Started: r.started, Ended: r.ended,
		NameCap: r.names.max, NamesFolded: r.names.folded, StatsReset: r.statsReset, WorkersAsked: r.cfg.Workers}
	if r.state == Stopped && r.err != nil {
		info.Err = r.err.Error()
	}
	s.Current = map[NameMethod]Current{}
	if r.state != Stopped { // a stopped run runs nobody and sends nothing, whatever the last heartbeats said
		for _, m := range r.live() {
			info.UsersRunning += m.w.hb.Users
		}
		s.Current = r.rates.current()
	}
	info.Workers = r.workerResults()
	if r.judge != nil {
		info.Thresholds = r.judge.results()
	}
	info.Shape = r.shapeInfo()
	info.Classes = r.classInfos()
	info.Tags, info.ExcludeTags = slices.Clone(r.cfg.Tags), slices.Clone(r.cfg.ExcludeTags)
	s.Run = info
	s.Stats = r.agg.Clone()
	s.Points = append([]stats.Point(nil), r.points...)
	return s
}

// logRing keeps the last LogLines script log lines.
type logRing struct {
	lines []LogEntry // oldest first
	seq   uint64
}

func (l *logRing) add(e LogEntry) {
	l.seq++
	e.Seq = l.seq
	if len(l.lines) == LogLines {
		copy(l.lines, l.lines[1:])
		l.lines = l.lines[:LogLines-1]
	}
	l.lines = append(l.lines, e)
}

func (l *logRing) list() []LogEntry { return append([]LogEntry(nil), l.lines...) }

// rateWindow keeps each row's cumulative counts at the last closed seconds, to tell the recent rate.
type rateWindow struct {
	marks []map[NameMethod][2]uint64 // oldest first, at most currentWindow+1
}

// mark records the counts at the end of a closed second.
func (w *rateWindow) mark(agg *stats.Aggregate) {
	m := make(map[NameMethod][2]uint64, len(agg.Entries))
	for k, e := range agg.Entries {
		nm := NameMethod{k.Name, k.Method}
		v := m[nm]
		m[nm] = [2]uint64{v[0] + e.Requests, v[1] + e.Failures}
	}
	if len(w.marks) == currentWindow+1 {
		w.marks = w.marks[1:]
	}
	w.marks = append(w.marks, m)
}

func (w *rateWindow) current() map[NameMethod]Current {
	out := map[NameMethod]Current{}
	n := len(w.marks)
	if n < 2 {
		return out
	}
	first, last := w.marks[0], w.marks[n-1]
	secs := float64(n - 1)
	for nm, v := range last {
		old := first[nm]
		if v[0] < old[0] || v[1] < old[1] {
			continue // counts went back: a reset; the next marks will tell
		}
		out[nm] = Current{RPS: float64(v[0]-old[0]) / secs, FailuresPerSecond: float64(v[1]-old[1]) / secs}
	}
	return out
}

func (w *rateWindow) reset() { w.marks = nil }
