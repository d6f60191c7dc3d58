package master

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// RunConfig is what a user asks for.
type RunConfig struct {
	// Script is the path of the entry script.
	Script string
	// Users > 0 selects Swarm mode: the script's default function with this many users, ramped at
	// SpawnRate users per second fleet-wide (0 = all at once). Users == 0 selects Script mode: the
	// script's own options.scenarios, split over the workers with execution segments.
	Users     int64
	SpawnRate float64
	// RunTime stops the run after this long (Swarm: required for an unattended run; Script: an upper bound).
	RunTime time.Duration
	// Env reaches the script as __ENV.
	Env map[string]string
	// ExpectWorkers is how many workers must be connected before the run starts (at least 1), and
	// ExpectTimeout how long to wait for them.
	ExpectWorkers int
	ExpectTimeout time.Duration
	// Workers > 0 scales Options.Fleet to this many workers for the run (and waits for at least as
	// many); 0 runs on the workers there are.
	Workers int
	// Thresholds are judged besides the script's own (from the command line).
	Thresholds []*stats.Threshold
	// Tags and ExcludeTags choose the script's user classes that run (Locust's --tags and
	// --exclude-tags): with Tags, only those with one of them; never those with one of ExcludeTags.
	Tags, ExcludeTags []string
	// Shaped asks for a run driven by the script's load shape (Users must be 0); a script without
	// one is refused. Without it, Users == 0 still plays a shape the script declares.
	Shaped bool
	// ClassWeights replace the weights the script gives its user classes, by class name (nil: the
	// script's). Every name must be one of the script's classes.
	ClassWeights map[string]int64
}

// Timeouts of the run's phases. setup() and teardown() get the script's setupTimeout and
// teardownTimeout (k6 enforces them in the child) plus phaseMargin for the messages.
const (
	readyTimeout    = 5 * time.Minute
	phaseMargin     = 30 * time.Second
	finishTimeout   = 30 * time.Second
	controlInterval = 100 * time.Millisecond
	// k6's exit codes (v1.8.1), which workers pass through unchanged.
	k6ExitStoppedByAPI  = 103
	k6ExitSignal        = 105
	k6ExitScriptAborted = 108
	// stopTimeout bounds how long a stopping run waits for workers to report their test ended.
	stopTimeout = 30 * time.Second
)

// run is the current run; it belongs to the Coordinator's loop.
type run struct {
	id       string
	cfg      RunConfig
	mode     scenario.Mode
	state    State
	started  time.Time
	ended    time.Time
	agg      stats.Aggregate
	members  map[string]*member
	order    []*member // by worker index at assignment
	setup    *protocol.PhaseResult
	teardown *protocol.PhaseResult
	aborted  error // set when a worker's script aborted the test
	err      error // how the run ended, once it has
	ctlSeq   uint64
	bundle   *scenario.Bundle
	archive  *scenario.Archive // the run's k6 archive, whose Bundle the workers run (nil: a flow)
	engine   string            // EngineK6 or EngineNative, once prepared
	slots    int64             // the user slots of the run: the workers it was assigned to
	data     json.RawMessage   // setup()'s result, for every worker that starts
	// Swarm mode: the ramp in progress began at rampStart from each active member's users then
	// (member.from), towards target at rate.
	target    int64
	rate      float64
	rampStart time.Time
	stopAsked string             // why a stop was asked for through the API ("" if not)
	stopSent  time.Time          // when the workers were told to stop their load
	cancel    context.CancelFunc // ends the run's context: how a stop reaches a run still preparing
	prep      *prepared          // the Loader's answer, once it came
	driving   bool               // the load runs: the loop's tick steers it and closes its seconds
	closedAt  int64              // the Unix second of the tick that last closed seconds
	// membersChanged: a member joined, left or changed state since drive last looked.
	membersChanged bool
	shape          *shaped            // the script's load shape, when it drives the run (shape.go)
	classes        []scenario.Class   // the swarm's user classes (classes.go; nil: none)
	splitFor       []int64            // the shares the last class split was for,
	split          []map[string]int64 // and the split (classShares)
	satOut         map[string]bool    // workers that joined and cannot run it (classesRefused), by id
	over           chan struct{}      // closed once the run ended and its done callback returned
	points         []stats.Point
	opts           *scenario.Options
	names          nameCap
	rates          rateWindow
	judge          *judge
	// statsReset is when the statistics were last reset (zero: never).
	statsReset time.Time
	final      bool // the result was taken; nothing merges any more
	// losses are members whose stats may be missing (see loss); teardownErr says teardown() did
	// not complete.
	losses      []*loss
	teardownErr error
}

