package rpc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"sync"
	"testing"
	"time"

	pb "github.com/stampede-load/stampede/proto/stampede/v1"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/scenario"
)

// This file checks user dispatch at fleet scale: a real Coordinator behind a real gRPC server with
// 1,000 workers. The workers are scaleWorkers, protocol clients that answer the master the way
// internal/worker does but run no k6 and send no stats: 1,000 worker.Workers with their children
// would cost more than the dispatch under test.

// scaleWorker follows a run as a worker would (Ready, setup, Running, Done, Finished) and records
// the users of every Control it gets.
type scaleWorker struct {
	id     string
	stream pb.Coordinator_ConnectClient
	cancel context.CancelFunc
	done   chan struct{}
	sendMu sync.Mutex
	ledger *userLedger
}

// userLedger holds the users the master asked of each connected worker, and checks every change
// as it arrives: no worker is raised above the ceiling, and the fleet starts no more users than the
// spawn rate allows since the current phase began.
type userLedger struct {
	mu      sync.Mutex
	users   map[string]int64
	classes map[string]map[string]int64 // the users of each class the master asked of each worker
	ceiling int64                       // the most users any worker may be raised to in this phase
	rate    float64
	since   time.Time // the phase's start, taken before the change that causes it
	started int64     // users started (increases summed over workers) since then
	errs    []string
}

func (l *userLedger) control(id string, users int64, classes map[string]int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	prev := l.users[id]
	l.users[id] = users
	if l.classes != nil {
		l.classes[id] = classes
	}
	if users <= prev {
		return
	}
	if users > l.ceiling {
		l.errs = append(l.errs, fmt.Sprintf("%s raised from %d to %d users, above the share ceiling %d", id, prev, users, l.ceiling))
	}
	l.started += users - prev
	// The master's ramp began after since, so it may have started at most Steps(rate, now-since).
	if allowed := master.Steps(l.rate, time.Since(l.since)); l.started > allowed {
		l.errs = append(l.errs, fmt.Sprintf("%d users started %s into the phase; the spawn rate %g/s allows %d",
			l.started, time.Since(l.since).Round(time.Millisecond), l.rate, allowed))
	}
}

// phase starts a new phase: the ledger forgets ids not in live, and checks against ceiling and rate.
func (l *userLedger) phase(live map[string]bool, ceiling int64, rate float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id := range l.users {
		if !live[id] {
			delete(l.users, id)
			delete(l.classes, id)
		}
	}
	l.ceiling, l.rate, l.since, l.started = ceiling, rate, time.Now(), 0
}

// snapshot returns the users of the workers in live (0 for one that has no Control yet).
func (l *userLedger) snapshot(live map[string]bool) map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int64, len(live))
	for id := range live {
		out[id] = l.users[id]
	}
	return out
}

// classSnapshot returns the users of each class the workers in live were asked for, summed, and
// the problems with the single workers: classes that do not add up to the worker's users, or a
// class more than 2 away from the worker's share of it (users*weight/total).
func (l *userLedger) classSnapshot(live map[string]bool, weights map[string]int64) (map[string]int64, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var total int64
	for _, w := range weights {
		total += w
	}
	fleet := map[string]int64{}
	var bad []string
	for id := range live {
		var sum int64
		for name, n := range l.classes[id] {
			fleet[name] += n
			sum += n
			if share := float64(l.users[id]) * float64(weights[name]) / float64(total); math.Abs(float64(n)-share) > 2 {
				bad = append(bad, fmt.Sprintf("%s runs %d of class %s; its share is %.2f", id, n, name, share))
			}
		}
		if sum != l.users[id] {
			bad = append(bad, fmt.Sprintf("%s: classes %v add up to %d, its users are %d", id, l.classes[id], sum, l.users[id]))
		}
	}
	return fleet, bad
}

func (l *userLedger) problems() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

func (c *cluster) scaleWorker(t *testing.T, id string, l *userLedger) *scaleWorker {
	t.Helper()
	stream, cancel, first := c.hello(t, &pb.Hello{ProtocolMajor: protocol.Major, ProtocolMinor: protocol.Minor,
		WorkerId: id, Host: id, Cpus: 1, Version: "test"})
	if first.GetWelcome() == nil {
		cancel()
		t.Fatalf("%s: the master answered Hello with %v, want Welcome", id, first)
	}
	w := &scaleWorker{id: id, stream: stream, cancel: cancel, done: make(chan struct{}), ledger: l}
	go w.serve()
	t.Cleanup(w.close)
	return w
}

