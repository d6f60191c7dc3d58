package rpc

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
)

// podFleet is a worker pool the way a Deployment behaves to the master: SetDesired starts or stops
// real workers (with fake k6 children) in the background. broken pools start nobody.
type podFleet struct {
	t      *testing.T
	c      *cluster
	broken bool

	mu      sync.Mutex
	history []int
	pods    []*workerHandle
	next    int
}

func (f *podFleet) SetDesired(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.history = append(f.history, n)
	if f.broken {
		return
	}
	for len(f.pods) < n {
		f.pods = append(f.pods, f.c.startWorker(f.t, fmt.Sprintf("pod-%d", f.next), fakeConfig{}, 0))
		f.next++
	}
	for len(f.pods) > n {
		f.pods[len(f.pods)-1].cancel()
		f.pods = f.pods[:len(f.pods)-1]
	}
}

func (f *podFleet) Status() master.FleetStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	desired := 0
	if len(f.history) > 0 {
		desired = f.history[len(f.history)-1]
	}
	return master.FleetStatus{Name: "deployment test/workers", Desired: desired, Spec: desired, Ready: len(f.pods)}
}

func (f *podFleet) asked() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.history)
}

func newFleetCluster(t *testing.T, broken bool, gauges func() map[stats.GaugeKey]float64) (*cluster, *podFleet) {
	f := &podFleet{t: t, broken: broken}
	c := newCluster(t, func(o *master.Options) {
		o.Fleet, o.IdleWorkers, o.MaxWorkers, o.Gauges = f, 1, 4, gauges
	})
	f.c = c
	return c, f
}

// TestRunScalesFleet: a run that asks for workers scales the pool up before it waits for them,
// runs on all of them, and scales back to the idle count when it ends. The gauges (the HPA
// watcher's values in cmd/master) land in every point of the series and are judged by thresholds.
func TestRunScalesFleet(t *testing.T) {
	t.Parallel()
	var replicas atomic.Int64
	replicas.Store(1)
	gauge := stats.GaugeKey{Metric: "hpa_replicas", Tag: "hpa", Value: "web"}
	key := gauge.String()
	c, f := newFleetCluster(t, false, func() map[stats.GaugeKey]float64 {
		return map[stats.GaugeKey]float64{gauge: float64(replicas.Load())}
	})
	f.SetDesired(1) // the idle pool, as the Deployment starts
	eventually(t, 10*time.Second, "1 idle worker", func() bool { return len(c.core.Workers()) == 1 })

	var ths []*stats.Threshold
	for _, s := range []string{key + ": max>=3", key + ": min<2", key + ": avg<3"} {
		th, err := stats.ParseCLIThreshold(s)
		if err != nil {
			t.Fatal(err)
		}
		ths = append(ths, th)
	}
	out := c.runAsync(t, master.RunConfig{Users: 6, SpawnRate: 100, RunTime: 4 * time.Second, Workers: 3, Thresholds: ths})
	eventually(t, 10*time.Second, "the run to start", func() bool {
		r := c.core.Snapshot().Run
		return r != nil && !r.Started.IsZero()
	})
	if s := c.core.Snapshot(); s.Fleet == nil || s.Fleet.Desired != 3 || s.Run.WorkersAsked != 3 {
		t.Fatalf("snapshot while running: fleet %+v, run asked for %d workers; want desired 3", s.Fleet, s.Run.WorkersAsked)
	}
	eventually(t, 10*time.Second, "a second of the series", func() bool { return len(c.core.Snapshot().Points) > 0 })
	replicas.Store(3)
	o := waitRun(t, out, 20*time.Second)
	if o.err != nil {
		t.Fatalf("run: %v", o.err)
	}
	if got := f.asked(); !slices.Equal(got, []int{1, 3, 1}) {
		t.Errorf("fleet asked for %v, want [1 3 1]: idle, the run's 3, idle again", got)
	}
	if len(o.res.Workers) != 3 {
		t.Errorf("%d workers took part, want 3", len(o.res.Workers))
	}
	for _, w := range o.res.Workers {
		if w.Requests == 0 {
			t.Errorf("worker %d (%s) sent no requests", w.Index, w.Host)
		}
	}
	seen := map[float64]bool{}
	for _, p := range o.res.Points {
		v, ok := p.Extra[key]
		if !ok {
			t.Fatalf("point %d has no %s: %v", p.Time, key, p.Extra)
		}
		seen[v] = true
	}
	if !seen[1] || !seen[3] {
		t.Errorf("the series saw replicas %v, want both 1 and 3", seen)
	}
	m := o.res.Aggregate.Metrics[key]
	if m == nil || m.Type != stats.Trend || m.Count != uint64(len(o.res.Points)) || m.Min != 1 || m.Max != 3 {
		t.Fatalf("aggregate %s = %+v, want a trend with one sample per point (%d), min 1, max 3", key, m, len(o.res.Points))
	}
	for _, r := range o.res.Thresholds {
		if !r.OK || !r.HasData {
			t.Errorf("threshold %s: %s failed: observed %g (has data %v)", r.Metric, r.Source, r.Observed, r.HasData)
		}
		if r.Source == "avg<3" && (r.Observed <= 1 || r.Observed >= 3 || math.IsNaN(r.Observed)) {
			t.Errorf("avg replicas %g, want strictly between 1 and 3 (a time average)", r.Observed)
		}
	}
	eventually(t, 10*time.Second, "the pool back to 1 worker", func() bool { return len(c.core.Workers()) == 1 })
}

// TestFleetErrors: asking for workers is checked before anything starts, and a pool that never
// delivers makes the wait for workers fail with what the pool has.
func TestFleetErrors(t *testing.T) {
	t.Parallel()
	plain := newCluster(t)
	_, err := plain.core.Start(t.Context(), master.RunConfig{Script: plain.script, Users: 1, Workers: 2}, nil)
	if !errors.Is(err, master.ErrBadSettings) || !strings.Contains(err.Error(), "--kube-deployment") {
		t.Errorf("workers without a fleet: %v, want ErrBadSettings naming --kube-deployment", err)
	}

	c, f := newFleetCluster(t, true, nil)
	for _, tc := range []struct {
		workers int
		want    string
	}{
		{-1, "must not be negative"},
		{5, "over this master's limit of 4"},
	} {
		_, err := c.core.Start(t.Context(), master.RunConfig{Script: c.script, Users: 1, Workers: tc.workers}, nil)
		if !errors.Is(err, master.ErrBadSettings) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("workers %d: %v, want ErrBadSettings with %q", tc.workers, err, tc.want)
		}
	}
	if c.core.Snapshot().Run != nil || len(f.asked()) != 0 {
		t.Fatalf("a refused start left a run or scaled the pool: %v", f.asked())
	}

	o := waitRun(t, c.runAsync(t, master.RunConfig{Users: 1, Workers: 2, ExpectTimeout: 300 * time.Millisecond}), 10*time.Second)
	if !errors.Is(o.err, master.ErrWorkersTimeout) || !strings.Contains(o.err.Error(), "deployment test/workers has 0 of 2 replicas ready") {
		t.Errorf("a pool that never delivers: %v, want ErrWorkersTimeout with the pool's state", o.err)
	}
	if got := f.asked(); !slices.Equal(got, []int{2, 1}) {
		t.Errorf("fleet asked for %v, want [2 1]: scaled back even though the run failed", got)
	}
}
