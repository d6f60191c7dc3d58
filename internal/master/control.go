package master

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// Errors of live control; the API answers them with 409 Conflict.
var (
	ErrNoRun       = errors.New("no run in progress")
	ErrNotSwarm    = errors.New("the run follows the script's own scenarios (script mode); its users cannot be changed")
	ErrNoWorkers   = errors.New("no worker is connected")
	ErrBadSettings = errors.New("invalid run settings")
)

// Update changes the users and the spawn rate of the run in progress (Swarm mode); nil leaves a
// value as it is. The whole fleet ramps from what it runs now to the new users at the new rate.
func (c *Coordinator) Update(users *int64, spawnRate *float64) error {
	err := ErrNoRun
	c.do(func() { err = c.update(users, spawnRate) })
	return err
}

func (c *Coordinator) update(users *int64, spawnRate *float64) error {
	r := c.activeRun()
	switch {
	case r == nil || r.state == Stopping || r.stopAsked != "":
		return ErrNoRun
	case r.mode != scenario.Swarm:
		return ErrNotSwarm
	}
	// The run's settings as they would be, checked as a new run's are. Not shaped: the change takes
	// over from a load shape, and users of its own are its point.
	next := r.cfg
	next.Shaped = false
	if users != nil {
		next.Users = *users
	}
	if spawnRate != nil {
		next.SpawnRate = *spawnRate
	}
	if err := next.Validate(); err != nil {
		return err
	}
	if users != nil {
		if err := c.checkUsers(*users, len(r.active())); err != nil {
			return err
		}
		r.target = *users
	}
	if spawnRate != nil {
		r.rate = *spawnRate
	}
	c.takeOver(r)
	r.newRamp(time.Now())
	c.log.Info("run changed", "users", r.target, "spawn_rate", r.rate)
	return nil
}

// Stop asks the run in progress to stop as if its run time were over: load stops gracefully,
// teardown() runs, the last stats are collected. A run that has not started its load yet ends at
// once with ErrInterrupted.
func (c *Coordinator) Stop(why string) error {
	err := ErrNoRun
	c.do(func() {
		r := c.activeRun()
		if r == nil {
			return
		}
		err = nil
		if r.stopAsked == "" {
			r.stopAsked = why
		}
		if r.state == Preparing && r.cancel != nil {
			r.cancel() // validating, waiting for workers or in setup(): nothing to wind down gracefully
		}
	})
	return err
}

// ResetStats empties the current run's statistics and time series (Locust's "reset stats"); the
// run goes on and counts from now. Per-worker totals are kept: they say what each worker did.
func (c *Coordinator) ResetStats() error {
	err := ErrNoRun
	c.do(func() {
		r := c.run
		if r == nil || r.final {
			return
		}
		err = nil
		r.agg.Reset()
		r.points = nil
		r.rates.reset()
		r.statsReset = time.Now()
	})
	return err
}

// nameCap bounds the rows of a run's request table: the first `max` (name, method) pairs keep
// their own row, the requests of any further ones go to one OtherName row. Without it a script
// that puts ids in URLs would grow the master's memory, every report and the UI without bound.
type nameCap struct {
	max    int
	kept   map[NameMethod]struct{}
	folded int                     // distinct pairs folded so far (counted up to maxFoldedSeen)
	seen   map[NameMethod]struct{} // the folded pairs, to count them
}

// maxFoldedSeen bounds the memory spent on counting folded names.
const maxFoldedSeen = 100_000

// DefaultNameCap is the number of request names a run keeps unless configured otherwise.
const DefaultNameCap = 2000

func newNameCap(max int) nameCap {
	if max <= 0 {
		max = DefaultNameCap
	}
	return nameCap{max: max, kept: map[NameMethod]struct{}{}, seen: map[NameMethod]struct{}{}}
}

// fold admits d's new names while there is room (in name order, so which names keep a row does
// not depend on map order) and re-files the rest under OtherName.
func (n *nameCap) fold(d *stats.Delta) {
	var fresh []NameMethod
	isFresh := map[NameMethod]bool{}
	for k := range d.Entries {
		nm := NameMethod{k.Name, k.Method}
		if _, ok := n.kept[nm]; !ok && !isFresh[nm] {
			isFresh[nm] = true
			fresh = append(fresh, nm)
		}
	}
	slices.SortFunc(fresh, func(a, b NameMethod) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Method, b.Method)) })
	over := false
	for _, nm := range fresh {
		if len(n.kept) < n.max {
			n.kept[nm] = struct{}{}
			continue
		}
		over = true
		if _, ok := n.seen[nm]; !ok && len(n.seen) < maxFoldedSeen {
			n.seen[nm] = struct{}{}
			n.folded++
		}
	}
	if !over {
		return
	}
	d.RenameRequests(func(name, method string) (string, string) {
		if _, ok := n.kept[NameMethod{name, method}]; ok {
			return name, method
		}
		return OtherName, ""
	})
}

// WaitIdle returns when no run is in progress and the last run's done callback (Start) has
// returned, or when ctx ends.
func (c *Coordinator) WaitIdle(ctx context.Context) {
	var over chan struct{}
	c.do(func() {
		if c.run != nil {
			over = c.run.over
		}
	})
	if over == nil {
		return
	}
	select {
	case <-over:
	case <-ctx.Done():
	case <-c.exited:
	}
}
