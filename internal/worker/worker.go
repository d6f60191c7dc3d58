package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stampede-load/stampede/internal/allowlist"
	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/internal/protocol"
)

// Options configure a Worker.
type Options struct {
	// Host names this machine (or pod) to the master.
	Host string
	// CPUs is reported to the master.
	CPUs int
	// Version of the binary, reported to the master.
	Version string
	// Exe is the binary to run k6 children with (its "k6" subcommand calls k6run.Exec).
	Exe string
	// Dir holds each run's private directory; it must be writable.
	Dir string
	// MasterTimeout is how long the worker goes without hearing from its master before it stops its
	// load and reconnects. Default 6s.
	MasterTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the exponential reconnect backoff. Defaults 200ms and 5s.
	ReconnectMin, ReconnectMax time.Duration
	// LogRate is how many script log lines per second reach the master; the rest are counted and
	// replaced by a marker line. Default DefaultLogRate.
	LogRate int
	// Allow limits where k6 may send requests (see package allowlist; hostnames are resolved at the
	// start of each run); nil allows everything.
	Allow *allowlist.List
	// Launch starts a k6 child; nil means k6run.Start. Tests replace it.
	Launch func(context.Context, k6run.RunOptions) (Child, error)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Worker connects to a master and runs what it is assigned.
type Worker struct {
	opts Options
	log  *slog.Logger
	id   string

	sendMu sync.Mutex // orders sends: resent deltas before new ones
	mu     sync.Mutex // guards the fields below
	sess   Session
	out    outbox
	run    *run
	index  int
	cpu    cpuSampler
	// runs and sessions count assignments taken and sessions opened (see Snapshot).
	runs, sessions uint64

	// lastLoop is when Run's loop last made progress (see Snapshot); a time.Time rather than Unix
	// nanoseconds so it keeps its monotonic reading and wall clock steps do not age it.
	lastLoop atomic.Pointer[time.Time]
	// logsDropped counts script log lines the rate limit dropped (see logSink).
	logsDropped atomic.Uint64
	// closing is set once Run's context ended: the worker takes no new run while it flushes.
	closing atomic.Bool
	// final is a run's Finished status that no session took (guarded by sendMu): it is sent on the
	// next session, after the resent deltas, so the master learns that the run's stats are whole.
	final *protocol.Status
}

// DefaultLogRate is Options.LogRate's default: script log lines per second and worker.
const DefaultLogRate = 100

// New validates opts and returns a Worker with a fresh id (host_random, as Locust names workers).
func New(opts Options) (*Worker, error) {
	if opts.Exe == "" {
		return nil, errors.New("worker: no k6 binary (Options.Exe)")
	}
	if opts.Dir == "" {
		return nil, errors.New("worker: no run directory (Options.Dir)")
	}
	if opts.MasterTimeout <= 0 {
		opts.MasterTimeout = 6 * time.Second
	}
	if opts.ReconnectMin <= 0 {
		opts.ReconnectMin = 200 * time.Millisecond
	}
	if opts.ReconnectMax < opts.ReconnectMin {
		opts.ReconnectMax = 5 * time.Second
	}
	if opts.LogRate <= 0 {
		opts.LogRate = DefaultLogRate
	}
	if opts.Launch == nil {
		opts.Launch = func(ctx context.Context, ro k6run.RunOptions) (Child, error) { return k6run.Start(ctx, ro) }
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	id := opts.Host + "_" + hex.EncodeToString(b[:])
	return &Worker{opts: opts, log: opts.Logger.With("worker", id), id: id, index: -1, out: outbox{max: 10000}}, nil
}

// ID is the worker's id for its whole life.
func (w *Worker) ID() string { return w.id }

// Run connects to the master and serves it until ctx ends or the master refuses this worker.
// Whatever happens, no k6 child outlives Run.
func (w *Worker) Run(ctx context.Context, d Dialer) error {
	defer w.abandonRun("worker stopping")
	backoff := w.opts.ReconnectMin
	for {
		w.tick()
		w.mu.Lock()
		last := w.out.lastSeq
		w.mu.Unlock()
		// The session outlives ctx, so that a worker told to stop (SIGTERM: a pod being deleted)
		// can still send its last deltas; serve ends it. Only the dial itself is cut short by ctx.
		sctx, endSession := context.WithCancel(context.WithoutCancel(ctx))
		stopDial := context.AfterFunc(ctx, endSession)
		sess, wel, err := d.Dial(sctx, protocol.Hello{
			ProtocolMajor: protocol.Major, ProtocolMinor: protocol.Minor,
			WorkerID: w.id, Host: w.opts.Host, CPUs: w.opts.CPUs, Version: w.opts.Version,
			AllowHosts:   w.opts.Allow.Entries(),
			LastStatsSeq: last,
		})
		stopDial()
		switch {
		case ctx.Err() != nil:
			if err == nil {
				_ = sess.Close()
			}
			endSession()
			return nil
		case errors.Is(err, ErrRejected):
			endSession()
			return err
		case err != nil:
			endSession()
			what := "cannot reach the master; retrying"
			if errors.Is(err, ErrUnauthorized) {
				what = "the master refused this worker's credentials (--join-token, TLS certificate); retrying"
			}
			w.log.Warn(what, "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, w.opts.ReconnectMax)
			continue
		}
		backoff = w.opts.ReconnectMin
		w.log.Info("connected to the master", "index", wel.Index)
		err = w.serve(ctx, sess, wel)
		_ = sess.Close()
		endSession()
		// Whatever ended the session, this worker's load must not go on without a master.
		w.abandonRun("lost the master")
		if ctx.Err() != nil {
			return nil
		}
		w.log.Warn("session with the master ended; reconnecting", "err", err)
	}
}

// serve runs one session until it breaks or the master goes quiet, or until ctx ends and the
// worker's last stats are flushed.
func (w *Worker) serve(ctx context.Context, sess Session, wel protocol.Welcome) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer w.detach()
	if err := w.attach(sess, wel); err != nil {
		return err
	}
	heard, broken := w.receive(ctx, sess)
	return w.converse(ctx, sess, wel.Heartbeat, heard, broken)
}

// attach makes sess the worker's session, and resends on it what the master has not merged yet,
// before anything new can be sent: the deltas past its acknowledgement, then the last run's Finished
// status if no session took it.
func (w *Worker) attach(sess Session, wel protocol.Welcome) error {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	w.mu.Lock()
	w.sess = sess
	w.index = wel.Index
	w.sessions++
	w.out.ack(wel.AckStatsSeq)
	pending := w.out.pending()
	w.mu.Unlock()
	for _, p := range pending {
		if err := sess.Send(p); err != nil {
			return err
		}
	}
	if w.final != nil {
		if err := sess.Send(*w.final); err != nil {
			return err
		}
		w.final = nil
	}
	return nil
}

// detach ends attach's session: sends from now on find none.
func (w *Worker) detach() {
	w.mu.Lock()
	w.sess = nil
	w.mu.Unlock()
}

// receive reads the master's commands and handles them until the session breaks. heard gets a
// value (or has one waiting) whenever something arrived; broken gets the error that ended it.
func (w *Worker) receive(ctx context.Context, sess Session) (heard <-chan struct{}, broken <-chan error) {
	h := make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() {
		for {
			cmd, err := sess.Recv()
			if err != nil {
				errc <- err
				return
			}
			select {
			case h <- struct{}{}:
			default:
			}
			w.handle(ctx, cmd)
		}
	}()
	return h, errc
}

// converse keeps the session going: it sends a heartbeat every interval the master asked for
// (every second if it asked for none), and gives up on a master silent for too long. When ctx
// ends, it stops the load and waits, at most flushTimeout, for the master to acknowledge the last
// deltas.
func (w *Worker) converse(ctx context.Context, sess Session, heartbeat time.Duration, heard <-chan struct{}, broken <-chan error) error {
	// Never judge the master on fewer than three of its heartbeats: a shorter timeout would drop
	// healthy sessions.
	timeout := max(w.opts.MasterTimeout, 3*heartbeat)
	every := heartbeat
	if every <= 0 {
		every = time.Second
	}
	beat := time.NewTicker(every)
	defer beat.Stop()
	quiet := time.NewTimer(timeout)
	defer quiet.Stop()
	stopping := ctx.Done()
	var stopped <-chan struct{}    // closed once the run is stopped and its last deltas queued
	var flushPoll <-chan time.Time // while waiting for the master to acknowledge them
	var giveUp <-chan time.Time
	for {
		select {
		case <-stopping:
			stopping, stopped = nil, w.stopLoad()
		case <-stopped:
			stopped = nil
			poll := time.NewTicker(50 * time.Millisecond)
			defer poll.Stop()
			flushPoll, giveUp = poll.C, time.After(flushTimeout)
		case <-flushPoll:
			if w.Snapshot().PendingStats == 0 {
				return ctx.Err()
			}
		case <-giveUp:
			w.log.Warn("the master did not acknowledge the last stats in time", "waited", flushTimeout)
			return ctx.Err()
		case err := <-broken:
			return err
		case <-heard:
			w.tick()
			quiet.Reset(timeout)
		case <-quiet.C:
			return fmt.Errorf("no word from the master for %s", timeout)
		case <-beat.C:
			w.tick()
			// Straight to the session's priority lane, never behind sendMu: a stats backlog
			// waiting for room must not delay liveness.
			if err := sess.Send(w.heartbeat()); err != nil {
				return err
			}
		}
	}
}

// stopLoad takes no new run and stops the current one's load; the returned channel closes once
// its last deltas and Finished are queued, to go out on this session.
func (w *Worker) stopLoad() <-chan struct{} {
	w.closing.Store(true)
	stopped := make(chan struct{})
	go func() { w.abandonRun("the worker is stopping"); close(stopped) }()
	return stopped
}

// flushTimeout bounds how long a stopping worker waits for the master to acknowledge its last
// deltas, after its k6 child exited (exitGrace bounds that): well within a pod's 30 s grace period.
const flushTimeout = 5 * time.Second

func (w *Worker) heartbeat() protocol.Heartbeat {
	w.mu.Lock()
	r := w.run
	w.mu.Unlock()
	hb := protocol.Heartbeat{State: protocol.Idle}
	pids := []int{}
	if r != nil {
		hb.State, hb.Users = r.snapshot()
		if pid := r.pid(); pid > 0 {
			pids = append(pids, pid)
		}
	}
	hb.CPUPercent, hb.Memory = w.cpu.sample(pids)
	return hb
}

// send delivers ev on the current session; without one, the event is dropped (stats stay in the outbox).
func (w *Worker) send(ev protocol.Event) error {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	w.mu.Lock()
	sess := w.sess
	w.mu.Unlock()
	if sess == nil {
		return nil
	}
	return sess.Send(ev)
}

// sendFinal sends a run's Finished status, or keeps it for the next session when there is none.
func (w *Worker) sendFinal(s protocol.Status) {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	w.mu.Lock()
	sess := w.sess
	w.mu.Unlock()
	w.final = nil
	if sess == nil || sess.Send(s) != nil {
		w.final = &s
	}
}

// responsive reports whether the worker supervises its load: its session loop made progress within
// the last k6run.LivenessTimeout (it ticks at every heartbeat). A k6 child stops its load when this
// stays false (see k6run.RunOptions.Alive).
func (w *Worker) responsive() bool {
	t := w.lastLoop.Load()
	return t != nil && time.Since(*t) < k6run.LivenessTimeout-k6run.LivenessTimeout/6
}

// sendStats queues a delta in the outbox and sends it.
func (w *Worker) sendStats(runID string, s protocol.Stats) {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	w.mu.Lock()
	s = w.out.add(runID, s.Delta)
	sess := w.sess
	w.mu.Unlock()
	if sess != nil {
		_ = sess.Send(s) // on error the session ends and the outbox resends after reconnecting
	}
}

func (w *Worker) lastStatsSeq() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.lastSeq
}

func (w *Worker) handle(ctx context.Context, cmd protocol.Command) {
	switch c := cmd.(type) {
	case protocol.MasterHeartbeat:
		w.mu.Lock()
		w.out.ack(c.AckStatsSeq)
		w.mu.Unlock()
	case protocol.Assign:
		if w.closing.Load() {
			return // stopping: no new load
		}
		w.abandonRun("a new run was assigned")
		r := newRun(w, c.Part)
		w.mu.Lock()
		w.run = r
		w.runs++
		w.mu.Unlock()
		go r.loop(context.WithoutCancel(ctx))
	default:
		w.mu.Lock()
		r := w.run
		w.mu.Unlock()
		if r == nil || r.part.RunID != RunIDOf(cmd) {
			w.log.Debug("ignoring a command for another run", "cmd", fmt.Sprintf("%T", cmd))
			return
		}
		r.enqueue(cmd)
	}
}

// RunIDOf is the run a command is about ("" for a heartbeat or an assignment, which carries a Part).
func RunIDOf(cmd protocol.Command) string {
	switch c := cmd.(type) {
	case protocol.RunSetup:
		return c.RunID
	case protocol.Start:
		return c.RunID
	case protocol.Control:
		return c.RunID
	case protocol.RunTeardown:
		return c.RunID
	case protocol.Finish:
		return c.RunID
	}
	return ""
}

// abandonRun stops the current run's load at once and forgets the run; its last deltas still reach
// the outbox.
func (w *Worker) abandonRun(why string) {
	w.mu.Lock()
	r := w.run
	w.run = nil
	w.mu.Unlock()
	if r != nil {
		r.abandon(why)
	}
}
