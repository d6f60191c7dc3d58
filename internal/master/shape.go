package master

import (
	"fmt"
	"time"

	"github.com/stampede-load/stampede/scenario"
)

// A load shape (Locust's LoadTestShape) drives a swarm run's users: a script that declares one in
// options.ext.stampede.shape and is started without users runs in swarm mode, each stage asking for
// its users at its spawn rate in turn from the moment the load starts, and the run ends when the
// last stage has run. A live change of users or rate (Update) takes over: the shape stops and the
// run goes on at what was asked, until it is stopped or reaches its run time, as in Locust.

// shaped is a run's load shape as it plays.
type shaped struct {
	stages scenario.Shape
	stage  int  // the stage playing: -1 before the first, len(stages) once every stage has run
	off    bool // taken over by a live change: the shape no longer steers
}

// ended says every stage has run (false for a run without a shape).
func (s *shaped) ended() bool { return s != nil && s.stage == len(s.stages) }

// useShape makes r a shape-driven swarm run when its script declares a shape and the run asks for
// no users of its own. Call it once the script is inspected.
func (r *run) useShape(opts *scenario.Options) error {
	if r.cfg.Users > 0 || opts == nil || opts.Swarm == nil || len(opts.Swarm.Shape) == 0 {
		if r.cfg.Shaped {
			return fmt.Errorf("%w: the run asks for the script's load shape, and %s declares none "+
				"(options.ext.stampede.shape; see docs/locust.md)", ErrBadSettings, r.cfg.Script)
		}
		return nil
	}
	r.mode = scenario.Swarm
	r.shape = &shaped{stages: opts.Swarm.Shape, stage: -1}
	first := opts.Swarm.Shape[0]
	r.target, r.rate = first.Users, first.SpawnRate
	return nil
}

// steerShape moves the run to the stage the shape is at now, on the loop's tick.
func (c *Coordinator) steerShape(r *run, now time.Time) {
	s := r.shape
	if s == nil || s.off || s.ended() || r.started.IsZero() {
		return
	}
	stage, users, rate, ended := s.stages.At(now.Sub(r.started))
	switch {
	case ended:
		s.stage = stage // len(s.stages)
		c.log.Info("the load shape ended", "stages", len(s.stages))
	case stage != s.stage:
		s.stage = stage
		r.target, r.rate = users, rate
		r.newRamp(now)
		c.log.Info("load shape stage", "stage", stage+1, "of", len(s.stages), "users", users, "spawn_rate", rate)
	}
}

// takeOver stops the shape: a live change was asked for.
func (c *Coordinator) takeOver(r *run) {
	if r.shape != nil && !r.shape.off && !r.shape.ended() {
		r.shape.off = true
		c.log.Info("a live change took over from the load shape", "at_stage", r.shape.stage+1)
	}
}

// shapeInfo is where r's load shape stands (nil: r has none).
func (r *run) shapeInfo() *ShapeInfo {
	sh := r.shape
	if sh == nil {
		return nil
	}
	return &ShapeInfo{Stages: sh.stages, Stage: sh.stage, TakenOver: sh.off}
}