type member struct {
	w        *workerRec
	state    protocol.WorkerState
	exitCode int
	err      string
	gone     bool
	requests uint64
	users    int64            // last share sent
	classes  map[string]int64 // and how many of them each user class runs (nil: no classes)
	from     int64            // users when the current ramp began
	started  bool             // resumed with the run's setup data: it takes part in the dispatch
	segment  string           // script mode: the execution segment it runs
	slot     int64            // how it numbers its users (scenario.Part.UserSlot)
	ended    bool             // it reported its test ended (Done): its share of the load ran
	// finishAsked: the master told it to end its part (Finish); a child that ends before that
	// ended by itself.
	finishAsked bool
}

// over: its k6 child has ended, so it runs no load and answers nothing more about this run.
func (m *member) over() bool { return m.state.Over() }

func newRunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (r *run) merge(w *workerRec, d *stats.Delta) {
	r.names.fold(d)
	r.agg.Add(d)
	if m := r.members[w.id]; m != nil {
		m.requests += d.Requests()
	}
}

func (r *run) status(w *workerRec, s protocol.Status) {
	m := r.members[w.id]
	if m == nil || m.over() && !s.State.Over() {
		return // a child that ended runs nothing more in this run: a later word of it is stale
	}
	r.membersChanged = true
	m.state = s.State
	m.ended = m.ended || s.State == protocol.Done
	if s.ExitCode == k6ExitScriptAborted && r.aborted == nil {
		r.aborted = fmt.Errorf("%w on worker %d: %s", ErrScriptAborted, w.index, s.Error)
	}
	if s.State == protocol.Finished || s.State == protocol.Failed {
		m.exitCode = s.ExitCode
		if !normalExit(s) {
			m.err = s.Error
		}
		if m.started && !m.finishAsked && !m.gone {
			// Its k6 process ended by itself mid-run: the others take over its users (swarm mode),
			// and unless it ended cleanly, what it did not report is lost.
			now := time.Now()
			if !normalExit(s) || s.Error != "" {
				why := s.Error
				if why == "" {
					why = fmt.Sprintf("its k6 process exited with code %d", s.ExitCode)
				}
				r.lose(m, why, true, now)
			}
			r.newRamp(now)
		}
	}
}

// normalExit: the child ended as the master asked (test over, stopped through its API, or told to
// exit after lingering), so its exit message is no error.
func normalExit(s protocol.Status) bool {
	switch s.ExitCode {
	case 0, k6ExitStoppedByAPI, k6ExitSignal:
		return s.State == protocol.Finished
	}
	return false
}

func (r *run) phase(p protocol.PhaseResult) {
	if p.Phase == protocol.TeardownPhase {
		r.teardown = &p
	} else {
		r.setup = &p
	}
}

func (r *run) workerGone(w *workerRec, why string) {
	r.membersChanged = true
	if m := r.members[w.id]; m != nil && !m.gone {
		m.gone = true
		if !m.over() {
			m.err = "worker lost"
			if m.started {
				r.lose(m, why, false, time.Now())
			}
		}
		if m.started {
			r.newRamp(time.Now()) // the rest take over its users, at the spawn rate
		}
	}
}

// active returns the members that take part in the dispatch: connected, started, and with a child.
func (r *run) active() []*member {
	var out []*member
	for _, m := range r.order {
		if !m.gone && m.started && !m.over() {
			out = append(out, m)
		}
	}
	return out
}

// newRamp starts a new ramp from the users each active member runs now. Call it whenever the
// target, the rate or the active members change.
func (r *run) newRamp(now time.Time) {
	for _, m := range r.active() {
		m.from = m.users
	}
	r.rampStart = now
}

func (r *run) workerResults() []WorkerResult {
	out := make([]WorkerResult, 0, len(r.order))
	for _, m := range r.order {
		out = append(out, WorkerResult{Index: m.w.index, ID: m.w.id, Host: m.w.host,
			Requests: m.requests, ExitCode: m.exitCode, Error: m.err, Lost: m.gone, Segment: m.segment})
	}
	return out
}

