package native

import (
	"math"
	"math/big"
	"time"

	"github.com/stampede-load/stampede/scenario/flow"
)

// startTimes says when an arrival-rate scenario starts its iterations: the fleet's iteration i
// (numbered from 0 across every segment) starts at offset at from the scenario's start, and ok
// is false for an i the scenario never starts (at would be at or past its end). It is a pure
// function of i, so every segment, taking its own striped indices, agrees with the others on
// which of the fleet's iterations exist: the segments' starts add up to the whole's exactly.
type startTimes func(i int64) (at time.Duration, ok bool)

// constantStarts: k6's constant-arrival-rate. Iteration i starts at i periods (the first at 0)
// while that is before dur.
func constantStarts(rate int64, timeUnit, dur time.Duration) startTimes {
	p := period(rate, timeUnit)
	return func(i int64) (time.Duration, bool) {
		at := p * time.Duration(i)
		return at, i >= 0 && at < dur
	}
}

// rampingStarts: k6's ramping-arrival-rate. The rate (iterations per timeUnit) starts at
// startRate and moves linearly to each stage's target over the stage's duration (a stage of 0s
// jumps). Iteration i starts where the integral of the rate from the scenario's start reaches
// i+1: with a constant rate r the first starts at 1/r, not at 0 (unlike constant-arrival-rate),
// as k6's does. The stages' end is the scenario's end: an iteration that would start there or
// later never does.
//
// Which stage holds iteration i, and so whether it starts at all, is decided exactly: each
// stage's area is a rational number of iterations, summed with math/big, so every segment agrees
// on it. Only the offset within the stage is a float64, solved from the quadratic of a linear
// ramp.
func rampingStarts(startRate int64, timeUnit time.Duration, stages []flow.RampStage) startTimes {
	r := newRamp(startRate, timeUnit, stages)
	return r.at
}

// ramp is rampingStarts's plan: per stage, its start, length, rates at both ends in iterations
// per nanosecond, and the area before it and up to its end.
type ramp struct {
	stages []rampStage
	end    time.Duration
}

type rampStage struct {
	start, dur time.Duration
	from, to   float64 // iterations per ns
	// upTo is floor(area up to the stage's end): the stage holds the 1-based iterations n with
	// upTo(previous) < n <= upTo (and the area reaching n within it).
	upTo int64
	// whole: the area up to the stage's end is exactly upTo, so iteration upTo starts exactly
	// at the stage's end.
	whole bool
	// before is the area before the stage: whole iterations and the fraction.
	beforeWhole int64
	beforeFrac  float64
}

func newRamp(startRate int64, timeUnit time.Duration, stages []flow.RampStage) *ramp {
	r := &ramp{}
	area := new(big.Rat) // iterations
	from := startRate
	var at time.Duration
	for _, s := range stages {
		whole, frac := split(area)
		// area of a linear ramp: dur * (from+to)/2 / timeUnit
		a := new(big.Rat).SetFrac(
			new(big.Int).Mul(big.NewInt(int64(s.Duration)), big.NewInt(from+s.Target)),
			new(big.Int).Mul(big.NewInt(2), big.NewInt(int64(timeUnit))))
		area.Add(area, a)
		upTo, _ := split(area)
		r.stages = append(r.stages, rampStage{start: at, dur: s.Duration,
			from: float64(from) / float64(timeUnit), to: float64(s.Target) / float64(timeUnit),
			upTo: upTo, whole: area.IsInt(), beforeWhole: whole, beforeFrac: frac})
		at += s.Duration
		from = s.Target
	}
	r.end = at
	return r
}

// split is x's floor (capped at MaxInt64) and its fraction, for x >= 0.
func split(x *big.Rat) (int64, float64) {
	q, m := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	if !q.IsInt64() {
		return math.MaxInt64, 0
	}
	f, _ := new(big.Rat).SetFrac(m, x.Denom()).Float64()
	return q.Int64(), f
}

func (r *ramp) at(i int64) (time.Duration, bool) {
	if i < 0 || i == math.MaxInt64 {
		return 0, false
	}
	n := i + 1
	for k := range r.stages {
		s := &r.stages[k]
		if n > s.upTo {
			continue
		}
		if n == s.upTo && s.whole {
			at := s.start + s.dur
			return at, at < r.end
		}
		// Strictly inside the stage, so before the end, whatever the float64 offset rounds to.
		rem := float64(n-s.beforeWhole) - s.beforeFrac // the area still to cover in the stage
		return s.start + min(time.Duration(s.offset(rem)), s.dur), true
	}
	return 0, false
}

// offset is where, from the stage's start, the area under the rate reaches rem: the root in
// [0, dur] of from*x + (to-from)/(2*dur)*x² = rem, written as 2*rem/(from+sqrt(from²+2*rem*
// (to-from)/dur)) so that it stays exact for a flat stage and does not cancel for a ramp down.
func (s *rampStage) offset(rem float64) float64 {
	dur := float64(s.dur)
	if rem <= 0 {
		return 0
	}
	d := s.from*s.from + 2*rem*(s.to-s.from)/dur
	den := s.from + math.Sqrt(max(d, 0))
	if den <= 0 {
		return dur
	}
	return min(2*rem/den, dur)
}

// stripes yields a segment's share of the fleet's iteration numbers: start, then
// start+offsets[0], start+offsets[0]+offsets[1], ... cycling through offsets
// (lib.ExecutionTuple.GetStripedOffsets), which interleave the segments' numbers.
type stripes struct {
	i       int64
	offsets []int64
	k       int
}

func newStripes(start int64, offsets []int64) *stripes {
	return &stripes{i: start, offsets: offsets}
}

// next is the segment's next iteration number.
func (s *stripes) next() int64 {
	i := s.i
	s.i += s.offsets[s.k%len(s.offsets)]
	s.k++
	return i
}

// period is the time between two of the fleet's iteration starts at rate per timeUnit, as k6
// computes it (the inverse of the rate, in nanoseconds).
func period(rate int64, timeUnit time.Duration) time.Duration {
	f, _ := new(big.Rat).SetFrac64(int64(timeUnit), rate).Float64()
	return time.Duration(f)
}
