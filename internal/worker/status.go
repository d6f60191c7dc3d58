package worker

import (
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
)

// Snapshot is what a worker can tell about itself at one moment: enough for health probes and
// metrics.
type Snapshot struct {
	ID      string
	Version string
	// Connected says a session with a master is open; Index is the master's number for this
	// worker in it (-1 before the first session; kept after a session ends).
	Connected bool
	Index     int
	// State is the current run's state as heartbeats report it (protocol.Idle without a run).
	State protocol.WorkerState
	// Users is how many users (k6 VUs) the current run's child reports running.
	Users int64
	// Runs counts the assignments taken and Sessions the sessions opened since the worker started.
	Runs, Sessions uint64
	// PendingStats is how many stats deltas wait for the master's acknowledgement; DroppedStats
	// counts those given up because the outbox was full.
	PendingStats int
	DroppedStats uint64
	// DroppedLogs counts script log lines the rate limit (Options.LogRate) dropped.
	DroppedLogs uint64
	// LastLoop is when Run's loop last made progress: a turn of the reconnect loop, a heartbeat
	// tick or a message from the master, so at least every few seconds while Run is healthy. Zero
	// until Run starts.
	LastLoop time.Time
}

// Snapshot reports on the worker now. It is safe to call concurrently with Run, and cheap: it
// takes the worker's locks briefly and never waits for the network or the k6 child.
func (w *Worker) Snapshot() Snapshot {
	w.mu.Lock()
	s := Snapshot{ID: w.id, Version: w.opts.Version, Connected: w.sess != nil, Index: w.index, State: protocol.Idle,
		Runs: w.runs, Sessions: w.sessions, PendingStats: len(w.out.items), DroppedStats: w.out.dropped}
	r := w.run
	w.mu.Unlock()
	if r != nil {
		s.State, s.Users = r.snapshot()
	}
	s.DroppedLogs = w.logsDropped.Load()
	if t := w.lastLoop.Load(); t != nil {
		s.LastLoop = *t
	}
	return s
}

// tick records that Run's loop made progress.
func (w *Worker) tick() {
	now := time.Now()
	w.lastLoop.Store(&now)
}
