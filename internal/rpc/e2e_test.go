package rpc

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/stampede-load/stampede/proto/stampede/v1"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/worker"
	"github.com/stampede-load/stampede/scenario"
)

// TestSwarmRun runs a whole swarm-mode run over gRPC with three workers: every request a child
// emitted is counted once, setup() runs once for the fleet and its data reaches every worker, the
// users are split 10/10/10, and the script's log lines reach the master with the worker's index.
func TestSwarmRun(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	hosts := []string{"w0", "w1", "w2"}
	for _, h := range hosts {
		c.startWorker(t, h, fakeConfig{}, 0)
	}
	out := c.runAsync(t, master.RunConfig{Users: 30, SpawnRate: 100, RunTime: 1500 * time.Millisecond, ExpectWorkers: 3})
	o := waitRun(t, out, 20*time.Second)
	if o.err != nil {
		t.Fatalf("Run: %v", o.err)
	}
	res := o.res

	kids := c.fleet.all()
	if len(kids) != 3 {
		t.Fatalf("%d children launched, want 3", len(kids))
	}
	var emitted uint64
	var setups, teardowns int
	var lastVUs int64
	emittedBy := map[string]uint64{}
	for _, k := range kids {
		k.mu.Lock()
		emitted += k.requestsSent
		emittedBy[k.host] = k.requestsSent
		setups += k.setupCalls
		teardowns += k.teardownCalls
		if len(k.setVUs) == 0 {
			t.Errorf("%s: SetVUs never called", k.host)
		} else {
			lastVUs += k.setVUs[len(k.setVUs)-1]
			if slices.Max(k.setVUs) > 10 {
				t.Errorf("%s: SetVUs %v went past its share of 10", k.host, k.setVUs)
			}
		}
		if !slices.Equal(k.setupData, []string{`{"token":"t"}`}) {
			t.Errorf("%s: SetSetupData got %q, want the setup() data once", k.host, k.setupData)
		}
		if k.resumeCalls != 1 || k.stopCalls != 1 || k.exitCalls == 0 {
			t.Errorf("%s: Resume %d, Stop %d, Terminate/Kill %d times; want 1, 1, >= 1", k.host, k.resumeCalls, k.stopCalls, k.exitCalls)
		}
		if k.opts.Segment != "" || filepath.Base(k.opts.Entry) != scenario.ArchiveName {
			t.Errorf("%s: launched with segment %q, entry %q; want no segment and the run's archive", k.host, k.opts.Segment, k.opts.Entry)
		}
		k.mu.Unlock()
	}
	if emitted == 0 {
		t.Fatal("the children emitted no requests")
	}
	if setups != 1 {
		t.Errorf("setup() ran %d times across the fleet, want 1", setups)
	}
	if teardowns != 1 {
		t.Errorf("teardown() ran %d times across the fleet, want 1", teardowns)
	}
	if lastVUs != 30 {
		t.Errorf("the last SetVUs add up to %d users, want 30", lastVUs)
	}

	total := res.Aggregate.Total().Requests
	var perWorker uint64
	indexes := map[int]bool{}
	for _, w := range res.Workers {
		perWorker += w.Requests
		indexes[w.Index] = true
		if w.Requests != emittedBy[w.Host] {
			t.Errorf("worker %d (%s): %d requests in the result, its child emitted %d", w.Index, w.Host, w.Requests, emittedBy[w.Host])
		}
		if w.Lost || w.Error != "" || w.ExitCode != 0 {
			t.Errorf("worker %d: lost %v, error %q, exit code %d", w.Index, w.Lost, w.Error, w.ExitCode)
		}
	}
	if total != emitted || perWorker != emitted {
		t.Errorf("requests: aggregate %d, sum over workers %d, emitted by the children %d; want all equal", total, perWorker, emitted)
	}
	if len(res.Workers) != 3 || !indexes[0] || !indexes[1] || !indexes[2] {
		t.Errorf("result workers %+v, want indexes 0, 1, 2", res.Workers)
	}
	if e := res.Aggregate.Entries[homeKey]; e == nil || e.Requests != total {
		t.Errorf("aggregate rows %v, want every request under %v", res.Aggregate.Entries, homeKey)
	}
	if res.Mode != scenario.Swarm || res.Users != 30 {
		t.Errorf("result mode %v, users %d; want swarm, 30", res.Mode, res.Users)
	}

	// Log lines are batched for 250ms on the worker, so they may trail the run's end.
	eventually(t, 5*time.Second, "a script log line from every worker", func() bool { return len(c.lines()) >= 3 })
	from := map[int]string{}
	for _, l := range c.lines() {
		from[l.worker] = l.line.Message
	}
	for i, w := range res.Workers {
		if want := "hello from " + w.Host; from[w.Index] != want {
			t.Errorf("worker %d (%d): logged %q, want %q", i, w.Index, from[w.Index], want)
		}
	}
}