// live returns the members still connected.
func (r *run) live() []*member {
	var out []*member
	for _, m := range r.order {
		if !m.gone {
			out = append(out, m)
		}
	}
	return out
}

// Run executes one run from start to end and returns its result. It validates the script before any
// load, waits for the workers, runs setup() once, starts every worker together, drives the users
// (Swarm) or waits for the script's scenarios (Script), runs teardown() once and collects the last
// stats of every worker. The result is returned also when err != nil, with what was collected.
func (c *Coordinator) Run(ctx context.Context, cfg RunConfig) (*Result, error) {
	type outcome struct {
		res *Result
		err error
	}
	out := make(chan outcome, 1)
	if _, err := c.Start(ctx, cfg, func(res *Result, err error) { out <- outcome{res, err} }); err != nil {
		return nil, err
	}
	o := <-out
	return o.res, o.err
}

// Start begins a run and returns its id, or an error at once when the settings are invalid or a
// run is in progress. done (if not nil) receives the run's outcome, as Run returns it, on a
// goroutine of its own; WaitIdle waits for it to return.
func (c *Coordinator) Start(ctx context.Context, cfg RunConfig, done func(*Result, error)) (string, error) {
	reply := make(chan startReply, 1)
	r, ok := ask(c, startRun{ctx: ctx, cfg: cfg, done: done, reply: reply}, reply)
	if !ok {
		return "", errShuttingDown
	}
	return r.id, r.err
}

// starting is a claimed run waiting for the loop to execute it.
type starting struct {
	run  *run
	ctx  context.Context
	done func(*Result, error)
}

// claim makes the run asked for the current one, if its settings are valid and no run is in progress.
func (c *Coordinator) claim(e startRun) (string, error) {
	cfg := e.cfg
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	if err := c.checkLimits(cfg); err != nil {
		return "", err
	}
	if err := c.checkWorkers(cfg.Workers); err != nil {
		return "", err
	}
	if c.activeRun() != nil {
		return "", ErrRunInProgress
	}
	mode := scenario.Script
	if cfg.Users > 0 {
		mode = scenario.Swarm
	}
	r := &run{id: newRunID(), cfg: cfg, mode: mode, state: Preparing, members: map[string]*member{}, satOut: map[string]bool{},
		target: cfg.Users, rate: cfg.SpawnRate, names: newNameCap(c.opts.NameCap), over: make(chan struct{})}
	c.run = r
	c.starting = &starting{run: r, ctx: e.ctx, done: e.done}
	return r.id, nil
}

// execute runs a claimed run to its end on the loop, then hands its outcome to done.
func (c *Coordinator) execute(s *starting) {
	r := s.run
	res, err := c.runClaimed(s.ctx, r)
	go func() {
		defer close(r.over)
		if s.done != nil {
			s.done(res, err)
		}
	}()
}

func (c *Coordinator) runClaimed(ctx context.Context, r *run) (res *Result, err error) {
	ctx, r.cancel = context.WithCancel(ctx)
	defer r.cancel()
	defer func() {
		if errors.Is(err, ErrInterrupted) && r.stopAsked != "" && r.started.IsZero() {
			err = fmt.Errorf("%w before the load started: %s", ErrInterrupted, r.stopAsked)
			res.Err = err
		}
		r.state = Stopped
		r.err = err
		if err != nil {
			c.log.Warn("run ended", "run", r.id, "err", err)
		} else {
			c.log.Info("run ended", "run", r.id)
		}
	}()
	if err := c.prepareRun(ctx, r); err != nil {
		return c.result(r, err), err
	}
	// Only a valid script gets pods: scaling waits until the script passed inspection.
	release := c.scaleFor(r.cfg.Workers)
	defer release()
	if err := c.waitForWorkers(ctx, r.cfg); err != nil {
		return c.result(r, err), err
	}
	r.archive = r.prep.archive
	err = c.executeLoad(ctx, r)
	if !r.started.IsZero() {
		r.judge.evaluate(&r.agg, r.ended.Sub(r.started), true)
	}
	if err == nil && r.judge.failed() {
		var why []string
		for _, t := range r.judge.results() {
			if !t.OK {
				why = append(why, t.describe())
			}
		}
		err = fmt.Errorf("%w: %s", ErrThresholdsFailed, strings.Join(why, "; "))
	}
	return c.result(r, err), err
}

