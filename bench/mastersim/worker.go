package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/worker"
)

// sent is one stats delta as its worker handed it to the session: when, and how many requests the
// worker had reported in total once it was merged.
type sent struct {
	At  time.Time
	Seq uint64
	Cum uint64
}

// simWorker speaks the worker protocol like internal/worker does, with the k6 child replaced by
// load.fill: Ready on Assign, PhaseResult for setup and teardown, Running on Start, a stats delta
// per second while running, Done once stopped, Finished (after the last delta) on Finish, and a
// heartbeat at the interval the master's Welcome asks for throughout. Every send but the heartbeat
// happens on one goroutine, so a run's last delta precedes its Finished status, as on a real worker.
type simWorker struct {
	idx    int
	id     string
	load   load
	names  []string
	dialer worker.Dialer
	log    *slog.Logger
	// onStart is called when the worker receives Start.
	onStart func(runID string, at time.Time)

	rng   *mrand.Rand
	delta stats.Delta // reused: Session.Send converts it before it returns
	// phase is when, after Start, the first delta goes. A k6 child flushes on its own ticker,
	// started with the child, so workers are out of phase with each other and with the master's
	// ticks. The phases are spread evenly over the second (at random within equal slots): with
	// a few workers, plain random phases would make the delay percentiles a matter of luck.
	phase time.Duration

	// Guarded by mu: read by the report once the worker is done.
	mu    sync.Mutex
	sends []sent
	seq   uint64
	cum   uint64

	// Owned by the run goroutine.
	sess       worker.Session
	beatEvery  time.Duration // the master's heartbeat interval, from its Welcome
	state      protocol.WorkerState
	users      int64
	runID      string
	lastCtl    uint64
	generating bool
	last       time.Time // end of the last delta

	finished chan struct{} // closed when a run has finished on this worker
	finOnce  sync.Once
}

// newSimWorker returns worker idx of a fleet of n.
func newSimWorker(idx, n int, l load, names []string, d worker.Dialer, seed uint64, log *slog.Logger, onStart func(string, time.Time)) *simWorker {
	var b [4]byte
	_, _ = rand.Read(b[:])
	id := fmt.Sprintf("mastersim-%d_%s", idx, hex.EncodeToString(b[:]))
	rng := mrand.New(mrand.NewPCG(seed, uint64(idx)))
	phase := time.Duration((float64(idx) + rng.Float64()) / float64(n) * float64(time.Second))
	return &simWorker{idx: idx, id: id, load: l, names: names, dialer: d, log: log.With("sim_worker", idx),
		onStart: onStart, rng: rng, phase: phase, state: protocol.Idle, finished: make(chan struct{})}
}

// connect dials the master and exchanges Hello and Welcome.
func (w *simWorker) connect(ctx context.Context) error {
	sess, wel, err := w.dialer.Dial(ctx, protocol.Hello{ProtocolMajor: protocol.Major, ProtocolMinor: protocol.Minor,
		WorkerID: w.id, Host: "mastersim", CPUs: 1, Version: "mastersim"})
	if err != nil {
		return fmt.Errorf("worker %d: %w", w.idx, err)
	}
	w.sess, w.beatEvery = sess, wel.Heartbeat
	if w.beatEvery <= 0 {
		w.beatEvery = time.Second
	}
	return nil
}

// run serves the session until ctx ends or the session breaks. A simulated worker does not
// reconnect: a broken session spoils the measurement, so it is an error.
func (w *simWorker) run(ctx context.Context) error {
	defer w.sess.Close()
	cmds := make(chan protocol.Command, 64)
	recvErr := make(chan error, 1)
	go func() {
		for {
			c, err := w.sess.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case cmds <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	beat := time.NewTicker(w.beatEvery)
	defer beat.Stop()
	var tick <-chan time.Time
	var ticker *time.Ticker
	var phase *time.Timer
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	var phaseC <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-recvErr:
			select {
			case <-w.finished:
				return nil // the run is over; a headless master exits after it
			default:
			}
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("worker %d: session with the master ended: %w", w.idx, err)
		case <-beat.C:
			if err := w.sess.Send(protocol.Heartbeat{State: w.state, Users: w.users}); err != nil {
				return fmt.Errorf("worker %d: %w", w.idx, err)
			}
		case now := <-phaseC:
			phaseC = nil
			w.flush(now)
			ticker = time.NewTicker(time.Second)
			tick = ticker.C
		case now := <-tick:
			w.flush(now)
		case c := <-cmds:
			switch w.handle(c) {
			case startLoad:
				w.generating, w.last = true, time.Now()
				phase = time.NewTimer(w.phase)
				phaseC = phase.C
			case stopLoad:
				if phase != nil {
					phase.Stop()
				}
				if ticker != nil {
					ticker.Stop()
				}
				phaseC, tick, ticker = nil, nil, nil
			}
		}
	}
}