// TestScriptRun runs a script-mode run with two workers: each gets its own execution segment of the
// same sequence, the children end their test by themselves, and the run completes without RunTime.
func TestScriptRun(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	const vus, deltas = 2, 10
	for _, h := range []string{"s0", "s1"} {
		c.startWorker(t, h, fakeConfig{vus: vus, endAfter: deltas}, 0)
	}
	out := c.runAsync(t, master.RunConfig{Users: 0, ExpectWorkers: 2})
	o := waitRun(t, out, 20*time.Second)
	if o.err != nil {
		t.Fatalf("Run: %v", o.err)
	}
	res := o.res
	if res.Mode != scenario.Script {
		t.Errorf("mode %v, want script", res.Mode)
	}

	byHost := map[string]*fakeChild{}
	for _, k := range c.fleet.all() {
		byHost[k.host] = k
	}
	if len(byHost) != 2 || len(res.Workers) != 2 {
		t.Fatalf("%d children, %d workers in the result; want 2 and 2", len(byHost), len(res.Workers))
	}
	wantSegment := map[int]string{0: "0:1/2", 1: "1/2:1"}
	var emitted, perWorker uint64
	setups := 0
	for _, w := range res.Workers {
		k := byHost[w.Host]
		if k == nil {
			t.Fatalf("no child for worker %d (%s)", w.Index, w.Host)
		}
		k.mu.Lock()
		if k.opts.Segment != wantSegment[w.Index] || k.opts.SegmentSequence != "0,1/2,1" {
			t.Errorf("worker %d: segment %q of %q, want %q of \"0,1/2,1\"", w.Index, k.opts.Segment, k.opts.SegmentSequence, wantSegment[w.Index])
		}
		if filepath.Base(k.opts.Entry) != scenario.ArchiveName {
			t.Errorf("worker %d: entry %q, want the run's archive", w.Index, k.opts.Entry)
		}
		if len(k.setVUs) != 0 || k.stopCalls != 0 {
			t.Errorf("worker %d: SetVUs %v, Stop %d times; the script's own scenarios decide", w.Index, k.setVUs, k.stopCalls)
		}
		if k.deltasSent != deltas || !k.ended.fired() {
			t.Errorf("worker %d: %d deltas sent, ended %v; want %d and ended", w.Index, k.deltasSent, k.ended.fired(), deltas)
		}
		if len(k.setupData) != 1 {
			t.Errorf("worker %d: setup data %q, want once", w.Index, k.setupData)
		}
		emitted += k.requestsSent
		setups += k.setupCalls
		k.mu.Unlock()
		perWorker += w.Requests
		if w.Requests != vus*deltas || w.Lost || w.Error != "" {
			t.Errorf("worker %d: %d requests, lost %v, error %q; want %d, false, none", w.Index, w.Requests, w.Lost, w.Error, vus*deltas)
		}
	}
	if total := res.Aggregate.Total().Requests; total != 2*vus*deltas || total != emitted || total != perWorker {
		t.Errorf("requests: aggregate %d, emitted %d, per worker %d; want %d", total, emitted, perWorker, 2*vus*deltas)
	}
	if setups != 1 {
		t.Errorf("setup() ran %d times, want 1", setups)
	}
}