// prepareRun has the Loader make and check the run's archive, on a goroutine of its own while the
// loop goes on handling events, and sets up the run's thresholds.
func (c *Coordinator) prepareRun(ctx context.Context, r *run) error {
	go func() {
		bundle, archive, opts, err := c.prepare(ctx, r.cfg)
		c.post(prepared{run: r, bundle: bundle, archive: archive, opts: opts, err: err})
	}()
	if err := c.await(ctx, 24*time.Hour, func() bool { return r.prep != nil }); err != nil {
		return ErrInterrupted // the Loader is stopped by ctx too; its late event is ignored
	}
	p := r.prep
	err := p.err
	if err == nil {
		err = c.checkScript(r.cfg, p.opts)
	}
	if err != nil {
		return err
	}
	j, err := newJudge(p.opts, r.cfg.Thresholds)
	if err != nil {
		return err
	}
	r.opts, r.judge = p.opts, j
	r.engine = EngineK6
	if p.archive == nil {
		r.engine = EngineNative
	}
	if err := r.useShape(p.opts); err != nil {
		return err
	}
	if err := r.useClasses(p.opts); err != nil {
		return err
	}
	if r.shape != nil {
		return c.checkUsers(r.shape.stages.Peak(), c.plannedWorkers(r.cfg))
	}
	return nil
}

func (c *Coordinator) waitForWorkers(ctx context.Context, cfg RunConfig) error {
	want := max(cfg.ExpectWorkers, cfg.Workers, 1)
	timeout := cfg.ExpectTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	c.log.Info("waiting for workers", "want", want, "timeout", timeout)
	err := c.await(ctx, timeout, func() bool { return len(c.connected()) >= want })
	if errors.Is(err, context.DeadlineExceeded) {
		have := len(c.connected())
		if f := c.fleetStatus(); f != nil && cfg.Workers > 0 {
			why := ""
			if f.Error != "" {
				why = "; last error: " + f.Error
			}
			return fmt.Errorf("%w: %d of %d connected after %s; %s has %d of %d replicas ready%s",
				ErrWorkersTimeout, have, want, timeout, f.Name, f.Ready, f.Desired, why)
		}
		return fmt.Errorf("%w: %d of %d connected after %s (are the workers pointed at this master's --master-bind address?)",
			ErrWorkersTimeout, have, want, timeout)
	}
	if err != nil {
		return ErrInterrupted
	}
	return nil
}

// executeLoad assigns, sets up, starts, drives and ends the run on the connected workers.
func (c *Coordinator) executeLoad(ctx context.Context, r *run) error {
	if err := c.assign(r, r.prep.bundle); err != nil {
		return err
	}
	err := c.waitPhase(ctx, r, readyTimeout, "initialise", func(m *member) bool { return m.state >= protocol.Ready })
	if err == nil {
		err = c.runSetup(ctx, r)
	}
	if err == nil {
		c.start(r)
	}
	if err != nil {
		c.finishAll(r, err.Error())
		return err
	}
	runErr := c.drive(ctx, r)
	c.runTeardown(r)
	c.finishAll(r, "run ended")
	switch {
	case runErr != nil:
		return runErr
	case r.aborted != nil:
		return r.aborted
	case len(r.live()) == 0:
		return ErrWorkersLost
	}
	if err := r.incomplete(); err != nil {
		return err
	}
	return r.teardownErr
}

func (c *Coordinator) assign(r *run, bundle *scenario.Bundle) error {
	ws := c.connected()
	n := len(ws)
	if n == 0 {
		return ErrWorkersLost
	}
	for _, w := range ws {
		if why := r.classesRefused(w); why != "" {
			return fmt.Errorf("%w: %w: %s", ErrBadSettings, ErrProtocolVersion, why)
		}
	}
	r.bundle = bundle
	seq := scenario.SegmentSequence(n)
	r.slots = int64(n)
	for i, w := range ws {
		p := r.part(n)
		if r.mode == scenario.Script {
			p.Segment, p.SegmentSequence = scenario.Segment(i, n), seq
		}
		p.UserSlot, p.UserSlots = int64(i), r.slots
		m := c.enlist(r, w, p)
		m.segment, m.slot = p.Segment, p.UserSlot
	}
	c.log.Info("run assigned", "run", r.id, "mode", r.mode, "workers", n)
	return nil
}

