package native

import (
	"context"
	"sync"
	"time"

	"github.com/stampede-load/stampede/scenario/flow"
	"go.k6.io/k6/lib"
	"go.k6.io/k6/lib/executor"
	"go.k6.io/k6/lib/types"
	"gopkg.in/guregu/null.v3"
)

// rampPlan is k6's plan of a ramping-vus scenario for this worker's segment, each a list of
// (time offset from the scenario's start, VUs): raw is how many VUs run iterations (its last
// step, 0 VUs, is the end of the stages), graceful how many may still exist, finishing the
// iteration they were in when raw took them away (gracefulRampDown, then gracefulStop; its last
// step, 0 VUs, is the hard end).
type rampPlan struct {
	raw, graceful []lib.ExecutionStep
}

// planRampingVUs asks k6 for the plan. k6 exports only the graceful steps
// (RampingVUsConfig.GetExecutionRequirements); its raw steps are the same call with no
// gracefulRampDown and no gracefulStop, which leaves them unchanged but for the step to 0 VUs
// at the end of the stages that k6's executor adds to them.
func planRampingVUs(ex *flow.Executor, et *lib.ExecutionTuple) rampPlan {
	c := executor.NewRampingVUsConfig(ex.Name)
	c.StartVUs = null.IntFrom(ex.StartVUs)
	c.GracefulStop = types.NullDurationFrom(ex.GracefulStop)
	c.GracefulRampDown = types.NullDurationFrom(ex.GracefulRampDown)
	for _, s := range ex.Stages {
		c.Stages = append(c.Stages, executor.Stage{Duration: types.NullDurationFrom(s.Duration), Target: null.IntFrom(s.Target)})
	}
	graceful := c.GetExecutionRequirements(et)
	c.GracefulStop, c.GracefulRampDown = types.NullDurationFrom(0), types.NullDurationFrom(0)
	return rampPlan{raw: c.GetExecutionRequirements(et), graceful: graceful}
}

// rampingVUs: k6's ramping-vus. The plan's VUs are numbered slots, as k6's VU handles are: raw
// steps start slots 0..n-1 and stop the rest gracefully (a user ends once its iteration and
// think time are over, or keeps going if its slot is started again first); graceful steps
// cut off the iterations of the slots above theirs. At equal offsets raw steps go first. Once
// the stages are over (or the scenario is stopped) every slot stops gracefully, and the
// graceful steps left run until the users have all ended or the hard end.
func (x *execRun) rampingVUs(begin time.Time, p rampPlan) {
	slots := make([]*rampSlot, lib.GetMaxPlannedVUs(p.graceful))
	for i := range slots {
		slots[i] = &rampSlot{x: x}
	}
	var running, allowed uint64
	schedule := func(n uint64) {
		for ; running < n; running++ {
			slots[running].start()
		}
		for ; n < running; running-- {
			slots[running-1].stop()
		}
	}
	allow := func(n uint64) {
		for ; n < allowed; allowed-- {
			slots[allowed-1].cut()
		}
		allowed = n
	}
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	wait := func(ctx context.Context, at time.Duration) bool {
		t.Reset(time.Until(begin.Add(at)))
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	i, j := 0, 0
	for i < len(p.raw) {
		if j < len(p.graceful) && p.graceful[j].TimeOffset < p.raw[i].TimeOffset {
			if !wait(x.soft, p.graceful[j].TimeOffset) {
				break
			}
			allow(p.graceful[j].PlannedVUs)
			j++
			continue
		}
		if !wait(x.soft, p.raw[i].TimeOffset) {
			break
		}
		schedule(p.raw[i].PlannedVUs)
		i++
	}
	schedule(0)
	rest, cancel := context.WithCancel(x.hard)
	defer cancel()
	go func() {
		x.users.Wait()
		cancel()
	}()
	for ; j < len(p.graceful); j++ {
		if !wait(rest, p.graceful[j].TimeOffset) {
			return
		}
		allow(p.graceful[j].PlannedVUs)
	}
}

// rampSlot is one of ramping-vus's numbered VUs.
type rampSlot struct {
	x    *execRun
	mu   sync.Mutex
	on   bool          // the user may start iterations
	off  chan struct{} // closed when on turns false: ends the think time
	user *user         // the slot's user, until it ends
}

// start lets the slot's user go on, or starts one.
func (s *rampSlot) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.on {
		return
	}
	s.on, s.off = true, make(chan struct{})
	if s.user != nil && s.user.ctx.Err() == nil {
		return
	}
	s.user = s.x.start(s.loop)
}

// stop lets the user finish its iteration, then end.
func (s *rampSlot) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.on {
		s.on = false
		close(s.off)
	}
}

// cut cuts off the iteration of a stopped slot's user.
func (s *rampSlot) cut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.on && s.user != nil {
		s.user.cancel()
	}
}

// loop runs the slot's user's iterations, each followed by its think time, while the slot is on.
func (s *rampSlot) loop(u *user) {
	for {
		s.mu.Lock()
		if !s.on || s.user != u || u.stopping() || s.x.soft.Err() != nil {
			if s.user == u {
				s.user = nil
			}
			s.mu.Unlock()
			return
		}
		off := s.off
		s.mu.Unlock()
		if begin, ok := u.iterate(); ok {
			u.pause(thinkTime(u.prog.think, time.Since(begin), u.v.rng.Float64(), u.v.rng.ExpFloat64()), off)
		}
	}
}
