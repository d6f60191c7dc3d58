package master

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// Options configure a Coordinator.
type Options struct {
	// Loader makes each run's k6 archive and validates it with k6, before any load.
	Loader Loader
	// WorkDir is where scripts are inspected; it must be writable.
	WorkDir string
	// WorkerTimeout is how long a worker may stay silent before the master drops it. Default
	// DefaultWorkerTimeout. Any message counts, and workers send a heartbeat every second on a
	// lane that stats never delay, so a live worker is never silent for long.
	WorkerTimeout time.Duration
	// Version is reported to workers.
	Version string
	// ScriptLog receives the scripts' log lines (console.log, exceptions) besides the master's own
	// record of the last LogLines (see Snapshot); nil passes them nowhere else. It is called on
	// the goroutine that calls Logs.
	ScriptLog func(worker int, l protocol.LogLine)
	// NameCap is the most (name, method) rows a run keeps before it folds further names into
	// OtherName. Default DefaultNameCap.
	NameCap int
	// BundleLimits bound the script bundle a run ships to the workers. Zero: scenario.DefaultLimits.
	BundleLimits scenario.Limits
	// InitTimeout bounds how long k6 may take to load a script (its init code) when the master
	// validates it before a run. Default DefaultInitTimeout.
	InitTimeout time.Duration
	// Fleet, if set, scales the worker pool for runs that ask for Workers; IdleWorkers is the count
	// it goes back to when a run ends (-1 leaves it as the run had it) and MaxWorkers the most a run
	// may ask for (default DefaultMaxWorkers).
	Fleet       Fleet
	IdleWorkers int
	MaxWorkers  int
	// Gauges, if set, is sampled once per second of a run; see recordGauges. cmd/master passes the
	// HPA watcher's values here (hpa_replicas{hpa:web} and the like). It is called on the
	// Coordinator's loop, so it must be quick and must not call the Coordinator.
	Gauges func() map[stats.GaugeKey]float64
	Logger *slog.Logger
	// MaxUsers bounds a run's users (VUs) fleet-wide, and MaxWorkerVUs one worker's share of them
	// (limits.go). Defaults DefaultMaxUsers and DefaultMaxWorkerVUs.
	MaxUsers     int64
	MaxWorkerVUs int64
}

// DefaultWorkerTimeout is ten missed heartbeats (internal/rpc asks for one a second). It is a
// backstop: a killed worker's connection breaks at once, and internal/rpc's transport keepalive
// closes a partitioned one within 2.5 s. A master that falls behind merging stats delays the
// heartbeats queued behind them, so a tight timeout here would drop a live fleet exactly when the
// master is busiest (docs/performance.md, the 200 x 1,000 shape).
const DefaultWorkerTimeout = 10 * time.Second

// DefaultInitTimeout is Options.InitTimeout's default: k6 loads a script in well under a second,
// and one that loads large data files in seconds; a minute means the init code does not end.
const DefaultInitTimeout = time.Minute

// Coordinator is the master's core: the worker registry, the current run and its aggregate, owned
// by one goroutine (loop.go). Its methods are safe for concurrent use: internal/rpc calls the
// worker-facing ones from each connection's goroutine, and they only hand the loop an event.
type Coordinator struct {
	opts Options
	log  *slog.Logger

	events chan event
	quit   context.Context // ends the loop (Close)
	close  context.CancelFunc
	exited chan struct{}

	// Owned by the loop.
	clock    *time.Ticker
	posted   []event   // events the loop raised itself, handled before the next from events
	starting *starting // a claimed run, for the loop to execute next
	workers  map[string]*workerRec
	run      *run
	logs     logRing
}

// workerRec is the master's record of one worker id; it outlives disconnections so that a
// reconnecting worker keeps its index and its stats are never merged twice.
type workerRec struct {
	id, host, version string
	minor             uint32 // the protocol minor version it speaks
	cpus              int
	allowHosts        []string
	index             int
	conn              WorkerConn // nil while disconnected
	joined, lastSeen  time.Time
	hb                protocol.Heartbeat
	mergedSeq         uint64 // highest stats seq merged, ever
}

