package master

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

// Fleet sizes the pool of workers, for example the replicas of a worker Deployment (cmd/master
// adapts internal/kube's Scaler). A run that asks for Workers sets the fleet to that many before
// it waits for them to connect, and sets it back to Options.IdleWorkers when it ends.
type Fleet interface {
	// SetDesired asks for n workers and returns at once; the fleet converges in the background,
	// retrying until it has them.
	SetDesired(n int)
	// Status is what the fleet has now, for the UI and for errors that say why workers are missing.
	Status() FleetStatus
}

// FleetStatus is the worker pool as the fleet last saw it.
type FleetStatus struct {
	Name    string // what is scaled, "deployment default/lt-stampede-worker"
	Desired int    // what the master asks for
	Spec    int    // what the Deployment's spec says
	Ready   int    // its ready replicas
	Error   string
}

// DefaultMaxWorkers bounds RunConfig.Workers when Options.MaxWorkers is 0, so that a typo in the
// UI cannot ask a cluster for ten thousand pods.
const DefaultMaxWorkers = 100

// checkWorkers validates a run's Workers against the fleet.
func (c *Coordinator) checkWorkers(n int) error {
	switch {
	case n <= 0: // 0 runs on the workers there are; Validate refuses a negative count
		return nil
	case c.opts.Fleet == nil:
		return fmt.Errorf("%w: workers %d: this master scales no worker pool (start it with --kube-deployment, or start workers yourself)", ErrBadSettings, n)
	case n > c.opts.MaxWorkers:
		return fmt.Errorf("%w: workers %d: over this master's limit of %d (--kube-max-workers)", ErrBadSettings, n, c.opts.MaxWorkers)
	}
	return nil
}

// scaleFor sets the fleet for a run that asks for n workers, and returns what to do when it ends.
func (c *Coordinator) scaleFor(n int) (release func()) {
	if n == 0 || c.opts.Fleet == nil {
		return func() {}
	}
	c.log.Info("scaling the workers for the run", "workers", n, "pool", c.opts.Fleet.Status().Name)
	c.opts.Fleet.SetDesired(n)
	return func() {
		if c.opts.IdleWorkers >= 0 {
			c.log.Info("scaling the workers back", "workers", c.opts.IdleWorkers)
			c.opts.Fleet.SetDesired(c.opts.IdleWorkers)
		}
	}
}

// fleetStatus is the fleet's status, nil without a fleet.
func (c *Coordinator) fleetStatus() *FleetStatus {
	if c.opts.Fleet == nil {
		return nil
	}
	s := c.opts.Fleet.Status()
	return &s
}

// recordGauges samples Options.Gauges once for the points just closed: each point keeps the values
// in Extra (the same map for all of them: it is never written again), and each value is added to
// the aggregate under its key as one sample per second of a Trend metric, so thresholds judge it
// with k6's trend aggregations: `hpa_replicas{hpa:web}: max>=3`, and avg is the time average.
func (c *Coordinator) recordGauges(r *run, points []*stats.Point) {
	if c.opts.Gauges == nil || len(points) == 0 {
		return
	}
	g := c.opts.Gauges()
	if len(g) == 0 {
		return
	}
	extra := make(map[string]float64, len(g))
	for k, v := range g {
		extra[k.String()] = v
	}
	var d stats.Delta
	for _, p := range points {
		p.Extra = extra
		t := time.Unix(p.Time, 0).UnixNano()
		for _, k := range slices.Sorted(maps.Keys(extra)) {
			d.AddSample(k, stats.Trend, "default", extra[k], t)
		}
	}
	r.agg.Add(&d)
}