// TestStatsDedupAcrossReconnect drives the protocol by hand to control sequence numbers.
func TestStatsDedupAcrossReconnect(t *testing.T) {
	t.Parallel()

	// startScriptRun connects raw workers a and b, starts a script-mode run and brings both to
	// RUNNING. It returns the run id and where the run's outcome arrives.
	startScriptRun := func(t *testing.T, c *cluster, a, b *rawWorker) (string, <-chan runOutcome) {
		t.Helper()
		out := c.runAsync(t, master.RunConfig{ExpectWorkers: 2})
		runID := a.next(t).GetAssignment().GetRunId()
		if got := b.next(t).GetAssignment().GetRunId(); runID == "" || got != runID {
			t.Fatalf("assignments for runs %q and %q", runID, got)
		}
		a.status(t, runID, pb.RunState_RUN_STATE_READY)
		b.status(t, runID, pb.RunState_RUN_STATE_READY)
		if a.next(t).GetRunSetup() == nil { // setup() runs on index 0
			t.Fatal("worker 0 was not asked to run setup()")
		}
		a.phase(t, runID, pb.Phase_PHASE_SETUP, `{}`)
		for _, w := range []*rawWorker{a, b} {
			if w.next(t).GetStart() == nil {
				t.Fatalf("%s: no Start", w.id)
			}
			w.status(t, runID, pb.RunState_RUN_STATE_RUNNING)
		}
		return runID, out
	}
	// endRun has b, the only live worker left, end the test, run teardown() and finish.
	endRun := func(t *testing.T, b *rawWorker, runID string, out <-chan runOutcome) runOutcome {
		t.Helper()
		b.status(t, runID, pb.RunState_RUN_STATE_DONE)
		if b.next(t).GetRunTeardown() == nil {
			t.Fatal("the live worker was not asked to run teardown()")
		}
		b.phase(t, runID, pb.Phase_PHASE_TEARDOWN, "")
		if b.next(t).GetFinish() == nil {
			t.Fatal("no Finish")
		}
		b.status(t, runID, pb.RunState_RUN_STATE_FINISHED)
		return waitRun(t, out, 10*time.Second)
	}
	requestsOf := func(res *master.Result, id string) (uint64, bool) {
		for _, w := range res.Workers {
			if w.ID == id {
				return w.Requests, w.Lost
			}
		}
		return 0, false
	}

	t.Run("resent deltas merge once", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		a, b := c.raw(t, "raw-a"), c.raw(t, "raw-b")
		if a.welcome.Index != 0 || b.welcome.Index != 1 || a.welcome.AckStatsSeq != 0 {
			t.Fatalf("welcomes %v and %v", a.welcome, b.welcome)
		}
		runID, out := startScriptRun(t, c, a, b)

		a.stats(t, runID, 1, 5)
		a.stats(t, runID, 2, 7)
		a.stats(t, runID, 2, 7) // resent
		a.stats(t, runID, 1, 5) // resent, out of order
		a.stats(t, runID, 3, 1) // in-order marker: once acked, the resends before it were handled
		b.stats(t, runID, 1, 11)
		eventually(t, 5*time.Second, "seqs 3 and 1 merged", func() bool { return c.core.AckSeq("raw-a") == 3 && c.core.AckSeq("raw-b") == 1 })
		if got := c.core.Progress().Requests; got != 5+7+1+11 {
			t.Fatalf("requests merged = %d, want %d: a resent delta was counted again", got, 5+7+1+11)
		}
		eventually(t, 5*time.Second, "the master's heartbeat to acknowledge seq 3", func() bool { return a.ack.Load() == 3 })

		// The worker's stream breaks; it reconnects with the same id once the master noticed.
		a.close()
		eventually(t, 5*time.Second, "the master to see raw-a leave", func() bool {
			return !slices.ContainsFunc(c.core.Workers(), func(w master.WorkerInfo) bool { return w.ID == "raw-a" })
		})
		a2 := c.raw(t, "raw-a")
		if a2.welcome.AckStatsSeq != 3 || a2.welcome.Index != 0 {
			t.Fatalf("welcome after reconnecting: index %d, ack %d; want 0, 3", a2.welcome.Index, a2.welcome.AckStatsSeq)
		}
		// The outbox resends what it thinks is unacknowledged, then the child's last delta.
		a2.stats(t, runID, 2, 7)
		a2.stats(t, runID, 3, 1)
		a2.stats(t, runID, 4, 13)
		eventually(t, 5*time.Second, "seq 4 merged", func() bool { return c.core.AckSeq("raw-a") == 4 })

		// A real worker stops its load with a broken session, so its script-mode segment is lost.
		o := endRun(t, b, runID, out)
		if !errors.Is(o.err, master.ErrWorkersPartial) {
			t.Fatalf("Run: %v, want %v", o.err, master.ErrWorkersPartial)
		}
		if got, want := o.res.Aggregate.Total().Requests, uint64(5+7+1+13+11); got != want {
			t.Errorf("total requests %d, want %d", got, want)
		}
		if n, lost := requestsOf(o.res, "raw-a"); n != 5+7+1+13 || !lost {
			t.Errorf("raw-a: %d requests, lost %v; want %d and lost (its session broke mid-run)", n, lost, 5+7+1+13)
		}
		if n, lost := requestsOf(o.res, "raw-b"); n != 11 || lost {
			t.Errorf("raw-b: %d requests, lost %v; want 11, not lost", n, lost)
		}
	})

	t.Run("reconnecting worker keeps its index", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		a, b := c.raw(t, "raw-a"), c.raw(t, "raw-b")
		for seq := uint64(1); seq <= 3; seq++ {
			b.stats(t, "no-run", seq, 1) // merged into nothing, but acknowledged
		}
		eventually(t, 5*time.Second, "seq 3 acknowledged", func() bool { return c.core.AckSeq("raw-b") == 3 })
		a.close()
		b.close()
		eventually(t, 5*time.Second, "both workers to leave", func() bool { return len(c.core.Workers()) == 0 })

		// b comes back first: it keeps index 1 although 0 is free, and its ack.
		b2 := c.raw(t, "raw-b")
		if b2.welcome.Index != 1 || b2.welcome.AckStatsSeq != 3 {
			t.Fatalf("raw-b back: index %d, ack %d; want 1, 3", b2.welcome.Index, b2.welcome.AckStatsSeq)
		}
		b2.stats(t, "no-run", 3, 1) // resent: the ack must not move back or forward
		b2.stats(t, "no-run", 4, 1)
		eventually(t, 5*time.Second, "seq 4 acknowledged", func() bool { return c.core.AckSeq("raw-b") == 4 })
		a2 := c.raw(t, "raw-a")
		n := c.raw(t, "raw-new")
		if a2.welcome.Index != 0 || n.welcome.Index != 2 {
			t.Fatalf("indexes: raw-a back %d, new worker %d; want 0 and 2", a2.welcome.Index, n.welcome.Index)
		}
		if a2.welcome.AckStatsSeq != 0 || n.welcome.AckStatsSeq != 0 {
			t.Fatalf("acks: raw-a %d, new worker %d; want 0 and 0", a2.welcome.AckStatsSeq, n.welcome.AckStatsSeq)
		}
	})

	// A worker may reconnect before the master has noticed its old stream die (both run concurrently
	// on the master). The worker dropped its part of the run with the old session, so the master must
	// count it lost rather than wait for it.
	t.Run("reconnect before the old stream is gone", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		a, b := c.raw(t, "raw-a"), c.raw(t, "raw-b")
		runID, out := startScriptRun(t, c, a, b)
		a.stats(t, runID, 1, 4)
		eventually(t, 5*time.Second, "seq 1 merged", func() bool { return c.core.AckSeq("raw-a") == 1 })

		a2 := c.raw(t, "raw-a") // the old stream is still open
		if a2.welcome.Index != 0 || a2.welcome.AckStatsSeq != 1 {
			t.Fatalf("welcome: index %d, ack %d; want 0, 1", a2.welcome.Index, a2.welcome.AckStatsSeq)
		}
		select {
		case <-a.done: // the master closed the stale stream
		case <-time.After(5 * time.Second):
			t.Fatal("the master kept the stale stream open")
		}
		a2.stats(t, runID, 2, 6)
		eventually(t, 5*time.Second, "seq 2 merged", func() bool { return c.core.AckSeq("raw-a") == 2 })

		o := endRun(t, b, runID, out)
		if !errors.Is(o.err, master.ErrWorkersPartial) {
			t.Fatalf("Run: %v, want %v", o.err, master.ErrWorkersPartial)
		}
		if n, lost := requestsOf(o.res, "raw-a"); n != 10 || !lost {
			t.Errorf("raw-a: %d requests, lost %v; want 10 and lost", n, lost)
		}
	})
}

