package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stampede-load/stampede/internal/allowlist"
	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/internal/native"
	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
	"github.com/stampede-load/stampede/scenario/flow"
)

// Child is a k6 child process as the worker drives it; *k6run.Child implements it.
type Child interface {
	WaitReady(context.Context) error
	Setup(context.Context) (json.RawMessage, error)
	SetSetupData(context.Context, json.RawMessage) error
	Resume(context.Context) error
	SetVUs(ctx context.Context, vus, vusMax int64) error
	SetClasses(targets map[string]int64) error
	Stop(context.Context) error
	Status(context.Context) (k6run.Status, error)
	Teardown(context.Context) error
	Terminate(grace time.Duration)
	Kill()
	Deltas() <-chan *stats.Delta
	Exited() <-chan struct{}
	ExitCode() (int, string)
	Pid() int
}

// Both engines are Children: a k6 child process, and the native engine in this process.
var (
	_ Child = (*k6run.Child)(nil)
	_ Child = (*native.Engine)(nil)
)

const (
	// How long an assigned child may take to initialise its VUs.
	readyTimeout = 5 * time.Minute
	// How long a child gets to flush and exit before it is killed.
	exitGrace = 10 * time.Second
	// A REST call to the child that takes longer means the child is wedged.
	callTimeout = 10 * time.Second
)

// run is one assignment on this worker. Its commands are handled in order by loop.
type run struct {
	w    *Worker
	part scenario.Part
	cmds chan protocol.Command
	quit chan string // abandon reason
	done chan struct{}

	mu          sync.Mutex
	child       Child
	state       protocol.WorkerState
	users       int64
	lastControl uint64
	stopped     bool
	finishing   atomic.Bool
}

func newRun(w *Worker, p scenario.Part) *run {
	return &run{w: w, part: p, cmds: make(chan protocol.Command, 64), quit: make(chan string, 1),
		done: make(chan struct{}), state: protocol.Preparing}
}

func (r *run) enqueue(c protocol.Command) {
	select {
	case r.cmds <- c:
	case <-r.done:
	}
}

func (r *run) snapshot() (protocol.WorkerState, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state, r.users
}

func (r *run) pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.child == nil {
		return 0
	}
	return r.child.Pid()
}

func (r *run) setState(s protocol.WorkerState) {
	r.mu.Lock()
	r.state = s
	r.mu.Unlock()
}

// abandon stops the load now and waits until the child is gone.
func (r *run) abandon(why string) {
	select {
	case r.quit <- why:
	default:
	}
	<-r.done
}

func (r *run) status(s protocol.WorkerState, code int, msg string) {
	st := protocol.Status{RunID: r.part.RunID, State: s, ExitCode: code, Error: msg, LastStatsSeq: r.w.lastStatsSeq()}
	if s == protocol.Finished {
		// The master needs this one to know that nothing of the run is missing: if the session is
		// gone, it goes out first on the next one, right after the deltas it covers.
		r.w.sendFinal(st)
		return
	}
	_ = r.w.send(st)
}

func (r *run) loop(ctx context.Context) {
	defer close(r.done)
	log := r.w.log.With("run", r.part.RunID)
	child, forwarded, err := r.launch(ctx)
	if err != nil {
		log.Error("cannot start the run", "err", err)
		r.setState(protocol.Failed)
		r.status(protocol.Failed, exitCode(err), err.Error())
		return
	}
	defer os.RemoveAll(r.dir())
	r.status(protocol.Ready, 0, "")
	r.setState(protocol.Ready)

	poll := time.NewTicker(time.Second)
	defer poll.Stop()
	exited := child.Exited()
	for {
		select {
		case why := <-r.quit:
			log.Warn("stopping the load", "reason", why)
			r.finish(child, forwarded, true)
			return
		case <-exited:
			// The child ended by itself (killed, out of memory, a script error, test.abort()):
			// report why at once; the master hands its users to others or reports its share lost.
			code, msg := child.ExitCode()
			if st, _ := r.snapshot(); st != protocol.Done {
				log.Error("the k6 process ended by itself", "exit_code", code, "err", msg)
			}
			r.finish(child, forwarded, false)
			return
		case <-poll.C:
			r.poll(ctx, child)
		case c := <-r.cmds:
			if _, ok := c.(protocol.Finish); ok {
				r.finish(child, forwarded, false)
				return
			}
			r.apply(ctx, child, c)
		}
	}
}

