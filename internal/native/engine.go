package native

import (
	"container/heap"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario/flow"
	"go.k6.io/k6/lib"
)

// Options describe one run of a flow scenario on this worker.
type Options struct {
	// Scenario is the parsed flow (flow.Parse); required.
	Scenario *flow.Scenario
	// Data are its data sets (Scenario.LoadData); every set the scenario declares is required.
	Data map[string]*flow.Table
	// Env is the run's -e values, read by ${__ENV.X} and ${X:-default}.
	Env map[string]string
	// CA is the scenario's tls.ca file (Scenario.LoadCA), required when it names one.
	CA []byte
	// Dial opens every connection; the worker passes one that enforces its allow-list. Nil: a
	// net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logs receives run-time errors worth a line (a network error, a capture that found
	// nothing), at most logsPerSecond a second; nil discards them.
	Logs func(protocol.LogLine)
	// FlushInterval is how often a delta is sent while anything was recorded; 0: 50 ms.
	FlushInterval time.Duration
	// Classes are the class names this run uses, in order; nil: all of the scenario's.
	Classes []string
	// UserSlot and UserSlots number the users fleet-wide, as the master gives them
	// (scenario.Part): user idx (from 0) is number idx*UserSlots + UserSlot + 1 (${vu}, and the
	// rows of each: user data sets). UserSlots 0 is a fleet of one.
	UserSlot, UserSlots int64
	// Submetrics are the sub-metric selectors (scenario.Part.Submetrics) whose samples are also
	// filed under the selector's canonical key; nil: those of the scenario's thresholds and k6's
	// http_req_duration{expected_response:true}.
	Submetrics []string
	// Alive reports whether the worker still supervises the engine, as k6run.RunOptions.Alive does
	// for a k6 child: when it has said no for k6run.LivenessTimeout, the engine stops its load by
	// itself and ends with an error. nil: always.
	Alive func() bool
	// Script runs the flow's scenarios (Scenario.Scenarios), k6's executors, from Resume: script
	// mode. Then the executors decide the users, SetVUs and SetClasses are refused, every class
	// is compiled (Classes is ignored), and once every scenario has ended Status reports the run
	// ended (k6's ExecutionStatus Ended) and the engine lingers for Teardown, as a k6 child does.
	Script bool
	// Segment and SegmentSequence are this worker's k6 execution segment and the fleet's
	// sequence (scenario.Part's, k6 syntax: "0:1/2", "0,1/2,1"); empty: the whole test. Script
	// mode scales every executor by them exactly as k6 does.
	Segment, SegmentSequence string
}

// DefaultFlushInterval is how often deltas go out when Options leave it unset.
const DefaultFlushInterval = 50 * time.Millisecond

// userGrace is how long a user stopped by SetVUs or SetClasses may take to finish the request in
// flight before its context is cancelled (k6's default gracefulStop).
const userGrace = 30 * time.Second

// k6's lib.ExecutionStatus values, as k6run.Status reports them.
const (
	statusPausedBeforeRun = 4
	statusSetup           = 6
	statusRunning         = 7
	statusTeardown        = 8
	statusEnded           = 9
	statusInterrupted     = 10
)

// ErrExited is returned by calls made after the engine ended.
var ErrExited = errors.New("native engine: the run has ended")