// TestProtocolVersion checks that the master refuses a worker of another major version, says so on
// both sides, and that the worker gives up instead of retrying.
func TestProtocolVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		major, minor uint32
		refused      bool
	}{
		{name: "same version", major: protocol.Major, minor: protocol.Minor},
		{name: "newer minor is compatible", major: protocol.Major, minor: protocol.Minor + 3},
		{name: "newer major", major: protocol.Major + 1, refused: true},
		{name: "older major", major: protocol.Major - 1, refused: true},
	}
	for _, tt := range tests {
		t.Run("raw/"+tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t)
			r, first := c.rawHello(t, &pb.Hello{ProtocolMajor: tt.major, ProtocolMinor: tt.minor, WorkerId: "w-x", Host: "x"})
			if !tt.refused {
				if r.welcome == nil || r.welcome.ProtocolMajor != protocol.Major {
					t.Fatalf("answer %v, want Welcome", first)
				}
				return
			}
			rej := first.GetReject()
			if rej == nil {
				t.Fatalf("answer %v, want Reject", first)
			}
			if !strings.Contains(rej.Reason, fmt.Sprintf("speaks protocol %d.%d", tt.major, tt.minor)) ||
				!strings.Contains(rej.Reason, fmt.Sprintf("this master speaks %d.%d", protocol.Major, protocol.Minor)) {
				t.Errorf("reason %q does not name both versions", rej.Reason)
			}
			if _, err := r.stream.Recv(); status.Code(err) != codes.FailedPrecondition {
				t.Errorf("stream ended with %v, want FailedPrecondition", err)
			}
			if n := len(c.core.Workers()); n != 0 {
				t.Errorf("%d workers registered, want none", n)
			}
		})
	}

	t.Run("worker gives up", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		d := NewDialer(c.addr, c.log)
		d.protocolMajor = protocol.Major + 1
		t.Cleanup(func() { d.Close() })

		sess, _, err := d.Dial(context.Background(), protocol.Hello{ProtocolMajor: protocol.Major,
			ProtocolMinor: protocol.Minor, WorkerID: "w-old", Host: "old"})
		if sess != nil {
			sess.Close()
			t.Fatal("Dial returned a session")
		}
		if !errors.Is(err, worker.ErrRejected) {
			t.Fatalf("Dial: %v, want ErrRejected", err)
		}
		for _, want := range []string{fmt.Sprintf("speaks protocol %d.%d", protocol.Major+1, protocol.Minor), fmt.Sprintf("this master speaks %d.%d", protocol.Major, protocol.Minor)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Dial error %q does not say %q", err, want)
			}
		}
		// The master logged the refusal (before it sent Reject) with ErrProtocolVersion's text.
		logs := c.logs.String()
		if !strings.Contains(logs, "refused a worker") || !strings.Contains(logs, master.ErrProtocolVersion.Error()) {
			t.Errorf("the master did not log the refusal; logs:\n%s", logs)
		}

		// worker.Run returns the refusal rather than retrying until its context ends.
		w, err := worker.New(worker.Options{Host: "old", Exe: "fake-k6", Dir: t.TempDir(),
			ReconnectMin: 10 * time.Millisecond, Launch: c.fleet.launcher("old", fakeConfig{}), Logger: c.log})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = w.Run(ctx, d)
		if ctx.Err() != nil {
			t.Fatal("worker.Run kept retrying until its context ended")
		}
		if !errors.Is(err, worker.ErrRejected) || !strings.Contains(err.Error(), master.ErrProtocolVersion.Error()) {
			t.Errorf("worker.Run: %v, want ErrRejected with the master's reason", err)
		}
		if got := strings.Count(c.logs.String(), "refused a worker"); got != 2 {
			t.Errorf("the master logged %d refusals, want 2 (Dial, then Run once)", got)
		}
		if n := len(c.fleet.all()); n != 0 {
			t.Errorf("a refused worker launched %d children", n)
		}

		// The core itself returns ErrProtocolVersion.
		if _, err := c.core.Join(protocol.Hello{ProtocolMajor: protocol.Major + 1, WorkerID: "w-old"}, nil); !errors.Is(err, master.ErrProtocolVersion) {
			t.Errorf("Join: %v, want ErrProtocolVersion", err)
		}
	})
}

