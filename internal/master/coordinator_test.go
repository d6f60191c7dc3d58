package master

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// TestJoinAndRejoin: indexes are the lowest free ones; a worker that reconnects keeps its record,
// its old connection is closed and that connection's end changes nothing; a protocol mismatch and
// an empty id are refused.
func TestJoinAndRejoin(t *testing.T) {
	t.Parallel()
	c, _ := newCore(t, fakeLoader{})
	a, wa := join(t, c, "a")
	_, wb := join(t, c, "b")
	if wa.Index != 0 || wb.Index != 1 {
		t.Fatalf("indexes %d, %d; want 0, 1", wa.Index, wb.Index)
	}

	c.Leave("a", a, errors.New("reset"))
	_, wc := join(t, c, "c")
	if wc.Index != 0 {
		t.Errorf("c got index %d; want 0, the one a left", wc.Index)
	}
	a2, wa2 := join(t, c, "a")
	if wa2.Index != 2 {
		t.Errorf("a came back on index %d; want 2 (0 is c's now)", wa2.Index)
	}

	b2, wb2 := join(t, c, "b") // b reconnects before its old connection ended
	if wb2.Index != 1 {
		t.Errorf("b reconnected on index %d; want its own, 1", wb2.Index)
	}
	c.Leave("b", b2, nil) // the new connection ends
	c.Leave("a", a, nil)  // an old connection of a ends late: a stays
	ws := c.Workers()
	if len(ws) != 2 || ws[0].ID != "c" || ws[1].ID != "a" {
		t.Errorf("workers %+v; want c (0) and a (2)", ws)
	}
	_ = a2

	_, err := c.Join(protocol.Hello{ProtocolMajor: protocol.Major + 1, WorkerID: "x"}, &fakeWorker{})
	wantErr(t, err, ErrProtocolVersion, "run matching versions")
	if _, err := c.Join(protocol.Hello{ProtocolMajor: protocol.Major}, &fakeWorker{}); err == nil {
		t.Error("a worker without an id joined")
	}
}

// TestReplacedConnectionIsClosed: when a worker reconnects, the master closes its old connection.
func TestReplacedConnectionIsClosed(t *testing.T) {
	t.Parallel()
	c, _ := newCore(t, fakeLoader{})
	old, _ := join(t, c, "a")
	join(t, c, "a")
	until(t, "the old connection closed", func() bool {
		old.mu.Lock()
		defer old.mu.Unlock()
		return old.closed
	})
}