// Engine runs a flow scenario's users in this process. See the package doc.
type Engine struct {
	opts     Options
	sc       *flow.Scenario
	timeout  time.Duration
	baseURL  string
	tables   []*flow.Table
	classes  []*class // the run's, in Options.Classes order
	setupP   *program
	teardown *program
	setupN   int // setup's capture slots
	setupNm  map[string]int
	rec      *recorder
	iterCur  []atomic.Int64 // per data set: the shared cursor of each: iteration

	hostMu sync.RWMutex
	hosts  map[string]*hostConf
	tls    *tls.Config // every https host's: the system roots, tls.ca, serverName
	http2  bool        // the flow's http2: requests go through net/http (http2.go)

	setupVals atomic.Pointer[[]string]

	root   context.Context
	cancel context.CancelFunc
	stopCh func() bool // stops watching Start's context

	mu       sync.Mutex
	resumed  bool
	stopped  bool
	phase    int // statusSetup or statusTeardown while one runs, else 0
	vus      int64
	vusMax   int64
	targets  map[string]int64
	live     int // user goroutines that have not returned
	nextIdx  int
	free     idxHeap
	allEnded chan struct{} // closed once stopped and live == 0
	killed   bool
	code     int
	msg      string

	et          *lib.ExecutionTuple // script mode: this worker's share
	scriptUsers map[*user]struct{}  // script mode: the users running
	scriptOn    bool                // script mode: Resume started the scenarios
	scriptEnded bool                // script mode: every scenario has ended
	halt        context.Context     // script mode: ends at the first stop
	haltStop    context.CancelFunc

	users  sync.WaitGroup
	deltas chan *stats.Delta
	exited chan struct{}

	logMu      sync.Mutex
	logWindow  time.Time
	logCount   int
	logDropped int
}

// class is one user class of the run and its users, newest last.
type class struct {
	prog  *program
	users []*user
}

