package native

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/scenario/flow"
	"go.k6.io/k6/lib"
)

// Script mode: each of the flow's scenarios is one of k6's executors, run with k6's semantics
// and scaled to this worker's execution segment with k6's own arithmetic (lib.ExecutionTuple),
// so that the fleet's segments together run what one instance would.

var errScriptUsers = errors.New("native engine: script mode: the scenarios' executors decide the users")

// scriptExecutors are the executors script mode runs.
var scriptExecutors = []string{"shared-iterations", "per-vu-iterations", "constant-vus", "constant-arrival-rate", "ramping-vus", "ramping-arrival-rate"}

// planScript reads the segment and checks that every scenario can run.
func (e *Engine) planScript() error {
	if len(e.sc.Scenarios) == 0 {
		return errors.New("script mode: the flow has no scenarios")
	}
	var seg *lib.ExecutionSegment
	var seq *lib.ExecutionSegmentSequence
	if e.opts.Segment != "" {
		s, err := lib.NewExecutionSegmentFromString(e.opts.Segment)
		if err != nil {
			return fmt.Errorf("execution segment %q: %w", e.opts.Segment, err)
		}
		seg = s
	}
	if e.opts.SegmentSequence != "" {
		s, err := lib.NewExecutionSegmentSequenceFromString(e.opts.SegmentSequence)
		if err != nil {
			return fmt.Errorf("execution segment sequence %q: %w", e.opts.SegmentSequence, err)
		}
		seq = &s
	}
	et, err := lib.NewExecutionTuple(seg, seq)
	if err != nil {
		return fmt.Errorf("execution segment %q of %q: %w", e.opts.Segment, e.opts.SegmentSequence, err)
	}
	e.et = et
	for _, ex := range e.sc.Scenarios {
		if !slices.Contains(scriptExecutors, ex.Type) {
			return fmt.Errorf("scenarios.%s: the %s executor is not built yet in the native engine", ex.Name, ex.Type)
		}
		if e.program(ex.Class) == nil {
			return fmt.Errorf("scenarios.%s: class %q is not in the scenario", ex.Name, ex.Class)
		}
	}
	e.rec.setScenarioTags(e.sc.Scenarios)
	e.halt, e.haltStop = context.WithCancel(context.Background())
	return nil
}

func (e *Engine) program(name string) *program {
	for _, c := range e.classes {
		if c.prog.name == name {
			return c.prog
		}
	}
	return nil
}

// startScript starts the scenarios, each at its startTime from now. e.mu is held.
func (e *Engine) startScript() {
	if e.scriptOn || e.stopped {
		return
	}
	e.scriptOn = true
	e.scriptUsers = map[*user]struct{}{}
	e.users.Add(1)
	go func() {
		defer e.users.Done()
		var wg sync.WaitGroup
		for _, ex := range e.sc.Scenarios {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.runExecutor(ex)
			}()
		}
		wg.Wait()
		e.mu.Lock()
		e.scriptEnded = !e.stopped && e.root.Err() == nil
		e.mu.Unlock()
	}()
}

// execRun is one scenario running: soft ends when it must start no more iterations (its
// duration, Stop, the engine's end), hard gracefulStop later, cutting off iterations in flight.
type execRun struct {
	e          *Engine
	ex         *flow.Executor
	prog       *program
	soft, hard context.Context
	users      sync.WaitGroup
}

// runExecutor runs one scenario and returns once its users have all returned.
func (e *Engine) runExecutor(ex *flow.Executor) {
	if ex.StartTime > 0 {
		t := time.NewTimer(ex.StartTime)
		select {
		case <-t.C:
		case <-e.halt.Done():
		case <-e.root.Done():
		}
		t.Stop()
	}
	if e.halt.Err() != nil {
		return
	}
	dur, grace := ex.Duration, ex.GracefulStop
	var ramp rampPlan
	switch ex.Type {
	case "shared-iterations", "per-vu-iterations":
		dur = ex.MaxDuration
	case "ramping-vus":
		ramp = planRampingVUs(ex, e.et)
		dur, _ = lib.GetEndOffset(ramp.raw)
		end, _ := lib.GetEndOffset(ramp.graceful)
		grace = end - dur
	case "ramping-arrival-rate":
		dur = 0
		for _, s := range ex.Stages {
			dur += s.Duration
		}
	}
	begin := time.Now()
	hard, hcancel := context.WithDeadline(e.root, begin.Add(dur+grace))
	defer hcancel()
	soft, scancel := context.WithDeadline(hard, begin.Add(dur))
	defer scancel()
	stop := context.AfterFunc(e.halt, scancel)
	defer stop()
	x := &execRun{e: e, ex: ex, prog: e.program(ex.Class), soft: soft, hard: hard}
	switch ex.Type {
	case "shared-iterations":
		x.sharedIterations()
	case "per-vu-iterations":
		x.perVUIterations()
	case "constant-vus":
		x.constantVUs()
	case "constant-arrival-rate":
		x.arrivalRate(begin, constantStarts(ex.Rate, ex.TimeUnit, dur))
	case "ramping-arrival-rate":
		x.arrivalRate(begin, rampingStarts(ex.StartRate, ex.TimeUnit, ex.Stages))
	case "ramping-vus":
		x.rampingVUs(begin, ramp)
	}
	x.users.Wait()
}