// freeSlot is the lowest user slot that no live member holds. A worker joining the run takes the
// slot of one that left (its users have stopped), so the fleet's user numbers stay apart; a worker
// past the run's first slots count shares numbers with another's users.
func (r *run) freeSlot() int64 {
	held := map[int64]bool{}
	for _, m := range r.live() {
		held[m.slot] = true
	}
	s := int64(0)
	for held[s] {
		s++
	}
	return s
}

// part is a worker's assignment in a fleet of n, without its segment.
func (r *run) part(n int) scenario.Part {
	p := scenario.Part{RunID: r.id, Bundle: r.bundle, Mode: r.mode, Env: r.cfg.Env, Submetrics: r.judge.submetrics()}
	if r.mode == scenario.Swarm {
		p.Classes = r.classNames()
		// A first guess at its share: the child raises its VU limit when it is given more.
		p.MaxUsers = (r.target + int64(n) - 1) / int64(max(n, 1))
		p.MaxDuration = 7 * 24 * time.Hour
		if r.cfg.RunTime > 0 {
			p.MaxDuration = r.cfg.RunTime + time.Minute
		}
	}
	return p
}

// enlist makes w a member of the run and sends it its part. A worker that was a member before, and
// reconnected, keeps its row and its totals: its old session's load stopped with the session.
func (c *Coordinator) enlist(r *run, w *workerRec, p scenario.Part) *member {
	m := r.members[w.id]
	if m == nil {
		m = &member{}
		r.members[w.id] = m
		r.order = append(r.order, m)
	}
	*m = member{w: w, state: protocol.Preparing, requests: m.requests}
	r.membersChanged = true
	c.send(w, func(conn WorkerConn) error { return conn.Assign(p) })
	return m
}

// waitPhase waits until every live member satisfies cond; a member that failed ends the run.
func (c *Coordinator) waitPhase(ctx context.Context, r *run, timeout time.Duration, what string, cond func(*member) bool) error {
	var failed *member
	err := c.await(ctx, timeout, func() bool {
		live := r.live()
		for _, m := range live {
			if m.state == protocol.Failed || (m.state == protocol.Finished && !cond(m)) {
				failed = m
				return true
			}
		}
		for _, m := range live {
			if !cond(m) {
				return false
			}
		}
		return true
	})
	switch {
	case failed != nil:
		return fmt.Errorf("%w: worker %d could not %s the script: %s", ErrScriptError, failed.w.index, what, failed.err)
	case len(r.live()) == 0:
		return ErrWorkersLost
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("workers did not %s the script within %s", what, timeout)
	case err != nil:
		return ErrInterrupted
	}
	return nil
}

// runSetup runs setup() on the first live worker; its data reaches every worker with Start.
func (c *Coordinator) runSetup(ctx context.Context, r *run) error {
	live := r.live()
	if len(live) == 0 {
		return ErrWorkersLost
	}
	runner := live[0]
	c.send(runner.w, func(conn WorkerConn) error { return conn.RunSetup(r.id) })
	timeout := r.opts.SetupTimeout + phaseMargin
	err := c.await(ctx, timeout, func() bool { return r.setup != nil || runner.gone || runner.over() })
	switch {
	case err != nil && ctx.Err() != nil:
		return ErrInterrupted
	case err != nil:
		return fmt.Errorf("%w: worker %d gave no answer within %s (the script's setupTimeout is %s)",
			ErrSetupFailed, runner.w.index, timeout, r.opts.SetupTimeout)
	case r.setup == nil && runner.gone:
		return fmt.Errorf("%w: worker %d was lost while running it", ErrSetupFailed, runner.w.index)
	case r.setup == nil:
		return fmt.Errorf("%w: worker %d's k6 process ended while running it: %s", ErrSetupFailed, runner.w.index, runner.err)
	case r.setup.Error != "":
		return fmt.Errorf("%w: %s", ErrSetupFailed, r.setup.Error)
	}
	return nil
}

