//go:build linux

package e2e

import (
	"encoding/json"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Faults (docs/architecture.md, "Faults"): workers and masters killed, stopped and cut off mid-run, with
// real processes. Each test compares the target's own request count with the master's total.

// TestFaultWorkerKilled: a worker SIGKILLed mid-run in swarm mode. The master marks it missing at once
// (its connection breaks), keeps what it reported, hands its users to the others at the spawn rate,
// and a worker started in its place rejoins and gets users again. The killed worker's last second
// is gone, so the run says its results are partial.
func TestFaultWorkerKilled(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	m := startUIMaster(t, "-f", "examples/quickstart.js", "-e", "TARGET="+tg.URL)
	startWorker(t, m.Addr)
	startWorker(t, m.Addr)
	victim := startWorker(t, m.Addr)
	eventually(t, 30*time.Second, "3 workers", func() bool { return len(m.workers(t)) == 3 })
	const users, rate = 12, 2
	startAPIRun(t, m, `{"users": 12, "spawn_rate": 12}`)
	eventually(t, 60*time.Second, "4 users on each of 3 workers", func() bool { return usersAre(m.workers(t), 4, 4, 4) })
	// The spawn rate the lost worker's users are re-dispatched at.
	if code := m.call(t, "PATCH", "/api/v1/runs/current", `{"spawn_rate": 2}`, nil); code != 200 {
		t.Fatalf("set the spawn rate: %d", code)
	}
	// Two samples of what each worker reported, for the victim's rate (deltas arrive once a second).
	runNow := func() apiRun {
		var run apiRun
		m.call(t, "GET", "/api/v1/runs/current", "", &run)
		return run
	}
	var first apiRun
	eventually(t, 30*time.Second, "every worker's first stats merged", func() bool {
		first = runNow()
		return len(first.Workers) == 3 && min(first.Workers[0].Requests, first.Workers[1].Requests, first.Workers[2].Requests) > 0
	})
	firstAt := time.Now()
	var second apiRun
	eventually(t, 30*time.Second, "100 more requests", func() bool {
		second = runNow()
		return sumRequests(second) >= sumRequests(first)+100
	})
	secondAt := time.Now()

	children := k6Children(bin, victim.Process.Pid)
	if len(children) != 1 {
		t.Fatalf("the victim runs %d k6 children, want 1", len(children))
	}
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	eventually(t, 10*time.Second, "the master to mark the killed worker missing", func() bool { return len(m.workers(t)) == 2 })
	missing := time.Since(killed)
	t.Logf("marked missing %s after SIGKILL", missing.Round(10*time.Millisecond))
	if missing > 3*time.Second {
		t.Errorf("marked missing %s after SIGKILL, want within 3 s", missing.Round(10*time.Millisecond))
	}
	eventually(t, 30*time.Second, "12 users over the 2 workers left", func() bool { return usersAre(m.workers(t), 6, 6) })
	moved := time.Since(killed)
	// 4 users at 2/s take 2 s; heartbeats report users up to 1 s late, so at least 1 s shows.
	t.Logf("its %d users re-dispatched %s after SIGKILL (at %d users/s: %s)", users/3, moved.Round(10*time.Millisecond), rate, time.Duration(users/3/rate)*time.Second)
	if moved < time.Second {
		t.Errorf("the lost users came back within %s: not at the spawn rate of %d/s", moved, rate)
	}
	eventually(t, 10*time.Second, "the killed worker's k6 child to die", func() bool {
		return !alive(children[0]) || ppid(children[0]) != victim.Process.Pid && zombie(children[0])
	})

	startWorker(t, m.Addr) // the pod restarted
	restarted := time.Now()
	eventually(t, 60*time.Second, "4 users on each of 3 workers again", func() bool { return usersAre(m.workers(t), 4, 4, 4) })
	t.Logf("a restarted worker took its share %s after it started", time.Since(restarted).Round(10*time.Millisecond))

	run := stopAPIRunErr(t, m)
	if !strings.Contains(run.Error, "the results are partial") || !strings.Contains(run.Error, "was lost at") {
		t.Errorf("run error %q: want partial results naming the killed worker", run.Error)
	}
	var st struct {
		Totals struct {
			Requests uint64 `json:"requests"`
		} `json:"totals"`
	}
	m.call(t, "GET", "/api/v1/stats", "", &st)
	total := st.Totals.Requests
	var lost, sum, victimReqs uint64
	victimIndex := -1
	for _, w := range run.Workers {
		sum += w.Requests
		if w.Lost {
			lost++
			victimReqs, victimIndex = w.Requests, w.Index
		}
	}
	if lost != 1 || victimReqs == 0 {
		t.Errorf("%d workers lost, the lost one kept %d requests; want 1 lost, its requests in the totals", lost, victimReqs)
	}
	if sum != total {
		t.Errorf("the workers' requests add up to %d, the total is %d", sum, total)
	}
	// What the target saw but the master cannot know: the killed worker's last second (k6 reports
	// once a second: at most ~1 s of its load at its own rate, and the requests its 4 users had in
	// flight), and the requests in flight of the 4 users the restarted worker took back from the
	// others (k6 stops a user at once when its worker's share shrinks).
	victimRate := float64(requestsOf(second, victimIndex)-requestsOf(first, victimIndex)) / secondAt.Sub(firstAt).Seconds()
	allowed := uint64(math.Ceil(1.5*victimRate)) + 4 + 4
	counted := tg.stats(t).Total
	t.Logf("target %d, master %d: %d not reported (allowed %d: the killed worker's rate %.1f/s)", counted, total, int64(counted)-int64(total), allowed, victimRate)
	if total > counted || counted-total > allowed {
		t.Errorf("target counted %d, master %d: want 0..%d fewer", counted, total, allowed)
	}
}

// TestFaultScriptWorkerKilled: script mode cannot hand a segment over, so a worker killed (or stopped by
// SIGTERM) mid-run makes the results partial: the summary (text and JSON) names the lost segment and the
// exit code is 12.
func TestFaultScriptWorkerKilled(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			scriptWorkerLost(t, sig)
		})
	}
}

