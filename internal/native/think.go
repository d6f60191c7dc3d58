package native

import (
	"time"

	"github.com/stampede-load/stampede/scenario/flow"
)

// thinkTime is how long a pause of t lasts, elapsed after the iteration began. u is a uniform
// sample in [0, 1) and x an exponential one with mean 1, drawn by the caller, so this is a pure
// function of its arguments. Pacing is Locust's constant_pacing: what is left of Min, or nothing
// when the iteration took longer.
func thinkTime(t *flow.Think, elapsed time.Duration, u, x float64) time.Duration {
	if t == nil {
		return 0
	}
	switch t.Kind {
	case flow.ThinkUniform:
		return t.Min + time.Duration(u*float64(t.Max-t.Min))
	case flow.ThinkPacing:
		return max(t.Min-elapsed, 0)
	case flow.ThinkExponential:
		return time.Duration(x * float64(t.Min))
	default:
		return t.Min
	}
}