// TestWorkerStopsLoadWithoutMaster: whether the master dies (its connections drop) or goes silent
// (the connection stays up), the worker stops its child within MasterTimeout.
func TestWorkerStopsLoadWithoutMaster(t *testing.T) {
	t.Parallel()

	t.Run("master stopped", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		// Above the master's 1s heartbeat interval, or a healthy session could time out.
		const masterTimeout = 3 * time.Second
		c.startWorker(t, "w0", fakeConfig{}, masterTimeout)
		out := c.runAsync(t, master.RunConfig{Users: 4, RunTime: time.Minute, ExpectWorkers: 1})
		kid := c.fleet.child(t, "w0")
		eventually(t, 10*time.Second, "load on the child", func() bool { n, _ := kid.sent(); return n > 0 })
		if kid.stopped.fired() || kid.terminated.fired() {
			t.Fatal("the child was stopped before the master went away")
		}

		began := time.Now()
		c.srv.Stop()
		c.lis.Close()
		waitEvent(t, kid.stopped, masterTimeout+2*time.Second, "Stop on the child")
		waitEvent(t, kid.terminated, masterTimeout+2*time.Second, "Terminate or Kill on the child")
		t.Logf("load stopped %s after the master went away", time.Since(began).Round(time.Millisecond))

		o := waitRun(t, out, 10*time.Second)
		if !errors.Is(o.err, master.ErrWorkersLost) || len(o.res.Workers) != 1 || !o.res.Workers[0].Lost {
			t.Errorf("master: Run = %v, workers %+v; want ErrWorkersLost and the worker lost", o.err, o.res.Workers)
		}
	})

	t.Run("master silent", func(t *testing.T) {
		t.Parallel()
		log, logs := testLogger(t)
		m := &silentMaster{running: newEvent()}
		srv := grpc.NewServer()
		pb.RegisterCoordinatorServer(srv, m)
		lis, err := netListen(t)
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.Serve(lis) }()
		t.Cleanup(srv.Stop)

		var f fleet
		const masterTimeout = time.Second // the silent master sends no heartbeats at all
		w, err := worker.New(worker.Options{Host: "w0", Exe: "fake-k6", Dir: t.TempDir(), MasterTimeout: masterTimeout,
			ReconnectMin: 10 * time.Millisecond, Launch: f.launcher("w0", fakeConfig{}), Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		d := NewDialer(lis.Addr().String(), log)
		t.Cleanup(func() { d.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx, d) }()

		waitEvent(t, m.running, 10*time.Second, "the run to start")
		kid := f.child(t, "w0")
		eventually(t, 5*time.Second, "load on the child", func() bool { n, _ := kid.sent(); return n > 0 })
		waitEvent(t, kid.stopped, masterTimeout+2*time.Second, "Stop on the child")
		waitEvent(t, kid.terminated, masterTimeout+2*time.Second, "Terminate or Kill on the child")

		// The silent master refuses the worker when it reconnects, which ends Run.
		select {
		case err := <-done:
			if !errors.Is(err, worker.ErrRejected) {
				t.Errorf("worker.Run: %v, want ErrRejected from the second session", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("worker.Run did not return")
		}
		if !strings.Contains(logs.String(), "no word from the master") {
			t.Errorf("the worker did not say why it dropped the session; logs:\n%s", logs.String())
		}
		if got := m.sessions.Load(); got != 2 {
			t.Errorf("%d sessions, want 2", got)
		}
	})
}

// silentMaster welcomes a worker, starts a swarm run on it and then never says another word, while
// keeping the stream open. Later sessions are refused.
type silentMaster struct {
	pb.UnimplementedCoordinatorServer
	sessions atomic.Int32
	running  *event
}

func (m *silentMaster) Connect(stream pb.Coordinator_ConnectServer) error {
	if _, err := stream.Recv(); err != nil {
		return err
	}
	if m.sessions.Add(1) > 1 {
		_ = stream.Send(&pb.MasterMessage{Msg: &pb.MasterMessage_Reject{Reject: &pb.Reject{Reason: "test over"}}})
		return status.Error(codes.FailedPrecondition, "test over")
	}
	const runID = "silent-run"
	send := func(m *pb.MasterMessage) error { return stream.Send(m) }
	await := func(want pb.RunState) error {
		for {
			msg, err := stream.Recv()
			if err != nil {
				return err
			}
			if st := msg.GetStatus(); st != nil && st.State == want {
				return nil
			}
		}
	}
	bundle := &pb.Bundle{Entry: scenario.ArchiveName, Files: map[string][]byte{scenario.ArchiveName: testArchive([]byte("export default function () {}\n"))}}
	for _, step := range []func() error{
		func() error {
			return send(&pb.MasterMessage{Msg: &pb.MasterMessage_Welcome{Welcome: &pb.Welcome{ProtocolMajor: protocol.Major}}})
		},
		func() error {
			return send(&pb.MasterMessage{Msg: &pb.MasterMessage_Assignment{Assignment: &pb.Assignment{RunId: runID,
				Bundle: bundle, Mode: pb.Mode_MODE_SWARM, MaxUsers: 2, MaxDurationMs: 60000}}})
		},
		func() error { return await(pb.RunState_RUN_STATE_READY) },
		func() error {
			return send(&pb.MasterMessage{Msg: &pb.MasterMessage_Start{Start: &pb.Start{RunId: runID}}})
		},
		func() error { return await(pb.RunState_RUN_STATE_RUNNING) },
		func() error {
			return send(&pb.MasterMessage{Msg: &pb.MasterMessage_Control{Control: &pb.Control{RunId: runID, Seq: 1, Users: 2}}})
		},
	} {
		if err := step(); err != nil {
			return err
		}
	}
	m.running.fire()
	for { // silence: read and drop everything until the worker hangs up
		if _, err := stream.Recv(); err != nil {
			return nil
		}
	}
}

// TestWorkerLostMidRun stops one of three workers mid-run: the run goes on with the other two, who
// take over its users, and what the lost worker reported stays in the totals.
func TestWorkerLostMidRun(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	var hs []*workerHandle
	for _, h := range []string{"k0", "k1", "k2"} {
		hs = append(hs, c.startWorker(t, h, fakeConfig{}, 0))
	}
	victim := hs[2]
	out := c.runAsync(t, master.RunConfig{Users: 30, RunTime: 2500 * time.Millisecond, ExpectWorkers: 3})
	vkid := c.fleet.child(t, victim.host)
	eventually(t, 10*time.Second, "three deltas from the victim merged", func() bool { return c.core.AckSeq(victim.w.ID()) >= 3 })

	victim.cancel() // as SIGTERM: the worker stops its load, flushes and leaves
	if err := victim.wait(t, 10*time.Second); err != nil {
		t.Errorf("the stopped worker's Run: %v, want nil", err)
	}
	if !vkid.terminated.fired() {
		t.Error("the stopped worker left its child running")
	}

	o := waitRun(t, out, 20*time.Second)
	if o.err != nil {
		t.Fatalf("Run: %v, want the run to end normally with the two workers left", o.err)
	}
	var perWorker, survivorsEmitted uint64
	var lastVUs int64
	for _, w := range o.res.Workers {
		perWorker += w.Requests
		k := c.fleet.child(t, w.Host)
		emitted, _ := k.sent()
		k.mu.Lock()
		setVUs, stops := slices.Clone(k.setVUs), k.stopCalls
		k.mu.Unlock()
		if w.Host == victim.host {
			if !w.Lost || w.Error != "" {
				t.Errorf("victim: lost %v, error %q; want lost (gone mid-run), with no error (it finished its part)", w.Lost, w.Error)
			}
			if w.Requests != emitted {
				t.Errorf("victim: %d requests kept, want all %d it emitted: a stopping worker flushes its last deltas", w.Requests, emitted)
			}
			continue
		}
		survivorsEmitted += emitted
		if w.Lost || w.Requests != emitted {
			t.Errorf("worker %s: lost %v, %d requests, emitted %d", w.Host, w.Lost, w.Requests, emitted)
		}
		if stops != 1 || len(setVUs) == 0 {
			t.Fatalf("worker %s: Stop %d times, SetVUs %v; want stopped once at the end", w.Host, stops, setVUs)
		}
		lastVUs += setVUs[len(setVUs)-1]
	}
	if lastVUs != 30 {
		t.Errorf("the two survivors' last SetVUs add up to %d, want all 30 users", lastVUs)
	}
	if total := o.res.Aggregate.Total().Requests; total != perWorker || total <= survivorsEmitted {
		t.Errorf("total %d, sum over workers %d, survivors emitted %d: the lost worker's requests must stay", total, perWorker, survivorsEmitted)
	}
}