func (w *scaleWorker) send(m *pb.WorkerMessage) {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	_ = w.stream.Send(m) // a failed send ends the stream, and serve with it
}

func (w *scaleWorker) status(runID string, s pb.RunState) {
	w.send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Status{Status: &pb.RunStatus{RunId: runID, State: s}}})
}

func (w *scaleWorker) phaseResult(runID string, p pb.Phase) {
	w.send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_PhaseResult{PhaseResult: &pb.PhaseResult{RunId: runID, Phase: p, Data: []byte("{}")}}})
}

func (w *scaleWorker) serve() {
	defer close(w.done)
	var lastSeq uint64
	for {
		m, err := w.stream.Recv()
		if err != nil {
			return
		}
		switch {
		case m.GetAssignment() != nil:
			w.status(m.GetAssignment().GetRunId(), pb.RunState_RUN_STATE_READY)
		case m.GetRunSetup() != nil:
			w.phaseResult(m.GetRunSetup().GetRunId(), pb.Phase_PHASE_SETUP)
		case m.GetStart() != nil:
			w.status(m.GetStart().GetRunId(), pb.RunState_RUN_STATE_RUNNING)
		case m.GetControl() != nil:
			ctl := m.GetControl()
			if ctl.GetSeq() <= lastSeq { // as internal/worker: only newer desired state applies
				continue
			}
			lastSeq = ctl.GetSeq()
			if ctl.GetStop() {
				w.status(ctl.GetRunId(), pb.RunState_RUN_STATE_DONE)
				continue
			}
			w.ledger.control(w.id, ctl.GetUsers(), ctl.GetClasses())
		case m.GetRunTeardown() != nil:
			w.phaseResult(m.GetRunTeardown().GetRunId(), pb.Phase_PHASE_TEARDOWN)
		case m.GetFinish() != nil:
			w.status(m.GetFinish().GetRunId(), pb.RunState_RUN_STATE_FINISHED)
		}
	}
}

// close ends the stream from the worker's side, as a worker process that exits.
func (w *scaleWorker) close() {
	w.cancel()
	<-w.done
}