// TestSwarmPhases: a swarm run goes through every phase in order on every worker: the archive is
// assigned, setup() runs once and its data reaches every Start, the users are split, the load
// stops at the run time, teardown() runs once, every worker is finished, and the totals are what
// the workers reported.
func TestSwarmPhases(t *testing.T) {
	t.Parallel()
	c, script := newCore(t, fakeLoader{})
	a, _ := join(t, c, "a", func(w *fakeWorker) { w.setupData = `{"token":"t"}` })
	b, _ := join(t, c, "b")
	res, err := c.Run(t.Context(), RunConfig{Script: script, Users: 5, RunTime: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.kinds(); got != "assign setup start stop teardown finish" {
		t.Errorf("worker a got %q", got)
	}
	if got := b.kinds(); got != "assign start stop finish" {
		t.Errorf("worker b got %q", got)
	}
	for _, w := range []*fakeWorker{a, b} {
		m, _ := w.message("start")
		if string(m.data) != `{"token":"t"}` {
			t.Errorf("%s started with %q; want setup()'s data", w.id, m.data)
		}
		as, _ := w.message("assign")
		if as.part.Mode != scenario.Swarm || as.part.Bundle == nil {
			t.Errorf("%s was assigned %+v", w.id, as.part)
		}
	}
	if ua, ub := a.currentUsers(), b.currentUsers(); ua+ub != 5 || max(ua, ub)-min(ua, ub) != 1 {
		t.Errorf("users %d + %d; want 5 split 3/2", ua, ub)
	}
	if got, want := requests(res), a.reported()+b.reported(); got != want || got == 0 {
		t.Errorf("result has %d requests; the workers reported %d", got, want)
	}
	if string(res.SetupData) != `{"token":"t"}` || res.Archive == nil {
		t.Errorf("result setup data %q, archive %v", res.SetupData, res.Archive != nil)
	}
	if state(c) != Stopped {
		t.Errorf("state %s after the run", state(c))
	}
}

// TestScriptPhases: script mode splits the script's load by execution segments and ends when every
// worker's test is done, without a stop.
func TestScriptPhases(t *testing.T) {
	t.Parallel()
	c, script := newCore(t, fakeLoader{})
	a, _ := join(t, c, "a", func(w *fakeWorker) { w.scriptRun = 7 })
	b, _ := join(t, c, "b", func(w *fakeWorker) { w.scriptRun = 4 })
	res, err := c.Run(t.Context(), RunConfig{Script: script})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.kinds(); got != "assign setup start teardown finish" {
		t.Errorf("worker a got %q", got)
	}
	ma, _ := a.message("assign")
	mb, _ := b.message("assign")
	if ma.part.Segment != "0:1/2" || mb.part.Segment != "1/2:1" || ma.part.SegmentSequence == "" {
		t.Errorf("segments %q and %q (sequence %q)", ma.part.Segment, mb.part.Segment, ma.part.SegmentSequence)
	}
	if requests(res) != 11 {
		t.Errorf("%d requests; want 11", requests(res))
	}
}

// TestDedupAcrossReconnects: a worker that reconnects is told the last stats sequence number merged,
// and a resent delta is not merged twice.
func TestDedupAcrossReconnects(t *testing.T) {
	t.Parallel()
	c, script := newCore(t, fakeLoader{})
	quiet := func(w *fakeWorker) { w.perStep = 0 }
	a, _ := join(t, c, "a", quiet)
	join(t, c, "b", quiet) // the run goes on while a reconnects
	wait := runInBackground(t, c, RunConfig{Script: script, Users: 2})
	until(t, "the load started", func() bool { return state(c) == Running })
	a.report(3) // seq 1
	a.report(4) // seq 2
	until(t, "seq 2 merged", func() bool { return c.AckSeq("a") == 2 })

	_, wel := join(t, c, "a", quiet) // the same worker, a new connection
	if wel.AckStatsSeq != 2 {
		t.Errorf("welcome acknowledges seq %d; want 2", wel.AckStatsSeq)
	}
	var d stats.Delta
	d.AddRequest(stats.Key{Name: "home", Method: "GET", Status: "200"}, 1, false, "")
	c.Stats("a", a.run(), 2, &d) // a resend
	until(t, "the resend handled", func() bool { return c.AckSeq("a") == 2 && c.Progress().Requests >= 7 })
	if got := c.Progress().Requests; got != 7 {
		t.Errorf("%d requests; want 7: the resent delta was merged again", got)
	}
	if err := c.Stop("test over"); err != nil {
		t.Fatal(err)
	}
	_, _ = wait()
}

// TestStopInEveryPhase: a stop before the load starts ends the run at once as interrupted, naming
// the stop; a stop while the load runs stops it gracefully (teardown, last stats) and is no error.
func TestStopInEveryPhase(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		loader fakeLoader
		worker func(*fakeWorker) // nil: no worker joins
		reach  func(c *Coordinator, w *fakeWorker) bool
		loaded bool // the load had started
	}{
		{"validating the script", fakeLoader{block: true}, nil, func(*Coordinator, *fakeWorker) bool { return true }, false},
		{"waiting for workers", fakeLoader{}, nil, func(*Coordinator, *fakeWorker) bool { return true }, false},
		{"initialising", fakeLoader{}, func(w *fakeWorker) { w.silent["assign"] = true },
			func(_ *Coordinator, w *fakeWorker) bool { _, ok := w.message("assign"); return ok }, false},
		{"in setup()", fakeLoader{}, func(w *fakeWorker) { w.silent["setup"] = true },
			func(_ *Coordinator, w *fakeWorker) bool { _, ok := w.message("setup"); return ok }, false},
		{"running", fakeLoader{}, func(*fakeWorker) {}, func(c *Coordinator, _ *fakeWorker) bool { return state(c) == Running }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, script := newCore(t, tc.loader)
			var w *fakeWorker
			if tc.worker != nil {
				w, _ = join(t, c, "a", tc.worker)
			}
			wait := runInBackground(t, c, RunConfig{Script: script, Users: 2, ExpectTimeout: time.Hour})
			until(t, "the phase", func() bool { return tc.reach(c, w) })
			if err := c.Stop("asked by the test"); err != nil {
				t.Fatal(err)
			}
			res, err := wait()
			if !tc.loaded {
				wantErr(t, err, ErrInterrupted, "before the load started: asked by the test")
				if res == nil || !res.Started.IsZero() {
					t.Errorf("result %+v; want one without a start", res)
				}
				return
			}
			if err != nil {
				t.Fatalf("a stop while the load runs: %v", err)
			}
			if got := w.kinds(); got != "assign setup start stop teardown finish" {
				t.Errorf("worker got %q", got)
			}
		})
	}
}