// start resumes every worker with the setup data; they were all paused, so they start together.
func (c *Coordinator) start(r *run) {
	if r.setup != nil {
		r.data = r.setup.Data
	}
	r.started = time.Now()
	r.rampStart = r.started
	r.state = Running
	for _, m := range r.live() {
		m.started = c.send(m.w, func(conn WorkerConn) error { return conn.Start(r.id, r.data) })
	}
	c.log.Info("run started", "run", r.id)
}

// drive runs until the test ends: Swarm mode steers users (the loop's tick dispatches them) until
// RunTime or interruption; Script mode waits for every worker's scenarios to end (or RunTime).
func (c *Coordinator) drive(ctx context.Context, r *run) error {
	var deadline <-chan time.Time
	if r.cfg.RunTime > 0 {
		t := time.NewTimer(r.cfg.RunTime)
		defer t.Stop()
		deadline = t.C
	}
	r.driving, r.membersChanged = true, true
	defer func() { r.driving, r.ended = false, time.Now() }()
	interrupted := false
	for {
		// Whether the test ended changes only with the members' states: looked at again after
		// those change, not after every event (a big fleet sends thousands a second).
		if r.membersChanged {
			if r.membersChanged = false; r.testEnded() {
				break
			}
		}
		switch {
		case r.aborted != nil:
			c.stopLoad(r, r.aborted.Error())
		case r.stopAsked != "":
			c.stopLoad(r, r.stopAsked)
		case r.shape.ended():
			c.stopLoad(r, "the load shape ended")
		}
		if r.state == Stopping && time.Since(r.stopSent) > stopTimeout {
			c.log.Warn("workers did not report the end of their test; finishing anyway", "waited", stopTimeout)
			break
		}
		switch c.step(ctx, deadline) {
		case cancelled:
			interrupted = true
			c.stopLoad(r, "interrupted")
			ctx = context.Background() // keep going to collect the last stats
		case timedOut:
			deadline = nil
			c.stopLoad(r, "run time reached")
		}
	}
	if interrupted {
		return ErrInterrupted
	}
	return nil
}

// stopLoad tells every live worker to stop its load (once).
func (c *Coordinator) stopLoad(r *run, why string) {
	if r.state == Stopping {
		return
	}
	c.log.Info("stopping the run", "reason", why)
	r.state, r.stopSent = Stopping, time.Now()
	r.ctlSeq++
	for _, m := range r.live() {
		if !m.over() {
			c.send(m.w, func(conn WorkerConn) error {
				return conn.Control(protocol.Control{RunID: r.id, Seq: r.ctlSeq, SpawnRate: r.rate, Stop: true})
			})
		}
	}
}