type loadChange int

const (
	noChange loadChange = iota
	startLoad
	stopLoad
)

// handle answers one command as internal/worker would and says whether the load starts or stops.
func (w *simWorker) handle(c protocol.Command) loadChange {
	switch c := c.(type) {
	case protocol.MasterHeartbeat:
		return noChange
	case protocol.Assign:
		change := noChange
		if w.runID != "" && w.state != protocol.Finished {
			change = w.end(w.runID) // a new assignment abandons the old run
		}
		w.runID, w.lastCtl, w.users, w.state = c.Part.RunID, 0, 0, protocol.Ready
		w.status(protocol.Ready, "")
		return change
	}
	if worker.RunIDOf(c) != w.runID {
		w.log.Debug("ignoring a command for another run", "cmd", fmt.Sprintf("%T", c))
		return noChange
	}
	switch c := c.(type) {
	case protocol.RunSetup:
		w.send(protocol.PhaseResult{RunID: c.RunID, Phase: protocol.SetupPhase})
	case protocol.Start:
		if w.generating {
			return noChange
		}
		w.state = protocol.Running
		w.status(protocol.Running, "")
		if w.onStart != nil {
			w.onStart(c.RunID, time.Now())
		}
		return startLoad
	case protocol.Control:
		if c.Seq <= w.lastCtl {
			return noChange
		}
		w.lastCtl = c.Seq
		if !c.Stop {
			w.users = c.Users
			return noChange
		}
		if !w.generating {
			return noChange
		}
		// k6 lets the running iterations end, sends what is left, and the worker's poll sees the
		// test over: Done.
		w.flush(time.Now())
		w.generating, w.state, w.users = false, protocol.Done, 0
		w.status(protocol.Done, "")
		return stopLoad
	case protocol.RunTeardown:
		w.send(protocol.PhaseResult{RunID: c.RunID, Phase: protocol.TeardownPhase})
	case protocol.Finish:
		return w.end(c.RunID)
	}
	return noChange
}

// end finishes the run: the last delta, then Finished.
func (w *simWorker) end(runID string) loadChange {
	change := noChange
	if w.generating {
		w.flush(time.Now())
		w.generating = false
		change = stopLoad
	}
	w.state, w.users = protocol.Finished, 0
	w.status(protocol.Finished, "")
	w.finOnce.Do(func() { close(w.finished) })
	return change
}

// flush sends what the worker observed since the last delta, if anything, and records when.
func (w *simWorker) flush(now time.Time) {
	if !w.generating {
		return
	}
	w.delta.Reset()
	w.delta.Start = w.last
	n := w.load.fill(&w.delta, w.names, w.rng, now.Sub(w.last), now)
	w.last = now
	if n == 0 {
		return // like k6run: an empty interval sends nothing
	}
	w.delta.End = now
	w.mu.Lock()
	w.seq++
	w.cum += n
	s := sent{Seq: w.seq, Cum: w.cum}
	w.mu.Unlock()
	s.At = time.Now()
	if err := w.sess.Send(protocol.Stats{RunID: w.runID, Seq: s.Seq, Delta: &w.delta}); err != nil {
		w.log.Warn("cannot send a stats delta", "err", err)
		return
	}
	w.mu.Lock()
	w.sends = append(w.sends, s)
	w.mu.Unlock()
}

func (w *simWorker) status(s protocol.WorkerState, msg string) {
	w.mu.Lock()
	last := w.seq
	w.mu.Unlock()
	w.send(protocol.Status{RunID: w.runID, State: s, Error: msg, LastStatsSeq: last})
}

func (w *simWorker) send(ev protocol.Event) {
	if err := w.sess.Send(ev); err != nil && !errors.Is(err, context.Canceled) {
		w.log.Warn("cannot send to the master", "event", fmt.Sprintf("%T", ev), "err", err)
	}
}

// results returns the deltas sent so far.
func (w *simWorker) results() []sent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]sent(nil), w.sends...)
}