// TestLostWorkerSwarm: a worker lost while its load runs hands its users to the others, and the run
// ends partial, naming it.
func TestLostWorkerSwarm(t *testing.T) {
	t.Parallel()
	c, script := newCore(t, fakeLoader{})
	a, _ := join(t, c, "a")
	b, _ := join(t, c, "b")
	wait := runInBackground(t, c, RunConfig{Script: script, Users: 10})
	until(t, "the users split", func() bool { return a.currentUsers() == 5 && b.currentUsers() == 5 })
	c.Leave("b", b, errors.New("connection reset"))
	until(t, "a runs all 10 users", func() bool { return a.currentUsers() == 10 })
	if err := c.Stop("test over"); err != nil {
		t.Fatal(err)
	}
	res, err := wait()
	wantErr(t, err, ErrWorkersPartial, "worker 1 (host-b) was lost", "connection reset")
	if len(res.Workers) != 2 || !res.Workers[1].Lost {
		t.Errorf("workers %+v; want b lost", res.Workers)
	}
}

// TestLostWorkerScript: in script mode a lost worker's segment is not taken over: the run is
// partial and says which share of the load did not run.
func TestLostWorkerScript(t *testing.T) {
	t.Parallel()
	c, script := newCore(t, fakeLoader{})
	join(t, c, "a", func(w *fakeWorker) { w.scriptRun = 5 })
	b, _ := join(t, c, "b", func(w *fakeWorker) { w.silent["start"] = true })
	wait := runInBackground(t, c, RunConfig{Script: script})
	until(t, "b started", func() bool { _, ok := b.message("start"); return ok })
	c.Leave("b", b, errors.New("killed"))
	_, err := wait()
	wantErr(t, err, ErrWorkersPartial, "1/2 of the script's load did not run: segment 1/2:1 (worker 1)")
}

// TestDeadChild: a worker whose k6 process dies mid-run reports it; its users go to the others
// and the run is partial.
func TestDeadChild(t *testing.T) {
	t.Parallel()
	c, script := newCore(t, fakeLoader{})
	a, _ := join(t, c, "a")
	b, _ := join(t, c, "b", func(w *fakeWorker) { w.silent["finish"] = true }) // its child is gone
	wait := runInBackground(t, c, RunConfig{Script: script, Users: 4})
	until(t, "the users split", func() bool { return a.currentUsers() == 2 && b.currentUsers() == 2 })
	c.Status("b", protocol.Status{RunID: b.run(), State: protocol.Failed, ExitCode: 137, Error: "signal: killed"})
	until(t, "a runs all 4 users", func() bool { return a.currentUsers() == 4 })
	// A stale word about the dead child changes nothing: its part of the run is over.
	c.Status("b", protocol.Status{RunID: b.run(), State: protocol.Done})
	if err := c.Stop("test over"); err != nil {
		t.Fatal(err)
	}
	_, err := wait()
	wantErr(t, err, ErrWorkersPartial, "worker 1 (host-b): signal: killed")
}