func scriptWorkerLost(t *testing.T, sig syscall.Signal) {
	tg := startTarget(t)
	addr := freeAddr(t)
	cmd, out, errb, sum := master(t, "-f", "examples/arrival-rate.js", "--headless", "--expect-workers", "2",
		"--master-bind", addr, "-e", "TARGET="+tg.URL)
	startWorker(t, addr)
	victim := startWorker(t, addr)
	eventually(t, 60*time.Second, "load at the target", func() bool { return tg.stats(t).Total > 400 })
	if err := victim.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	r := wait(t, cmd, out, errb, sum, 60*time.Second)
	logOnFailure(t, r)
	if r.code != 12 || r.summary == nil {
		t.Fatalf("exit code %d, want 12 (a worker lost, results partial)", r.code)
	}
	if e := r.summary.Outcome.Error; r.summary.Outcome.OK || !strings.Contains(e, "1/2 of the script's load did not run") {
		t.Errorf("JSON outcome %+v, want the lost share", r.summary.Outcome)
	}
	if !strings.Contains(r.stdout, "Partial results:") || !strings.Contains(r.stdout, "lost (segment ") {
		t.Errorf("the text summary does not say the results are partial:\n%s", r.stdout)
	}
	var segs struct {
		Workers []struct {
			Lost     bool   `json:"lost"`
			Segment  string `json:"segment"`
			Requests uint64 `json:"requests"`
		} `json:"workers"`
	}
	readJSON(t, sum, &segs)
	var lost int
	for _, w := range segs.Workers {
		switch {
		case w.Lost:
			lost++
			if w.Segment == "" {
				t.Error("the lost worker's segment is not in the JSON summary")
			}
		case w.Requests < 950 || w.Requests > 1010:
			// 200/s for 10 s, half each: the survivor's segment ran to its end. (On a busy machine
			// k6 may drop a few arrivals, as dropped_iterations, hence 5% under.)
			t.Errorf("the surviving worker did %d requests, want its whole half (1000, -5%% +1%%)", w.Requests)
		}
	}
	if lost != 1 {
		t.Errorf("%d workers lost in the JSON summary, want 1", lost)
	}
	// SIGKILL: the killed worker's last second was never reported, at 100 requests/s about 100 (and
	// its requests in flight). SIGTERM: it flushes, but the arrival-rate executor stops at once, so
	// requests in flight may be cut off. Nothing is counted twice.
	counted, total := tg.stats(t).Total, r.summary.Totals.Requests
	t.Logf("%s: target %d, master %d: %d not reported", sig, counted, total, int64(counted)-int64(total))
	if total > counted || counted-total > 150 {
		t.Errorf("target counted %d, master %d: want 0..150 fewer", counted, total)
	}
}