func (r *run) dir() string { return filepath.Join(r.w.opts.Dir, "run-"+r.part.RunID) }

// launch starts a paused child for the run's bundle, then waits until its VUs are initialised: a
// k6 child for a k6 archive, the native engine in this process for a flow (flow.IsFlow).
func (r *run) launch(ctx context.Context) (Child, <-chan struct{}, error) {
	b := r.part.Bundle
	if b == nil {
		return nil, nil, errors.New("the assignment carries no script")
	}
	blocked, err := r.w.opts.Allow.Blocked(ctx, net.DefaultResolver)
	if err != nil {
		return nil, nil, err
	}
	var (
		child   Child
		cleanup = func() {}
	)
	if flow.IsFlow(b.Files[b.Entry]) {
		child, err = r.startFlow(ctx, b, blocked)
	} else {
		child, cleanup, err = r.startK6(ctx, b, blocked)
	}
	if err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	r.child = child
	r.mu.Unlock()

	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		for d := range child.Deltas() {
			r.w.sendStats(r.part.RunID, protocol.Stats{RunID: r.part.RunID, Delta: d})
		}
	}()

	rctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	ready := make(chan error, 1)
	go func() { ready <- child.WaitReady(rctx) }()
	select {
	case err = <-ready:
	case why := <-r.quit:
		err = errors.New(why)
	}
	if err != nil {
		child.Kill()
		<-forwarded
		cleanup()
		return nil, nil, err
	}
	return child, forwarded, nil
}

// startK6 writes the k6 archive (for swarm mode, rewritten to run under the externally-controlled
// executor) to the run's directory and starts a paused k6 child on it. cleanup removes the
// directory.
func (r *run) startK6(ctx context.Context, b *scenario.Bundle, blocked []netip.Prefix) (Child, func(), error) {
	if r.part.Mode == scenario.Swarm {
		a, err := b.Archive()
		if err == nil {
			a, err = a.SwarmArchive(int(max(r.part.MaxUsers, 1)), r.part.MaxDuration, r.part.Classes)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("the run's archive: %w", err)
		}
		b = a.Bundle()
	}
	dir := r.dir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("run directory: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	entry, err := b.Write(dir)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("writing the script: %w", err)
	}
	child, err := r.w.opts.Launch(ctx, k6run.RunOptions{
		Exe: r.w.opts.Exe, Dir: dir, Entry: entry,
		Segment: r.part.Segment, SegmentSequence: r.part.SegmentSequence,
		Env: r.part.Env, Submetrics: r.part.Submetrics, Logs: r.w.logSink(r.part.RunID), Classes: noUsers(r.part.Classes),
		BlockedIPs: allowlist.Strings(blocked),
		// While finish stops the child, the worker supervises it though its session loop may not
		// turn (the session is gone): the stop stays graceful.
		Alive: func() bool { return r.finishing.Load() || r.w.responsive() },
	})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return child, cleanup, nil
}

// startFlow starts the native engine on a flow's bundle, paused, in this process. Its connections
// go through allowDialer, so --allow-hosts holds at dial time. In script mode it runs the flow's
// scenarios on this worker's execution segment.
func (r *run) startFlow(ctx context.Context, b *scenario.Bundle, blocked []netip.Prefix) (Child, error) {
	s, err := flow.Parse(b.Entry, b.Files[b.Entry])
	if err != nil {
		return nil, fmt.Errorf("the run's flow: %w", err)
	}
	data, err := s.LoadData(b.FS())
	if err != nil {
		return nil, fmt.Errorf("the run's flow: %w", err)
	}
	ca, err := s.LoadCA(b.FS())
	if err != nil {
		return nil, fmt.Errorf("the run's flow: %w", err)
	}
	return native.Start(context.WithoutCancel(ctx), native.Options{Scenario: s, Data: data, CA: ca, Env: r.part.Env,
		Dial: allowDialer(blocked, net.DefaultResolver), Logs: r.w.logSink(r.part.RunID), Classes: r.part.Classes,
		Submetrics: r.part.Submetrics, UserSlot: r.part.UserSlot, UserSlots: r.part.UserSlots,
		Script: r.part.Mode == scenario.Script, Segment: r.part.Segment, SegmentSequence: r.part.SegmentSequence,
		// As for a k6 child: the engine stops its load when the worker stops supervising it.
		Alive: func() bool { return r.finishing.Load() || r.w.responsive() }})
}