// start starts a user running loop; nil once the engine stops starting users.
func (x *execRun) start(loop func(u *user)) *user {
	e := x.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped || e.root.Err() != nil {
		return nil
	}
	idx := e.nextIdx
	if e.free.Len() > 0 {
		idx = popFree(&e.free)
	} else {
		e.nextIdx++
	}
	ctx, cancel := context.WithCancel(x.hard)
	u := e.newUser(ctx, x.prog, idx, e.userNumber(idx))
	u.scen = x.ex.Name
	u.cancel = cancel
	u.stop = make(chan struct{})
	u.v.setup = *e.setupVals.Load()
	x.users.Add(1)
	u.loop, u.ended = loop, x.users.Done
	e.scriptUsers[u] = struct{}{}
	e.live++
	e.users.Add(1)
	go u.run()
	return u
}

// iterations runs iterations while the scenario may start them and next says so, each followed
// by the class's think time (which the scenario's end cuts short).
func (x *execRun) iterations(u *user, next func() bool) {
	for x.soft.Err() == nil && !u.stopping() && next() {
		begin, ok := u.iterate()
		if !ok || !u.pause(thinkTime(u.prog.think, time.Since(begin), u.v.rng.Float64(), u.v.rng.ExpFloat64()), x.soft.Done()) {
			return
		}
	}
}

// sharedIterations: k6's shared-iterations. The segment's VUs share the segment's iterations,
// both scaled as k6 scales them (the iterations by the tuple k6 derives from the VUs).
func (x *execRun) sharedIterations() {
	et := x.e.et
	vus := et.ScaleInt64(x.ex.VUs)
	if vus == 0 {
		return // k6's HasWork: a segment with no VUs runs nothing (its tuple from the VUs would not exist)
	}
	byVUs, err := et.GetNewExecutionTupleFromValue(x.ex.VUs)
	if err != nil {
		x.e.fail(k6run.ExitScriptError, fmt.Sprintf("native engine: scenarios.%s: %v", x.ex.Name, err))
		return
	}
	iters := byVUs.ScaleInt64(x.ex.Iterations)
	var taken atomic.Int64
	next := func() bool { return taken.Add(1) <= iters }
	for range vus {
		if x.start(func(u *user) { x.iterations(u, next) }) == nil {
			return
		}
	}
}

// perVUIterations: k6's per-vu-iterations: each of the segment's VUs runs iterations.
func (x *execRun) perVUIterations() {
	for range x.e.et.ScaleInt64(x.ex.VUs) {
		u := x.start(func(u *user) {
			n := int64(0)
			x.iterations(u, func() bool { n++; return n <= x.ex.Iterations })
		})
		if u == nil {
			return
		}
	}
}

// constantVUs: k6's constant-vus: the segment's VUs iterate for the duration.
func (x *execRun) constantVUs() {
	for range x.e.et.ScaleInt64(x.ex.VUs) {
		if x.start(func(u *user) { x.iterations(u, func() bool { return true }) }) == nil {
			return
		}
	}
}

// arrivalRate: k6's constant-arrival-rate and ramping-arrival-rate. The fleet's iteration i
// starts at starts(i); this segment starts its striped share of them (the striped offsets of the
// tuple k6 derives from maxVUs, which interleave the segments' numbers), each on a free VU of its
// own. With none free the iteration is dropped (dropped_iterations, as k6 counts it: whether or
// not maxVUs is reached) and, below maxVUs, one more VU starts, which takes a later iteration.
// A start that comes late (the loop behind its schedule) is made at once, not dropped; starts
// still due at the scenario's end are not made, as in k6.
func (x *execRun) arrivalRate(begin time.Time, starts startTimes) {
	e, ex := x.e, x.ex
	pre, maxVUs := e.et.ScaleInt64(ex.PreAllocatedVUs), e.et.ScaleInt64(ex.MaxVUs)
	if maxVUs == 0 {
		return // k6's HasWork: a segment with no VUs starts nothing; the others start it all
	}
	byMax, err := e.et.GetNewExecutionTupleFromValue(ex.MaxVUs)
	if err != nil {
		e.fail(k6run.ExitScriptError, fmt.Sprintf("native engine: scenarios.%s: %v", ex.Name, err))
		return
	}
	// A VU is free from its start until it takes an iteration, and again once the iteration and
	// its think time are over. busy and live are counted here rather than by who is waiting on
	// work at the moment, so that a VU just started (its goroutine not yet at the select) counts as
	// free, as k6's pre-allocated VUs do: the first iteration was dropped when it came first.
	var busy, live atomic.Int64
	work := make(chan struct{})
	loop := func(u *user) {
		defer live.Add(-1)
		for {
			select {
			case <-work:
			case <-x.soft.Done():
				return
			case <-u.stop:
				return
			}
			begin, ok := u.iterate()
			ok = ok && u.pause(thinkTime(u.prog.think, time.Since(begin), u.v.rng.Float64(), u.v.rng.ExpFloat64()), x.soft.Done())
			busy.Add(-1)
			if !ok {
				return
			}
		}
	}
	startVU := func() bool {
		live.Add(1)
		if x.start(loop) == nil {
			live.Add(-1)
			return false
		}
		return true
	}
	var vus int64
	for ; vus < pre; vus++ {
		if !startVU() {
			return
		}
	}
	first, offsets, _ := byMax.GetStripedOffsets()
	idx := newStripes(first, offsets)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		at, ok := starts(idx.next())
		if !ok {
			return
		}
		if wait := time.Until(begin.Add(at)); wait > 0 {
			t.Reset(wait)
			select {
			case <-t.C:
			case <-x.soft.Done():
				return
			}
		} else if x.soft.Err() != nil {
			return
		}
		if busy.Load() < live.Load() { // a free VU takes it, at once or as soon as it is at its select
			busy.Add(1)
			select {
			case work <- struct{}{}:
				continue
			case <-x.soft.Done():
				return
			}
		}
		e.rec.dropped(e.rec.shard(0), ex.Name)
		if vus < maxVUs && startVU() {
			vus++
		}
	}
}