// TestFailedSendIsLeft: a message the connection cannot take means the connection is gone: the
// worker leaves the run like one whose connection ended.
func TestFailedSendIsLeft(t *testing.T) {
	t.Parallel()
	c, script := newCore(t, fakeLoader{})
	a, _ := join(t, c, "a")
	join(t, c, "b", func(w *fakeWorker) { w.failSends = true })
	wait := runInBackground(t, c, RunConfig{Script: script, Users: 6})
	until(t, "a runs all 6 users", func() bool { return a.currentUsers() == 6 })
	if ws := c.Workers(); len(ws) != 1 || ws[0].ID != "a" {
		t.Errorf("workers %+v; want b dropped", ws)
	}
	if err := c.Stop("test over"); err != nil {
		t.Fatal(err)
	}
	_, err := wait()
	wantErr(t, err, ErrWorkersPartial, "worker 1")
}

// TestThresholds: a failing threshold fails the run when it ends; one with abortOnFail stops the
// load as soon as it fails; one that holds passes.
func TestThresholds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		tc     scenario.ThresholdConfig
		want   error
		detail string
	}{
		{"holds", scenario.ThresholdConfig{Source: "count<1000000"}, nil, ""},
		{"fails at the end", scenario.ThresholdConfig{Source: "count<3"}, ErrThresholdsFailed, "http_reqs: count<3"},
		{"aborts", scenario.ThresholdConfig{Source: "count<3", AbortOnFail: true}, ErrThresholdAborted, "count<3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := &scenario.Options{ThresholdConfigs: map[string][]scenario.ThresholdConfig{"http_reqs": {tc.tc}}}
			c, script := newCore(t, fakeLoader{opts: opts})
			a, _ := join(t, c, "a", func(w *fakeWorker) { w.perStep = 5 })
			runTime := time.Hour // an aborting threshold must end the run by itself
			if tc.want != ErrThresholdAborted {
				runTime = 300 * time.Millisecond
			}
			res, err := c.Run(t.Context(), RunConfig{Script: script, Users: 1, RunTime: runTime})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				wantErr(t, err, tc.want, tc.detail)
			}
			if len(res.Thresholds) != 1 || res.Thresholds[0].OK != (tc.want == nil) || !res.Thresholds[0].HasData {
				t.Errorf("thresholds %+v", res.Thresholds)
			}
			if tc.want == ErrThresholdAborted {
				if !res.Thresholds[0].Aborted || !strings.Contains(a.kinds(), "stop teardown finish") {
					t.Errorf("aborted %v; worker got %q", res.Thresholds[0].Aborted, a.kinds())
				}
			}
		})
	}
}

// TestOneRunAtATime: a second run is refused while one is in progress, and settings are checked
// before anything starts.
func TestOneRunAtATime(t *testing.T) {
	t.Parallel()
	c, script := newCore(t, fakeLoader{})
	join(t, c, "a")
	wait := runInBackground(t, c, RunConfig{Script: script, Users: 1})
	if _, err := c.Start(t.Context(), RunConfig{Script: script, Users: 1}, nil); !errors.Is(err, ErrRunInProgress) {
		t.Errorf("a second run: %v; want ErrRunInProgress", err)
	}
	if err := c.Stop("test over"); err != nil {
		t.Fatal(err)
	}
	_, _ = wait()
	c.WaitIdle(t.Context())
	if _, err := c.Start(t.Context(), RunConfig{Script: script, Users: -1}, nil); !errors.Is(err, ErrBadSettings) {
		t.Errorf("negative users: %v; want ErrBadSettings", err)
	}
	if err := c.Stop("nothing to stop"); !errors.Is(err, ErrNoRun) {
		t.Errorf("stop with no run: %v; want ErrNoRun", err)
	}
}
