package rpc

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/master"
)

// lastVUs returns the users each host's child was last told to run.
func lastVUs(f *fleet) map[string]int64 {
	out := map[string]int64{}
	for _, k := range f.all() {
		k.mu.Lock()
		if n := len(k.setVUs); n > 0 {
			out[k.host] = k.setVUs[n-1]
		}
		k.mu.Unlock()
	}
	return out
}

func sum(m map[string]int64) int64 {
	var s int64
	for _, v := range m {
		s += v
	}
	return s
}

// TestSwarmLiveControl drives a swarm run the way the UI does: a worker joins at steady state and
// gets its share while the total holds, users change mid-run, stats are reset, and a stop ends the
// run with every request counted exactly once.
func TestSwarmLiveControl(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.startWorker(t, "w0", fakeConfig{}, 0)
	c.startWorker(t, "w1", fakeConfig{}, 0)
	eventually(t, 10*time.Second, "2 workers connected", func() bool { return len(c.core.Workers()) == 2 })

	type outcome struct {
		res *master.Result
		err error
	}
	done := make(chan outcome, 1)
	_, err := c.core.Start(context.Background(), master.RunConfig{Script: c.script, Users: 10, SpawnRate: 1000, ExpectWorkers: 2},
		func(res *master.Result, err error) { done <- outcome{res, err} })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.core.Start(context.Background(), master.RunConfig{Script: c.script, Users: 1}, nil); err == nil {
		t.Fatal("a second run started while one was in progress")
	}
	eventually(t, 10*time.Second, "10 users on 2 workers", func() bool {
		v := lastVUs(&c.fleet)
		return v["w0"] == 5 && v["w1"] == 5
	})

	// A worker joins at steady state: it is enlisted, started, and the 10 users rebalance over 3.
	c.startWorker(t, "w2", fakeConfig{}, 0)
	eventually(t, 10*time.Second, "10 users over 3 workers", func() bool {
		v := lastVUs(&c.fleet)
		// w0 and w1 hold indexes 0 and 1 in the order they connected; the first index gets the extra user.
		return len(v) == 3 && sum(v) == 10 && v["w0"]+v["w1"] == 7 && min(v["w0"], v["w1"]) == 3 && v["w2"] == 3
	})
	w2 := c.fleet.child(t, "w2")
	w2.mu.Lock()
	joinedData, joinedResume := slices.Clone(w2.setupData), w2.resumeCalls
	w2.mu.Unlock()
	if len(joinedData) != 1 || joinedResume != 1 {
		t.Fatalf("the joining worker got setup data %q and %d resumes, want the run's data once and 1", joinedData, joinedResume)
	}

	if err := c.core.Update(ptr(int64(30)), nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "30 users over 3 workers", func() bool {
		v := lastVUs(&c.fleet)
		return v["w0"] == 10 && v["w1"] == 10 && v["w2"] == 10
	})
	if err := c.core.Update(ptr(int64(-1)), nil); err == nil {
		t.Fatal("negative users accepted")
	}

	eventually(t, 10*time.Second, "requests flowing", func() bool {
		s := c.core.Snapshot()
		return s.Stats != nil && s.Stats.Total().Requests > 0
	})
	if err := c.core.ResetStats(); err != nil {
		t.Fatal(err)
	}
	if s := c.core.Snapshot(); s.Run.StatsReset.IsZero() || len(s.Points) != 0 {
		t.Fatalf("after a reset: reset time %v, %d points", s.Run.StatsReset, len(s.Points))
	}
	eventually(t, 10*time.Second, "requests after the reset", func() bool {
		s := c.core.Snapshot()
		return s.Stats.Total().Requests > 0
	})

	if err := c.core.Stop("test"); err != nil {
		t.Fatal(err)
	}
	var o outcome
	select {
	case o = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the run did not end after Stop")
	}
	if o.err != nil {
		t.Fatalf("run: %v", o.err)
	}
	var perWorker uint64
	for _, w := range o.res.Workers {
		perWorker += w.Requests
		if w.Lost || w.Error != "" {
			t.Errorf("worker %d: lost %v, error %q", w.Index, w.Lost, w.Error)
		}
	}
	var emitted uint64
	for _, k := range c.fleet.all() {
		n, _ := k.sent()
		emitted += n
	}
	if perWorker != emitted {
		t.Errorf("workers' totals add up to %d requests, the children emitted %d", perWorker, emitted)
	}
	if got := o.res.Aggregate.Total().Requests; got == 0 || got >= emitted {
		t.Errorf("aggregate after the reset: %d requests of %d emitted; want some, but fewer", got, emitted)
	}
	if err := c.core.Stop("again"); err == nil {
		t.Error("Stop with no run in progress succeeded")
	}
}

func ptr[T any](v T) *T { return &v }

// TestStopWhilePreparing: a stop reaches a run that is still waiting for its workers at once.
func TestStopWhilePreparing(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.startWorker(t, "w0", fakeConfig{}, 0)
	done := make(chan error, 1)
	_, err := c.core.Start(context.Background(), master.RunConfig{Script: c.script, Users: 5, ExpectWorkers: 3, ExpectTimeout: time.Minute},
		func(_ *master.Result, err error) { done <- err })
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the run waiting for workers", func() bool {
		s := c.core.Snapshot()
		return s.Run != nil && s.Run.State == master.Preparing && strings.Contains(c.logs.String(), "waiting for workers")
	})
	if err := c.core.Stop("stopped from the API"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, master.ErrInterrupted) || !strings.Contains(err.Error(), "before the load started") {
			t.Fatalf("run ended with %v, want an interruption before the load started", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the run went on waiting for workers after Stop")
	}
	if s := c.core.Snapshot(); s.Run.State != master.Stopped || s.Run.Err == "" {
		t.Fatalf("after the stop: state %s, error %q", s.Run.State, s.Run.Err)
	}
}