// TestFaultMasterKilled: the master SIGKILLed mid-run. Every worker stops its load (measured at the
// target), stays up and retries, and registers with a new master on the same address, where a new
// run works and is counted exactly.
func TestFaultMasterKilled(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	addr := freeAddr(t)
	cmd, _, _, _ := master(t, "-f", "examples/quickstart.js", "--headless", "-u", "6", "-r", "6", "-t", "60s",
		"--expect-workers", "2", "--master-bind", addr, "-e", "TARGET="+tg.URL)
	w1, w2 := startWorker(t, addr), startWorker(t, addr)
	killMasterMidRun(t, cmd, tg)
	for _, w := range []*exec.Cmd{w1, w2} {
		if n := len(k6Children(bin, w.Process.Pid)); n != 0 || w.ProcessState != nil {
			t.Fatalf("worker %d: %d k6 children, exited %v; want none and the worker up", w.Process.Pid, n, w.ProcessState != nil)
		}
	}

	before := tg.stats(t).Total
	again := time.Now()
	r := runMaster(t, 90*time.Second, "-f", "examples/quickstart.js", "--headless", "-u", "4", "-r", "4", "-t", "3s",
		"--expect-workers", "2", "--expect-workers-timeout", "30s", "--master-bind", addr, "-e", "TARGET="+tg.URL)
	logOnFailure(t, r)
	t.Logf("a new master on the same address: both workers registered and ran a 3 s run in %s", time.Since(again).Round(100*time.Millisecond))
	if r.code != 0 || r.summary == nil || len(r.summary.Workers) != 2 {
		t.Fatalf("the new master's run: exit %d, summary %v", r.code, r.summary != nil)
	}
	if got := tg.stats(t).Total - before; got == 0 || got != r.summary.Totals.Requests {
		t.Errorf("the new run: target counted %d, master %d; want equal and > 0", got, r.summary.Totals.Requests)
	}
}