// lostSegments are the script-mode members that left before their test ended (killed, cut off,
// stopped by a signal, or their k6 process died: they report Finished without Done), whose segment
// of the load never completed. (Swarm mode hands a lost worker's users to the others.)
func (r *run) lostSegments() []*member {
	if r.mode != scenario.Script {
		return nil
	}
	var lost []*member
	for _, m := range r.order {
		if (m.gone || m.over() && !m.finishAsked) && !m.ended {
			lost = append(lost, m)
		}
	}
	return lost
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// testEnded: every live member's test is over (or the fleet is gone).
func (r *run) testEnded() bool {
	for _, m := range r.order {
		if !m.gone && m.state < protocol.Done {
			return false
		}
	}
	return true
}

// dispatch brings workers that connected during the run into it (they start paused like the rest,
// and are resumed once ready), then sends each active worker its share of the users the ramp calls
// for now.
func (c *Coordinator) dispatch(r *run, now time.Time) {
	for _, w := range c.connected() {
		if m := r.members[w.id]; m == nil || m.gone {
			if why := r.classesRefused(w); why != "" {
				if !r.satOut[w.id] {
					c.log.Warn("a worker sits this run out", "why", why)
					r.satOut[w.id] = true
				}
				continue
			}
			c.log.Info("worker joined the run", "index", w.index)
			p := r.part(len(r.active()) + 1)
			p.UserSlot, p.UserSlots = r.freeSlot(), r.slots
			c.enlist(r, w, p).slot = p.UserSlot
		}
	}
	for _, m := range r.live() {
		if !m.started && m.state == protocol.Ready {
			if m.started = c.send(m.w, func(conn WorkerConn) error { return conn.Start(r.id, r.data) }); m.started {
				r.newRamp(now)
			}
		}
	}
	active := r.active()
	from := make([]int64, len(active))
	for i, m := range active {
		from[i] = m.from
	}
	shares := Plan(from, r.target, r.rate, now.Sub(r.rampStart))
	perClass := r.classShares(shares)
	for i, m := range active {
		if m.users == shares[i] && maps.Equal(m.classes, perClass[i]) {
			continue
		}
		r.ctlSeq++
		ctl := protocol.Control{RunID: r.id, Seq: r.ctlSeq, Users: shares[i], SpawnRate: r.rate, Classes: perClass[i]}
		if c.send(m.w, func(conn WorkerConn) error { return conn.Control(ctl) }) {
			m.users, m.classes = shares[i], perClass[i]
		}
	}
}

// closeSeconds finalises the time series up to a second ago; stats from workers arrive once a second.
func (c *Coordinator) closeSeconds(r *run, now time.Time) {
	var users int64
	for _, m := range r.live() {
		users += m.w.hb.Users
	}
	closed := r.agg.Series.Close(now.Unix() - 1)
	c.recordGauges(r, closed)
	for _, p := range closed {
		p.Users, p.Workers = users, len(r.live())
		r.points = append(r.points, *p)
	}
	r.rates.mark(&r.agg)
	if r.judge != nil && !r.started.IsZero() {
		elapsed := now.Sub(r.started)
		r.judge.evaluate(&r.agg, elapsed, false)
		// Only while the load runs: after it, a failed threshold fails the run (99) but aborts nothing.
		if t := r.judge.abort(elapsed); t != nil && r.aborted == nil && r.ended.IsZero() {
			r.aborted = fmt.Errorf("%w: %s", ErrThresholdAborted, t.describe())
		}
	}
}

// runTeardown runs teardown() once, on a live worker whose child still answers, after every
// worker's test ended. When it does not complete, r.teardownErr says why.
func (c *Coordinator) runTeardown(r *run) {
	var runner *member
	for _, m := range r.live() {
		if !m.over() {
			runner = m
			break
		}
	}
	if runner == nil {
		if r.started.IsZero() || len(r.order) == 0 {
			return
		}
		r.teardownErr = fmt.Errorf("%w: no worker with a running k6 process was left to run it", ErrTeardownFailed)
		c.log.Error("teardown() did not run", "err", r.teardownErr)
		return
	}
	c.send(runner.w, func(conn WorkerConn) error { return conn.RunTeardown(r.id) })
	timeout := r.opts.TeardownTimeout + phaseMargin
	err := c.await(context.Background(), timeout, func() bool { return r.teardown != nil || runner.gone || runner.over() })
	switch {
	case err != nil:
		r.teardownErr = fmt.Errorf("%w: worker %d gave no answer within %s (the script's teardownTimeout is %s)",
			ErrTeardownFailed, runner.w.index, timeout, r.opts.TeardownTimeout)
	case r.teardown == nil:
		r.teardownErr = fmt.Errorf("%w: worker %d was lost while running it", ErrTeardownFailed, runner.w.index)
	case r.teardown.Error != "":
		r.teardownErr = fmt.Errorf("%w: %s", ErrTeardownFailed, r.teardown.Error)
	}
	if r.teardownErr != nil {
		c.log.Error("teardown() did not complete", "worker", runner.w.index, "err", r.teardownErr)
	}
}

// finishAll ends the run on every live worker and waits for their last stats.
func (c *Coordinator) finishAll(r *run, reason string) {
	for _, m := range r.live() {
		if !m.over() {
			m.finishAsked = true
			c.send(m.w, func(conn WorkerConn) error { return conn.Finish(r.id, reason) })
		}
	}
	err := c.await(context.Background(), finishTimeout, func() bool {
		for _, m := range r.live() {
			if !m.over() {
				return false
			}
		}
		return true
	})
	if err != nil {
		c.log.Warn("some workers did not report their end in time", "timeout", finishTimeout)
	}
	c.closeSeconds(r, time.Now().Add(2*time.Second))
}