// New returns a Coordinator.
func New(opts Options) (*Coordinator, error) {
	if opts.Loader == nil || opts.WorkDir == "" {
		return nil, errors.New("master: Options.Loader and Options.WorkDir are required")
	}
	if opts.WorkerTimeout <= 0 {
		opts.WorkerTimeout = DefaultWorkerTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxWorkers <= 0 {
		opts.MaxWorkers = DefaultMaxWorkers
	}
	if opts.InitTimeout <= 0 {
		opts.InitTimeout = DefaultInitTimeout
	}
	if opts.BundleLimits == (scenario.Limits{}) {
		opts.BundleLimits = scenario.DefaultLimits
	}
	if err := opts.BundleLimits.Validate(); err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	if opts.MaxUsers <= 0 {
		opts.MaxUsers = DefaultMaxUsers
	}
	if opts.MaxWorkerVUs <= 0 {
		opts.MaxWorkerVUs = DefaultMaxWorkerVUs
	}
	c := &Coordinator{opts: opts, log: opts.Logger, events: make(chan event, 256), exited: make(chan struct{}),
		clock: time.NewTicker(loopTick), workers: map[string]*workerRec{}}
	c.quit, c.close = context.WithCancel(context.Background())
	go c.loop()
	return c, nil
}

// Close ends the Coordinator's loop, at once when no run is executing, or else when the run has
// ended (stop it and WaitIdle first). Its methods do nothing after that, and return zero values.
func (c *Coordinator) Close() { c.close() }

// Join registers a worker that said Hello. A worker with another protocol major version is refused.
func (c *Coordinator) Join(h protocol.Hello, conn WorkerConn) (protocol.Welcome, error) {
	if h.ProtocolMajor != protocol.Major {
		return protocol.Welcome{}, fmt.Errorf("%w: worker %s speaks protocol %d.%d, this master speaks %d.%d; run matching versions of stampede-master and stampede-worker",
			ErrProtocolVersion, h.WorkerID, h.ProtocolMajor, h.ProtocolMinor, protocol.Major, protocol.Minor)
	}
	if h.WorkerID == "" {
		return protocol.Welcome{}, errors.New("worker id is empty")
	}
	reply := make(chan joinReply, 1)
	r, ok := ask(c, joined{hello: h, conn: conn, reply: reply}, reply)
	if !ok {
		return protocol.Welcome{}, errShuttingDown
	}
	return r.welcome, r.err
}

// Leave records that a worker's connection ended.
func (c *Coordinator) Leave(workerID string, conn WorkerConn, err error) {
	c.post(left{id: workerID, conn: conn, err: err})
}

// Heartbeat records a worker's heartbeat.
func (c *Coordinator) Heartbeat(workerID string, hb protocol.Heartbeat) {
	c.post(beat{id: workerID, hb: hb})
}

// Stats merges a worker's stats delta unless it was merged before (a resend after a reconnect).
func (c *Coordinator) Stats(workerID, runID string, seq uint64, d *stats.Delta) {
	c.post(statsArrived{id: workerID, runID: runID, seq: seq, delta: d})
}

// Status records a worker's report on its part of the run.
func (c *Coordinator) Status(workerID string, s protocol.Status) {
	c.post(statusChanged{id: workerID, status: s})
}

// PhaseResult records the outcome of setup() or teardown().
func (c *Coordinator) PhaseResult(workerID string, r protocol.PhaseResult) {
	c.post(phaseDone{id: workerID, result: r})
}

// Logs passes a worker's script log lines on. Lines over the worker's rate limit never arrive: the
// worker sends a marker line in their place ("N log lines dropped (limit R/s)"), passed on like the rest.
// Options.ScriptLog gets them on the caller's goroutine: writing a log is no work for the loop.
func (c *Coordinator) Logs(workerID string, lines []protocol.LogLine) {
	reply := make(chan int, 1)
	idx, ok := ask(c, logged{id: workerID, lines: lines, reply: reply}, reply)
	if !ok || c.opts.ScriptLog == nil {
		return
	}
	for _, l := range lines {
		c.opts.ScriptLog(idx, l)
	}
}

// join registers a worker on the loop.
func (c *Coordinator) join(h protocol.Hello, conn WorkerConn) (protocol.Welcome, error) {
	now := time.Now()
	w := c.workers[h.WorkerID]
	if w == nil {
		w = &workerRec{id: h.WorkerID, index: -1}
		c.workers[h.WorkerID] = w
	}
	if w.conn != nil && w.conn != conn {
		// A stale connection of the same worker: its Leave will be ignored, and the worker dropped
		// its part of any run with that session.
		c.disconnect(w, "replaced by a new connection", nil)
	}
	w.host, w.version, w.cpus, w.allowHosts, w.minor = h.Host, h.Version, h.CPUs, h.AllowHosts, h.ProtocolMinor
	w.conn, w.joined, w.lastSeen = conn, now, now
	w.hb = protocol.Heartbeat{State: protocol.Idle}
	if r := c.activeRun(); r != nil {
		r.rejoined(w.id, now)
	}
	if w.index < 0 || c.indexTaken(w) {
		w.index = c.freeIndex()
	}
	c.log.Info("worker connected", "index", w.index, "id", w.id, "host", w.host, "cpus", w.cpus,
		"allow_hosts", strings.Join(w.allowHosts, ","))
	return protocol.Welcome{Index: w.index, AckStatsSeq: w.mergedSeq}, nil
}

func (c *Coordinator) indexTaken(self *workerRec) bool {
	for _, w := range c.workers {
		if w != self && w.conn != nil && w.index == self.index {
			return true
		}
	}
	return false
}

// freeIndex is the lowest index no connected worker holds, so restarted pods reuse indexes.
func (c *Coordinator) freeIndex() int {
	used := map[int]bool{}
	for _, w := range c.workers {
		if w.conn != nil && w.index >= 0 {
			used[w.index] = true
		}
	}
	i := 0
	for used[i] {
		i++
	}
	return i
}

// leave: a connection ended, or took no more messages.
func (c *Coordinator) leave(workerID string, conn WorkerConn, err error) {
	w := c.workers[workerID]
	if w == nil || w.conn != conn {
		return // an older connection of a worker that already reconnected, or already dropped
	}
	c.disconnect(w, "connection ended", err)
}

// disconnect is the one way a worker's connection goes: it is closed, the worker leaves any active
// run (its load stopped with the session).
func (c *Coordinator) disconnect(w *workerRec, why string, err error) {
	w.conn.Close()
	w.conn = nil
	if r := c.activeRun(); r != nil {
		c.log.Warn("worker disconnected during a run", "index", w.index, "id", w.id, "why", why, "err", err)
		if err != nil {
			why += ": " + err.Error()
		}
		r.workerGone(w, why)
	} else {
		c.log.Info("worker disconnected", "index", w.index, "id", w.id, "why", why)
	}
}

// activeRun is the run in progress, or nil.
func (c *Coordinator) activeRun() *run {
	if c.run != nil && c.run.state != Stopped {
		return c.run
	}
	return nil
}

func (c *Coordinator) heartbeat(workerID string, hb protocol.Heartbeat) {
	if w := c.workers[workerID]; w != nil {
		w.lastSeen, w.hb = time.Now(), hb
	}
}

func (c *Coordinator) merge(e statsArrived) {
	w := c.workers[e.id]
	if w == nil {
		return
	}
	w.lastSeen = time.Now()
	if e.seq <= w.mergedSeq {
		return
	}
	w.mergedSeq = e.seq
	if r := c.run; r != nil && r.id == e.runID && !r.final {
		r.merge(w, e.delta)
		if len(r.losses) > 0 {
			r.lateStats(w, e.seq, e.delta.Requests())
		}
	}
}

func (c *Coordinator) status(workerID string, s protocol.Status) {
	w := c.workers[workerID]
	r := c.run
	if w == nil || r == nil || r.id != s.RunID {
		return
	}
	if r.finalStatus(w, s) {
		c.log.Info("a worker that was cut off reported the end of its stopped load", "index", w.index, "last_stats_seq", s.LastStatsSeq)
		return
	}
	r.newsFrom(w.id)
	r.status(w, s)
}

func (c *Coordinator) phase(p protocol.PhaseResult) {
	if r := c.run; r != nil && r.id == p.RunID {
		r.phase(p)
	}
}

// logLines keeps a worker's script log lines and returns its index (-1: unknown).
func (c *Coordinator) logLines(workerID string, lines []protocol.LogLine) int {
	idx := -1
	if w := c.workers[workerID]; w != nil {
		idx = w.index
	}
	for _, l := range lines {
		c.logs.add(LogEntry{Time: l.Time, Worker: idx, Level: l.Level, Source: l.Source, Message: l.Message})
	}
	return idx
}

// WorkerInfo describes a worker for reports and the UI.
type WorkerInfo struct {
	Index      int
	ID         string
	Host       string
	CPUs       int
	Connected  bool
	State      string
	Users      int64
	CPUPercent float64
	Memory     uint64
	LastSeen   time.Time
	// AllowHosts is the worker's --allow-hosts (docs/limits.md); empty: it may reach any target.
	AllowHosts []string
}

// Workers lists the connected workers by index.
func (c *Coordinator) Workers() []WorkerInfo {
	var out []WorkerInfo
	c.do(func() { out = c.workerInfos() })
	return out
}

func (c *Coordinator) workerInfos() []WorkerInfo {
	var out []WorkerInfo
	for _, w := range c.workers {
		if w.conn == nil {
			continue
		}
		out = append(out, WorkerInfo{Index: w.index, ID: w.id, Host: w.host, CPUs: w.cpus, Connected: true,
			State: w.hb.State.String(), Users: w.hb.Users, CPUPercent: w.hb.CPUPercent, Memory: w.hb.Memory, LastSeen: w.lastSeen,
			AllowHosts: w.allowHosts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// connected returns the connected workers by index.
func (c *Coordinator) connected() []*workerRec {
	var out []*workerRec
	for _, w := range c.workers {
		if w.conn != nil {
			out = append(out, w)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].index < out[j].index })
	return out
}

// AckSeq is the highest stats sequence number of the worker that the master has merged.
func (c *Coordinator) AckSeq(workerID string) (seq uint64) {
	c.do(func() {
		if w := c.workers[workerID]; w != nil {
			seq = w.mergedSeq
		}
	})
	return seq
}