// killMasterMidRun waits for load at tg, kills the master cmd with SIGKILL, and checks that the
// load stops within 10 s, with no master to tell the workers.
func killMasterMidRun(t *testing.T, cmd *exec.Cmd, tg *target) {
	t.Helper()
	eventually(t, 60*time.Second, "load at the target", func() bool { return tg.stats(t).Total > 30 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = cmd.Wait()
	stoppedAfter := loadStops(t, tg, killed, 2*time.Second, 20*time.Second)
	t.Logf("load stopped at the target %s after SIGKILL to the master", stoppedAfter.Round(10*time.Millisecond))
	if stoppedAfter > 10*time.Second {
		t.Errorf("the target got requests %s after the master died, want none after 10 s", stoppedAfter)
	}
}

// TestFaultPartition: the network between one worker and the master goes silent (a black hole: no
// reset, no close). The master marks the worker missing within 3 s and hands its users to the other;
// the worker stops its load within its master timeout (6 s). When the network heals the worker
// rejoins, resends what the master had not acknowledged, and takes its share again.
func TestFaultPartition(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	m := startUIMaster(t, "-f", "examples/quickstart.js", "-e", "TARGET="+tg.URL)
	px := startProxy(t, m.Addr)
	startWorker(t, m.Addr)
	cut := startWorker(t, px.Addr())
	eventually(t, 30*time.Second, "2 workers", func() bool { return len(m.workers(t)) == 2 })
	startAPIRun(t, m, `{"users": 10, "spawn_rate": 10}`)
	eventually(t, 60*time.Second, "5 users on each worker", func() bool { return usersAre(m.workers(t), 5, 5) })
	children := k6Children(bin, cut.Process.Pid)
	if len(children) != 1 {
		t.Fatalf("the cut-off worker runs %d k6 children, want 1", len(children))
	}

	px.partition()
	parted := time.Now()
	eventually(t, 10*time.Second, "the master to mark the worker missing", func() bool { return len(m.workers(t)) == 1 })
	missing := time.Since(parted)
	eventually(t, 20*time.Second, "the cut-off worker to stop its load", func() bool {
		return !alive(children[0]) || zombie(children[0]) || ppid(children[0]) != cut.Process.Pid
	})
	stopped := time.Since(parted)
	t.Logf("partition: marked missing after %s, the worker's load stopped after %s", missing.Round(10*time.Millisecond), stopped.Round(10*time.Millisecond))
	if missing > 3*time.Second {
		t.Errorf("marked missing %s into the partition, want within 3 s (transport keepalive: 1 s idle + 1.5 s ping timeout)", missing)
	}
	// 6 s --master-timeout, then a graceful stop (users finish their iteration, at most 2 s).
	if stopped > 9*time.Second {
		t.Errorf("the cut-off worker's load stopped %s into the partition, want within its 6 s master timeout and the stop", stopped)
	}
	eventually(t, 30*time.Second, "all 10 users on the worker left", func() bool { return usersAre(m.workers(t), 10) })

	px.heal()
	healed := time.Now()
	eventually(t, 60*time.Second, "the worker to rejoin and take 5 users", func() bool { return usersAre(m.workers(t), 5, 5) })
	t.Logf("healed: rejoined with its share %s later", time.Since(healed).Round(10*time.Millisecond))

	run, total := stopAPIRun(t, m)
	var sum uint64
	for _, w := range run.Workers {
		sum += w.Requests
	}
	// The cut-off worker stopped gracefully and resent its last deltas after healing; only its 5
	// users, stopped on the other worker when it took them back, may have had a request in flight.
	counted := tg.stats(t).Total
	t.Logf("target %d, master %d", counted, total)
	if sum != total || total > counted || counted-total > 5 {
		t.Errorf("target counted %d, master %d, workers add up to %d: want 0..5 fewer, and the sum equal", counted, total, sum)
	}
}

// TestFaultResetMidStats: one worker's connection is reset (RST) in the middle of a stats report, four
// times during a run. Each time the worker stops, reconnects, resends what was not acknowledged, and
// the master merges each delta once: at the end the master's total matches the target's count.
func TestFaultResetMidStats(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	m := startUIMaster(t, "-f", "examples/quickstart.js", "-e", "TARGET="+tg.URL)
	px := startProxy(t, m.Addr)
	startWorker(t, m.Addr)
	startWorker(t, px.Addr())
	eventually(t, 30*time.Second, "2 workers", func() bool { return len(m.workers(t)) == 2 })
	startAPIRun(t, m, `{"users": 4, "spawn_rate": 4}`)
	const resets = 4
	joins := func() int { return strings.Count(m.log(), `msg="worker connected"`) }
	for i := range resets {
		// Each cut is in the middle of a session: after the last one's reconnect (2 workers and one
		// join per cut so far) and with the worker back at its share.
		eventually(t, 60*time.Second, "2 users on each worker after every reconnect", func() bool {
			return joins() >= 2+i && usersAre(m.workers(t), 2, 2)
		})
		// A stats delta is the one message from a worker over 200 bytes (heartbeats are ~50).
		done := px.cutMidMessage(200)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("reset %d: no stats report crossed the proxy within 10 s", i+1)
		}
	}
	eventually(t, 60*time.Second, "the last reconnect, and 2 users on each worker", func() bool {
		return joins() >= 2+resets && usersAre(m.workers(t), 2, 2)
	})
	_, total := stopAPIRun(t, m)
	counted := tg.stats(t).Total
	// Each reset stopped the worker's 2 users gracefully (nothing lost) and moved them to the other
	// worker for a moment; when they came back, k6 stopped them there at once: at most 2 requests in
	// flight per reset are cut off uncounted.
	const allowed = 2 * resets
	px.mu.Lock()
	cuts := px.cuts
	px.mu.Unlock()
	t.Logf("%d resets mid-report (chunks of %v bytes cut in half): target %d, master %d", resets, cuts, counted, total)
	if total > counted || counted-total > allowed {
		t.Errorf("target counted %d, master %d: want 0..%d fewer, never more (counted twice)", counted, total, allowed)
	}
}

// TestFaultMasterSIGTERM: SIGTERM to a headless master mid-run stops the run, collects every worker's
// last deltas, writes every report asked for and exits 130 (interrupted).
func TestFaultMasterSIGTERM(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	addr := freeAddr(t)
	dir := t.TempDir()
	cmd, out, errb, sum := master(t, "-f", "examples/quickstart.js", "--headless", "-u", "6", "-r", "6", "-t", "60s",
		"--expect-workers", "2", "--master-bind", addr, "-e", "TARGET="+tg.URL,
		"--csv", filepath.Join(dir, "run"), "--junit", filepath.Join(dir, "junit.xml"))
	startWorker(t, addr)
	startWorker(t, addr)
	eventually(t, 60*time.Second, "load at the target", func() bool { return tg.stats(t).Total > 30 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	termed := time.Now()
	r := wait(t, cmd, out, errb, sum, 40*time.Second)
	logOnFailure(t, r)
	t.Logf("the master exited %s after SIGTERM", time.Since(termed).Round(10*time.Millisecond))
	if r.code != 130 || r.summary == nil {
		t.Fatalf("exit code %d, summary %v; want 130 and a summary", r.code, r.summary != nil)
	}
	for _, f := range []string{"run_stats.csv", "run_stats_history.csv", "run_failures.csv", "junit.xml"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("report %s: %v", f, err)
		}
	}
	if !strings.Contains(r.summary.Outcome.Error, "interrupted") {
		t.Errorf("JSON outcome %+v, want interrupted", r.summary.Outcome)
	}
	// The stop is graceful and the master waits for every worker's last delta: exact.
	if counted := tg.stats(t).Total; counted != r.summary.Totals.Requests {
		t.Errorf("target counted %d, master %d: want equal", counted, r.summary.Totals.Requests)
	}
}

// TestFaultWorkerSIGTERM: SIGTERM to a worker mid-run (a pod being deleted): it stops its load, flushes
// its last deltas and exits well within the chart's 30 s grace period; its users go to the other
// worker and nothing it sent to the target is missing from the master's total.
func TestFaultWorkerSIGTERM(t *testing.T) {
	t.Parallel()
	workerSIGTERM(t, "examples/quickstart.js")
}

// workerSIGTERM is TestFaultWorkerSIGTERM for the script (or flow) at path.
func workerSIGTERM(t *testing.T, path string) {
	t.Helper()
	tg := startTarget(t)
	addr := freeAddr(t)
	cmd, out, errb, sum := master(t, "-f", path, "--headless", "-u", "6", "-r", "6", "-t", "12s",
		"--expect-workers", "2", "--master-bind", addr, "-e", "TARGET="+tg.URL)
	startWorker(t, addr)
	pod := startWorker(t, addr)
	eventually(t, 60*time.Second, "load at the target", func() bool { return tg.stats(t).Total > 30 })
	if err := pod.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	termed := time.Now()
	exited := make(chan error, 1)
	go func() { exited <- pod.Wait() }()
	select {
	case err := <-exited:
		t.Logf("the worker exited %s after SIGTERM (%v)", time.Since(termed).Round(10*time.Millisecond), err)
		if err != nil {
			t.Errorf("the worker's exit: %v, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not exit within the 30 s grace period")
	}
	r := wait(t, cmd, out, errb, sum, 60*time.Second)
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil {
		t.Fatalf("exit code %d", r.code)
	}
	var left uint64
	for _, w := range r.summary.Workers {
		if w.Lost {
			left = w.Requests
		}
	}
	counted := tg.stats(t).Total
	t.Logf("target %d, master %d (the stopped worker %d)", counted, r.summary.Totals.Requests, left)
	if left == 0 || counted != r.summary.Totals.Requests {
		t.Errorf("target counted %d, master %d, the stopped worker %d: want equal totals, the worker's part in them", counted, r.summary.Totals.Requests, left)
	}
}

// usersAre: the connected workers run exactly these users, in index order.
func usersAre(ws []apiWorker, want ...int64) bool {
	if len(ws) != len(want) {
		return false
	}
	for i, w := range ws {
		if w.Users != want[i] {
			return false
		}
	}
	return true
}

type apiRun struct {
	State   string `json:"state"`
	Error   string `json:"error"`
	Workers []struct {
		Index    int    `json:"index"`
		Requests uint64 `json:"requests"`
		Lost     bool   `json:"lost"`
	} `json:"workers"`
}

func startAPIRun(t *testing.T, m *uiMaster, body string) {
	t.Helper()
	if code := m.call(t, "POST", "/api/v1/runs", body, nil); code != 201 {
		t.Fatalf("start a run: %d", code)
	}
}

func sumRequests(r apiRun) (n uint64) {
	for _, w := range r.Workers {
		n += w.Requests
	}
	return n
}

func requestsOf(r apiRun, index int) uint64 {
	for _, w := range r.Workers {
		if w.Index == index {
			return w.Requests
		}
	}
	return 0
}

// stopAPIRun stops the current run, waits for its end and returns it with the master's total.
func stopAPIRun(t *testing.T, m *uiMaster) (apiRun, uint64) {
	t.Helper()
	if code := m.call(t, "POST", "/api/v1/runs/current/stop", "", nil); code != 202 {
		t.Fatalf("stop: %d", code)
	}
	var run apiRun
	eventually(t, 60*time.Second, "the run to stop", func() bool {
		m.call(t, "GET", "/api/v1/runs/current", "", &run)
		return run.State == "stopped"
	})
	if run.Error != "" {
		t.Fatalf("the run ended with %q", run.Error)
	}
	var st struct {
		Totals struct {
			Requests uint64 `json:"requests"`
		} `json:"totals"`
	}
	m.call(t, "GET", "/api/v1/stats", "", &st)
	return run, st.Totals.Requests
}

// loadStops waits until the target's count has not grown for quiet and returns how long after since
// it last grew; it fails the test if that does not happen within limit.
func loadStops(t *testing.T, tg *target, since time.Time, quiet, limit time.Duration) time.Duration {
	t.Helper()
	last, lastChange := tg.stats(t).Total, time.Now()
	deadline := time.Now().Add(limit)
	for time.Since(lastChange) < quiet {
		if time.Now().After(deadline) {
			t.Fatalf("the target still gets requests %s after the fault", limit)
		}
		time.Sleep(50 * time.Millisecond)
		if n := tg.stats(t).Total; n != last {
			last, lastChange = n, time.Now()
		}
	}
	return max(lastChange.Sub(since), 0)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// proxy is a TCP proxy between workers and the master that the test controls: a partition stops
// forwarding without closing anything (a black hole: the bytes wait, as TCP would retransmit them),
// and a cut resets every connection in the middle of a message.
type proxy struct {
	ln net.Listener
	to string

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	gate    chan struct{} // while partitioned: closed by heal
	cutMin  int           // > 0: cut the next worker-to-master chunk of at least this many bytes
	cutDone chan struct{}
	cuts    []int // the size of each chunk cut in half
}

func startProxy(t *testing.T, to string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, to: to, conns: map[net.Conn]struct{}{}}
	go p.accept()
	t.Cleanup(func() {
		p.heal()
		ln.Close()
		p.reset()
	})
	return p
}

func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.to)
		if err != nil {
			down.Close()
			continue
		}
		p.mu.Lock()
		p.conns[down], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go p.pipe(up, down, true)
		go p.pipe(down, up, false)
	}
}

// pipe copies src to dst; toMaster says it carries the worker's messages.
func (p *proxy) pipe(dst, src net.Conn, toMaster bool) {
	defer func() {
		dst.Close()
		src.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			gate := p.gate
			cut := toMaster && p.cutMin > 0 && n >= p.cutMin
			var done chan struct{}
			if cut {
				p.cutMin, done = 0, p.cutDone
				p.cuts = append(p.cuts, n)
			}
			p.mu.Unlock()
			if gate != nil {
				<-gate
			}
			if cut {
				_, _ = dst.Write(buf[:n/2])
				p.reset()
				close(done)
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) partition() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate == nil {
		p.gate = make(chan struct{})
	}
}

func (p *proxy) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate != nil {
		close(p.gate)
		p.gate = nil
	}
}

// reset closes every connection with a TCP reset.
func (p *proxy) reset() {
	p.mu.Lock()
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.Close()
	}
}

// cutMidMessage arms a cut: the next worker-to-master chunk of at least n bytes is forwarded only in
// part, then every connection is reset. The channel is closed once that happened.
func (p *proxy) cutMidMessage(n int) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutMin, p.cutDone = n, make(chan struct{})
	return p.cutDone
}