// TestDispatchAtScale runs a swarm-mode run on 1,000 workers over gRPC; 100 of them leave, then
// 100 join again. In every steady state the users add up to the target and no worker runs more
// than one user above its even share (target/workers); in every ramp no worker is raised above
// the new share ceiling and the fleet never starts more users than the spawn rate allows.
func TestDispatchAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 workers")
	}
	const (
		workers = 1000
		leavers = 100
		target  = 3000
		rate    = 600.0 // users/s during the rebalancing phases: 300 moves take ~0.5 s, several dispatch ticks
	)
	// User classes (issue 19): every worker's users split over three classes whose fleet-wide
	// counts must be Apportion's exactly in every steady state.
	classes := []scenario.Class{{Name: "browse", Weight: 3}, {Name: "buy", Weight: 1}, {Name: "cart", Weight: 2}}
	weights, fleetClasses := map[string]int64{}, map[string]int64{}
	var ws []int64
	for _, c := range classes {
		weights[c.Name] = c.Weight
		ws = append(ws, c.Weight)
	}
	for i, n := range scenario.Apportion(target, ws) {
		fleetClasses[classes[i].Name] = n
	}
	cases := []struct {
		name       string
		leaveFirst bool // the leavers are the first indexes (0 runs setup) rather than the last
		classes    []scenario.Class
	}{
		{name: "last 100 leave and rejoin"},
		{name: "first 100 leave and rejoin", leaveFirst: true},
		{name: "user classes, first 100 leave and rejoin", leaveFirst: true, classes: classes},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loader := fakeLoader{opts: &scenario.Options{Swarm: &scenario.SwarmOptions{Classes: tc.classes}}}
			c := newCluster(t, func(o *master.Options) { o.WorkerTimeout = 10 * time.Minute; o.Loader = loader })
			l := &userLedger{users: map[string]int64{}}
			if tc.classes != nil {
				l.classes = map[string]map[string]int64{}
			}
			ids := make([]string, workers)
			live := make(map[string]bool, workers)
			ws := make(map[string]*scaleWorker, workers)
			for i := range ids {
				ids[i] = fmt.Sprintf("w%04d", i)
				live[ids[i]] = true
			}
			l.phase(live, ceilDiv(target, workers), 0)
			for _, id := range ids {
				ws[id] = c.scaleWorker(t, id, l)
			}
			out := c.runAsync(t, master.RunConfig{Users: target, ExpectWorkers: workers, RunTime: 5 * time.Minute,
				ExpectTimeout: 30 * time.Second})

			steady := func(what string, want int) {
				t.Helper()
				floor := int64(target / want)
				eventually(t, 30*time.Second, what+": every worker at least at its share floor and the users adding up", func() bool {
					if p := l.problems(); len(p) > 0 {
						t.Fatalf("%s: %d problems, first: %s", what, len(p), p[0])
					}
					var sum int64
					for _, u := range l.snapshot(live) {
						if u < floor {
							return false
						}
						sum += u
					}
					if tc.classes != nil { // the workers' last Controls agree on the classes too
						fleet, _ := l.classSnapshot(live, weights)
						return sum == target && maps.Equal(fleet, fleetClasses)
					}
					return sum == target
				})
				got := l.snapshot(live)
				if len(got) != want {
					t.Fatalf("%s: %d live workers, want %d", what, len(got), want)
				}
				var sum int64
				for id, u := range got {
					sum += u
					if u > floor+1 {
						t.Errorf("%s: %s runs %d users, more than one above its share %d", what, id, u, floor)
					}
				}
				if sum != target {
					t.Errorf("%s: users add up to %d, want %d", what, sum, target)
				}
				if tc.classes == nil {
					return
				}
				fleet, bad := l.classSnapshot(live, weights)
				if !maps.Equal(fleet, fleetClasses) {
					t.Errorf("%s: the classes add up to %v fleet-wide, want %v", what, fleet, fleetClasses)
				}
				if len(bad) > 0 {
					t.Errorf("%s: %d workers' classes are off, first: %s", what, len(bad), bad[0])
				}
			}

			steady("start", workers)

			// From here on the ramps run at a finite rate, so the ledger's rate check bites.
			r := rate
			if err := c.core.Update(nil, &r); err != nil {
				t.Fatal(err)
			}
			steady("after the rate change", workers)

			leaving := ids[workers-leavers:]
			if tc.leaveFirst {
				leaving = ids[:leavers]
			}
			for _, id := range leaving {
				delete(live, id)
			}
			l.phase(live, ceilDiv(target, workers-leavers), rate)
			began := time.Now()
			for _, id := range leaving {
				ws[id].close()
			}
			steady(fmt.Sprintf("after %d workers left", leavers), workers-leavers)
			t.Logf("%d workers left: back to %d users in %s (the spawn rate allows %s at the earliest)",
				leavers, target, time.Since(began).Round(time.Millisecond),
				time.Duration(float64(leavers*target/workers)/rate*float64(time.Second)))

			for _, id := range leaving {
				live[id] = true
			}
			// Rejoining workers start at 0 and rise to their share; the others only drain.
			l.phase(live, ceilDiv(target, workers-leavers), rate)
			began = time.Now()
			for _, id := range leaving {
				ws[id] = c.scaleWorker(t, id, l)
			}
			steady(fmt.Sprintf("after %d workers rejoined", leavers), workers)
			t.Logf("%d workers rejoined: rebalanced in %s", leavers, time.Since(began).Round(time.Millisecond))

			if err := c.core.Stop("test over"); err != nil {
				t.Fatal(err)
			}
			// The leavers exited with their load running, like killed processes, and never sent
			// their stopped load's final stats: the run must say its results are partial.
			if o := waitRun(t, out, 30*time.Second); !errors.Is(o.err, master.ErrWorkersPartial) {
				t.Fatalf("Run: %v, want %v", o.err, master.ErrWorkersPartial)
			}
			if p := l.problems(); len(p) > 0 {
				t.Errorf("%d problems, first: %s", len(p), p[0])
			}
		})
	}
}

func ceilDiv(a int64, b int) int64 { return (a + int64(b) - 1) / int64(b) }