func exitCode(err error) int {
	var ee *k6run.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return -1
}

// poll reads users and notices the end of the test (the child lingers until Finish).
func (r *run) poll(ctx context.Context, child Child) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	st, err := child.Status(cctx)
	if err != nil {
		return
	}
	r.mu.Lock()
	r.users = st.VUs
	ended := st.Ended() && r.state == protocol.Running
	if ended {
		r.state = protocol.Done
	}
	// Interrupted without a stop from the master: the script called test.abort(). The master stops
	// the rest of the fleet, as k6 would stop its one instance.
	aborted := ended && st.Interrupted() && !r.stopped
	r.mu.Unlock()
	switch {
	case aborted:
		r.status(protocol.Done, k6run.ExitScriptAborted, "the script aborted the test (test.abort())")
	case ended:
		r.status(protocol.Done, 0, "")
	}
}

func (r *run) apply(ctx context.Context, child Child, c protocol.Command) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	log := r.w.log.With("run", r.part.RunID)
	switch c := c.(type) {
	case protocol.RunSetup:
		data, err := child.Setup(ctx) // setup() may take long; it is bounded by k6's setupTimeout
		res := protocol.PhaseResult{RunID: r.part.RunID, Phase: protocol.SetupPhase, Data: data}
		if err != nil {
			res.Error = err.Error()
		}
		_ = r.w.send(res)
	case protocol.Start:
		err := child.SetSetupData(cctx, c.SetupData)
		if err == nil {
			err = child.Resume(cctx)
		}
		if err != nil {
			log.Error("cannot start the test", "err", err)
			r.status(protocol.Failed, -1, err.Error())
			return
		}
		r.setState(protocol.Running)
		r.status(protocol.Running, 0, "")
	case protocol.Control:
		r.mu.Lock()
		stale := c.Seq <= r.lastControl
		if !stale {
			r.lastControl = c.Seq
		}
		r.mu.Unlock()
		if stale {
			return
		}
		var err error
		if c.Stop {
			r.mu.Lock()
			r.stopped = true
			r.mu.Unlock()
			err = child.Stop(cctx)
		} else if r.part.Mode == scenario.Swarm {
			if len(c.Classes) > 0 { // the classes first: the VUs started next take theirs at once
				err = child.SetClasses(c.Classes)
			}
			if err == nil {
				err = child.SetVUs(cctx, c.Users, max(c.Users, r.part.MaxUsers))
			}
		}
		if err != nil {
			log.Warn("cannot apply control", "err", err)
		}
	case protocol.RunTeardown:
		err := child.Teardown(ctx)
		res := protocol.PhaseResult{RunID: r.part.RunID, Phase: protocol.TeardownPhase}
		if err != nil {
			res.Error = err.Error()
		}
		_ = r.w.send(res)
	}
}

// finish ends the child, waits for its last delta to be forwarded, and reports the outcome.
// With stopNow the load is interrupted first (the master is gone or the worker is quitting).
func (r *run) finish(child Child, forwarded <-chan struct{}, stopNow bool) {
	r.finishing.Store(true)
	if stopNow {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = child.Stop(ctx)
		cancel()
	}
	select {
	case <-child.Exited():
	default:
		child.Terminate(exitGrace)
	}
	<-child.Exited()
	<-forwarded
	code, msg := child.ExitCode()
	r.setState(protocol.Finished)
	r.mu.Lock()
	r.users = 0
	r.mu.Unlock()
	r.status(protocol.Finished, code, msg)
}

// noUsers are the user classes' first targets: none until the master gives the child users (nil
// without classes).
func noUsers(classes []string) map[string]int64 {
	if len(classes) == 0 {
		return nil
	}
	m := make(map[string]int64, len(classes))
	for _, c := range classes {
		m[c] = 0
	}
	return m
}