// Start compiles the scenario and returns an engine whose users wait for Resume. The engine ends
// when ctx ends (as Kill), when Terminate or Kill is called, or when a user panics.
func Start(ctx context.Context, opts Options) (*Engine, error) {
	sc := opts.Scenario
	if sc == nil {
		return nil, errors.New("native engine: no scenario")
	}
	for _, name := range sc.RequiredEnv {
		if _, ok := opts.Env[name]; !ok {
			return nil, fmt.Errorf("native engine: %s: ${__ENV.%s} is not set: pass -e %s=...", sc.File, name, name)
		}
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.Submetrics == nil {
		opts.Submetrics = []string{"http_req_duration{expected_response:true}"}
		for _, t := range sc.Thresholds {
			opts.Submetrics = append(opts.Submetrics, t.Selector.Key())
		}
	}
	e := &Engine{opts: opts, sc: sc, timeout: sc.Timeout, hosts: map[string]*hostConf{},
		rec: newRecorder(runtime.GOMAXPROCS(0), opts.Submetrics), allEnded: make(chan struct{}),
		deltas: make(chan *stats.Delta, 16), exited: make(chan struct{})}
	if e.timeout <= 0 {
		e.timeout = flow.DefaultTimeout
	}
	if err := e.httpConfig(); err != nil {
		return nil, fmt.Errorf("native engine: %s: %w", sc.File, err)
	}
	if err := e.compile(); err != nil {
		return nil, fmt.Errorf("native engine: %s: %w", sc.File, err)
	}
	if opts.Script {
		if err := e.planScript(); err != nil {
			return nil, fmt.Errorf("native engine: %s: %w", sc.File, err)
		}
	}
	empty := []string{}
	e.setupVals.Store(&empty)
	e.root, e.cancel = context.WithCancel(context.Background())
	e.stopCh = context.AfterFunc(ctx, e.Kill)
	go e.supervise()
	return e, nil
}

func (e *Engine) compile() error {
	sc := e.sc
	env := e.opts.Env
	top := scope{env: env, noCheck: true}
	vars := map[string]string{}
	for _, v := range sc.Vars {
		t, err := top.compileTemplate(v.Value)
		if err != nil {
			return fmt.Errorf("vars.%s: %w", v.Name, err)
		}
		vars[v.Name], _ = t.literal()
	}
	if sc.BaseURL != nil {
		t, err := top.compileTemplate(sc.BaseURL)
		if err != nil {
			return fmt.Errorf("baseUrl: %w", err)
		}
		e.baseURL, _ = t.literal()
		if _, _, _, ok := splitURL(e.baseURL); !ok {
			return fmt.Errorf("baseUrl %q is not an http:// or https:// URL", e.baseURL)
		}
	}
	data := map[string]int{}
	for i, d := range sc.Data {
		t := e.opts.Data[d.Name]
		if t == nil || len(t.Rows) == 0 {
			return fmt.Errorf("data set %s (%s) is not loaded", d.Name, d.File)
		}
		data[d.Name] = i
		e.tables = append(e.tables, t)
	}
	e.iterCur = make([]atomic.Int64, len(sc.Data))
	base := scope{env: env, vars: vars, data: data, tables: e.tables}

	// Setup: its captures are the run's setup values.
	e.setupNm = map[string]int{}
	sp := &compiler{e: e, names: e.setupNm, group: "::setup"}
	sp.scope = base
	sp.scope.setup, sp.scope.caps = e.setupNm, e.setupNm
	steps, err := sp.steps(sc.Setup, nil)
	if err != nil {
		return err
	}
	e.setupN = sp.next
	e.setupP = &program{name: "setup", steps: steps, ncaps: sp.next}

	td := &compiler{e: e, names: map[string]int{}, group: "::teardown"}
	td.scope = base
	td.scope.setup, td.scope.caps = e.setupNm, td.names
	if steps, err = td.steps(sc.Teardown, nil); err != nil {
		return err
	}
	e.teardown = &program{name: "teardown", steps: steps, ncaps: td.next}

	names := e.opts.Classes
	if names == nil || e.opts.Script {
		names = nil
		for _, c := range sc.Classes {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		return errors.New("no user class to run")
	}
	for _, name := range names {
		i := slices.IndexFunc(sc.Classes, func(c *flow.Class) bool { return c.Name == name })
		if i < 0 {
			return fmt.Errorf("class %q is not in the scenario", name)
		}
		p, err := e.compileClass(sc.Classes[i], base)
		if err != nil {
			return err
		}
		e.classes = append(e.classes, &class{prog: p})
	}
	return nil
}

func (e *Engine) compileClass(fc *flow.Class, base scope) (*program, error) {
	c := &compiler{e: e, names: map[string]int{}}
	c.scope = base
	c.scope.setup, c.scope.caps = e.setupNm, c.names
	p := &program{name: fc.Name, weight: fc.Weight, think: fc.Think}
	if p.think == nil {
		p.think = e.sc.Think
	}
	var err error
	if p.onStart, err = c.steps(fc.OnStart, fc); err != nil {
		return nil, err
	}
	if p.steps, err = c.steps(fc.Steps, fc); err != nil {
		return nil, err
	}
	for _, t := range fc.Tasks {
		steps, err := c.steps(t.Steps, fc)
		if err != nil {
			return nil, err
		}
		p.tasks = append(p.tasks, ctask{weight: t.Weight, steps: steps})
		p.taskTotal += t.Weight
	}
	p.ncaps = c.next
	return p, nil
}

// supervise ends the engine once the root context is done and every user has returned: the
// last delta, then Deltas closes, then Exited.
func (e *Engine) supervise() {
	t := time.NewTicker(e.opts.FlushInterval)
	defer t.Stop()
	live := time.NewTicker(k6run.LivenessTimeout / 10)
	defer live.Stop()
	lastAlive := time.Now()
	done := make(chan struct{})
	go func() {
		<-e.root.Done()
		e.users.Wait()
		close(done)
	}()
	for {
		select {
		case now := <-t.C:
			if d := e.rec.flush(now); d != nil {
				e.deltas <- d
			}
		case now := <-live.C:
			switch quiet := now.Sub(lastAlive); {
			case e.opts.Alive == nil || e.opts.Alive():
				lastAlive = now
			case quiet > k6run.LivenessTimeout:
				// A load generator never runs unsupervised: the worker froze, or stopped reading.
				e.fail(k6run.ExitScriptError, fmt.Sprintf("native engine: stopping the load: the worker has not supervised it for %s",
					quiet.Round(100*time.Millisecond)))
			}
		case <-done:
			e.stopCh()
			e.hostMu.RLock()
			for _, h := range e.hosts {
				h.pool.close()
			}
			e.hostMu.RUnlock()
			if d := e.rec.flush(time.Now()); d != nil {
				e.deltas <- d
			}
			close(e.deltas)
			close(e.exited)
			return
		}
	}
}

// WaitReady returns at once: Start compiled everything. It fails when the engine has ended.
func (e *Engine) WaitReady(ctx context.Context) error {
	select {
	case <-e.exited:
		code, msg := e.ExitCode()
		return &k6run.ExitError{Code: code, Message: msg}
	default:
		return ctx.Err()
	}
}

// Setup runs the scenario's setup steps once and returns their captures as a JSON object
// ({"token": "..."}; null without setup). A request error does not fail it; a capture that
// finds nothing does.
func (e *Engine) Setup(ctx context.Context) (json.RawMessage, error) {
	if len(e.setupP.steps) == 0 {
		return json.RawMessage("null"), nil
	}
	vals := make([]string, e.setupN)
	if err := e.runOnce(ctx, e.setupP, vals, statusSetup); err != nil {
		return nil, fmt.Errorf("setup failed: %w", err)
	}
	out := make(map[string]string, len(e.setupNm))
	for name, slot := range e.setupNm {
		out[name] = vals[slot]
	}
	return json.Marshal(out)
}

// SetSetupData gives every user the setup captures another worker's Setup returned. Non-string
// values are kept as their JSON text.
func (e *Engine) SetSetupData(ctx context.Context, data json.RawMessage) error {
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("native engine: setup data: want a JSON object: %w", err)
	}
	vals := make([]string, e.setupN)
	for name, slot := range e.setupNm {
		raw, ok := m[name]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		vals[slot] = s
	}
	e.setupVals.Store(&vals)
	return nil
}

// Teardown runs the scenario's teardown steps once, reading the setup captures.
func (e *Engine) Teardown(ctx context.Context) error {
	if len(e.teardown.steps) == 0 {
		return nil
	}
	if err := e.runOnce(ctx, e.teardown, make([]string, e.teardown.ncaps), statusTeardown); err != nil {
		return fmt.Errorf("teardown failed: %w", err)
	}
	return nil
}

// runOnce runs setup's or teardown's steps in the caller's goroutine as user 0.
func (e *Engine) runOnce(ctx context.Context, p *program, caps []string, phase int) error {
	select {
	case <-e.root.Done():
		return ErrExited
	default:
	}
	e.mu.Lock()
	e.phase = phase
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.phase = 0
		e.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(e.root, cancel)
	defer stop()
	u := e.newUser(ctx, nil, 0, 0)
	defer u.close()
	u.v.caps = caps
	u.v.setup = *e.setupVals.Load()
	if phase == statusSetup {
		u.v.setup = caps // setup's later steps read its earlier captures
	}
	u.scen = ""
	res, err := u.runSteps(p.steps)
	if err != nil {
		return err
	}
	switch res {
	case stepCaptureFailed:
		return fmt.Errorf("a capture found nothing: %s", u.lastCaptureFail)
	case stepCancelled, stepStopped:
		return context.Cause(ctx)
	}
	return nil
}

// Resume lets users run: those SetVUs or SetClasses asked for start now.
func (e *Engine) Resume(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.root.Err() != nil {
		return ErrExited
	}
	e.resumed = true
	if e.opts.Script {
		e.startScript()
		return nil
	}
	e.reconcile()
	return nil
}

// SetVUs asks for exactly vus users (swarm mode). vusMax is only reported back.
func (e *Engine) SetVUs(ctx context.Context, vus, vusMax int64) error {
	if vus < 0 {
		return fmt.Errorf("native engine: %d users", vus)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.root.Err() != nil {
		return ErrExited
	}
	if e.opts.Script {
		return errScriptUsers
	}
	e.vus, e.vusMax = vus, max(vus, vusMax)
	e.reconcile()
	return nil
}

// SetClasses asks for exactly targets[c] users of class c, and so for their sum in all: users
// start in the classes that are short and stop in those that are over; a user never changes
// class. A class of the run left out of targets gets none.
func (e *Engine) SetClasses(targets map[string]int64) error {
	if e.opts.Script {
		return errScriptUsers
	}
	var sum int64
	for name, n := range targets {
		if n < 0 {
			return fmt.Errorf("native engine: class %s: %d users", name, n)
		}
		if !slices.ContainsFunc(e.classes, func(c *class) bool { return c.prog.name == name }) {
			return fmt.Errorf("native engine: class %q is not one of this run's", name)
		}
		sum += n
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.root.Err() != nil {
		return ErrExited
	}
	e.targets = targets
	e.vus, e.vusMax = sum, max(sum, e.vusMax)
	e.reconcile()
	return nil
}

// Stop stops starting iterations: every user finishes the request in flight and ends. It
// waits for that until ctx ends; the engine then lingers for Teardown until Terminate or Kill.
func (e *Engine) Stop(ctx context.Context) error {
	e.stopAll()
	select {
	case <-e.allEnded:
	case <-ctx.Done():
	}
	return nil
}

// stopAll stops every user and any start to come.
func (e *Engine) stopAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return
	}
	e.stopped = true
	if e.haltStop != nil {
		e.haltStop()
	}
	for _, c := range e.classes {
		for _, u := range c.users {
			u.stopSoon()
		}
		c.users = nil
	}
	for u := range e.scriptUsers {
		u.stopSoon()
	}
	if e.live == 0 {
		close(e.allEnded)
	}
}

// Terminate stops the users as Stop does, waits for them up to grace, then ends the engine.
// It returns once Exited is closed.
func (e *Engine) Terminate(grace time.Duration) {
	e.stopAll()
	t := time.NewTimer(grace)
	select {
	case <-e.allEnded:
	case <-t.C:
	case <-e.root.Done():
	}
	t.Stop()
	e.mu.Lock()
	e.cancel()
	e.mu.Unlock()
	<-e.exited
}

// Kill ends the engine at once: requests in flight are cut off (and not recorded). It does
// not wait; Exited closes once every user has returned.
func (e *Engine) Kill() {
	e.mu.Lock()
	if !e.stopped && e.code == 0 {
		e.killed = true
	}
	e.cancel() // under e.mu: reconcile starts no user after it
	e.mu.Unlock()
}

// fail ends the engine with an error, as a script error ends k6.
func (e *Engine) fail(code int, msg string) {
	e.mu.Lock()
	if e.code == 0 {
		e.code, e.msg = code, msg
	}
	e.cancel()
	e.mu.Unlock()
}

// Status reports the run as k6's REST API would: paused before Resume, running, or
// interrupted after Stop; VUs are the users running.
func (e *Engine) Status(ctx context.Context) (k6run.Status, error) {
	select {
	case <-e.exited:
		return k6run.Status{}, ErrExited
	default:
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st := k6run.Status{VUsMax: e.vusMax}
	switch {
	case e.scriptEnded:
		st.Status = statusEnded
	case e.stopped:
		st.Status, st.Stopped = statusInterrupted, true
	case e.phase != 0:
		st.Status = e.phase
	case !e.resumed:
		st.Status, st.Paused = statusPausedBeforeRun, true
	default:
		st.Status, st.Running = statusRunning, true
		for _, c := range e.classes {
			st.VUs += int64(len(c.users))
		}
		st.VUs += int64(len(e.scriptUsers))
	}
	return st, nil
}

// Deltas delivers a delta every FlushInterval while anything was recorded, and a last one; it
// is closed just before Exited.
func (e *Engine) Deltas() <-chan *stats.Delta { return e.deltas }

// Exited is closed once every user has returned and the last delta was sent.
func (e *Engine) Exited() <-chan struct{} { return e.exited }

// ExitCode is 0 after a stop (Stop, Terminate), k6's script-error code (107) and the panic
// after a user panicked, and -1 ("killed") when the engine was killed or its context ended
// before any stop. Valid after Exited is closed.
func (e *Engine) ExitCode() (int, string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.code != 0:
		return e.code, e.msg
	case e.killed:
		return -1, "the native engine was killed before the run stopped"
	}
	return 0, ""
}

// Pid is this process's: the engine runs in the worker.
func (e *Engine) Pid() int { return os.Getpid() }

// reconcile starts and stops users until each class has what it should. e.mu is held.
func (e *Engine) reconcile() {
	if !e.resumed || e.stopped || e.root.Err() != nil {
		return
	}
	want := e.want()
	for i, c := range e.classes {
		for int64(len(c.users)) < want[i] {
			c.users = append(c.users, e.startUser(c))
		}
		for int64(len(c.users)) > want[i] {
			n := len(c.users) - 1
			c.users[n].stopSoon()
			c.users[n] = nil
			c.users = c.users[:n]
		}
	}
}

// want is each class's number of users: the targets when they add up to the users asked for,
// else the users spread over the targets', or without targets the classes', weights.
func (e *Engine) want() []int64 {
	weights := make([]int64, len(e.classes))
	if e.targets != nil {
		var sum int64
		for i, c := range e.classes {
			weights[i] = e.targets[c.prog.name]
			sum += weights[i]
		}
		if sum == e.vus {
			return weights
		}
		if sum > 0 {
			return apportion(e.vus, weights)
		}
	}
	for i, c := range e.classes {
		weights[i] = c.prog.weight
	}
	return apportion(e.vus, weights)
}

// startUser starts a user of c with the lowest free index. e.mu is held.
func (e *Engine) startUser(c *class) *user {
	idx := e.nextIdx
	if e.free.Len() > 0 {
		idx = heap.Pop(&e.free).(int)
	} else {
		e.nextIdx++
	}
	ctx, cancel := context.WithCancel(e.root)
	u := e.newUser(ctx, c.prog, idx, e.userNumber(idx))
	u.cancel = cancel
	u.stop = make(chan struct{})
	u.v.setup = *e.setupVals.Load()
	e.live++
	e.users.Add(1)
	go u.run()
	return u
}

// userEnded is called by every user goroutine as it returns.
func (e *Engine) userEnded(u *user) {
	e.mu.Lock()
	heap.Push(&e.free, u.idx)
	delete(e.scriptUsers, u)
	e.live--
	if e.live == 0 && e.stopped {
		select {
		case <-e.allEnded:
		default:
			close(e.allEnded)
		}
	}
	e.mu.Unlock()
	if u.ended != nil {
		u.ended()
	}
	e.users.Done()
}

// logsPerSecond bounds the run-time log lines; the rest are counted in a later line.
const logsPerSecond = 10

func (e *Engine) logLine(level, source, msg string) {
	if e.opts.Logs == nil {
		return
	}
	now := time.Now()
	e.logMu.Lock()
	var dropped int
	if now.Sub(e.logWindow) >= time.Second {
		dropped = e.logDropped
		e.logWindow, e.logCount, e.logDropped = now, 0, 0
	}
	ok := e.logCount < logsPerSecond
	if ok {
		e.logCount++
	} else {
		e.logDropped++
	}
	e.logMu.Unlock()
	if dropped > 0 {
		e.opts.Logs(protocol.LogLine{Time: now, Level: "warning", Source: "stampede",
			Message: fmt.Sprintf("%d native engine log lines dropped (limit %d/s)", dropped, logsPerSecond)})
	}
	if ok {
		e.opts.Logs(protocol.LogLine{Time: now, Level: level, Source: source, Message: msg})
	}
}

// idxHeap is a min-heap of free user indexes, so new users take the lowest.
type idxHeap []int

func (h idxHeap) Len() int           { return len(h) }
func (h idxHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h idxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idxHeap) Push(x any)        { *h = append(*h, x.(int)) }
func popFree(h *idxHeap) int         { return heap.Pop(h).(int) }

func (h *idxHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// userNumber is the fleet-wide number of the user at idx (Options.UserSlot).
func (e *Engine) userNumber(idx int) int64 {
	return int64(idx)*max(e.opts.UserSlots, 1) + e.opts.UserSlot + 1
}
