//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Faults inside a worker (issue 18): its k6 child dies, the worker freezes, setup() and teardown()
// take long, the init code never ends. None may end in exit 0 with totals the target disagrees with.

// TestFaultK6ChildKilled: the k6 child of one worker is SIGKILLed while its worker lives. Swarm: the
// worker says so at once, the others take its users, the run ends promptly and says its results are
// partial, naming the worker; the next run on the same workers is whole. Script: exit 12.
func TestFaultK6ChildKilled(t *testing.T) {
	t.Parallel()
	t.Run("swarm", func(t *testing.T) {
		t.Parallel()
		tg := startTarget(t)
		m := startUIMaster(t, "-f", "examples/quickstart.js", "-e", "TARGET="+tg.URL)
		startWorker(t, m.Addr)
		victim, victimLog := startWorkerWith(t, m.Addr)
		eventually(t, 30*time.Second, "2 workers", func() bool { return len(m.workers(t)) == 2 })
		startAPIRun(t, m, `{"users": 6, "spawn_rate": 6}`)
		eventually(t, 60*time.Second, "3 users on each worker", func() bool { return usersAre(m.workers(t), 3, 3) })
		children := k6Children(bin, victim.Process.Pid)
		if len(children) != 1 {
			t.Fatalf("the victim runs %d k6 children, want 1", len(children))
		}
		if err := syscall.Kill(children[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		eventually(t, 30*time.Second, "all 6 users on the other worker", func() bool { ws := m.workers(t); return usersAre(ws, 6, 0) || usersAre(ws, 0, 6) })
		t.Logf("the dead child's users moved to the other worker %s after SIGKILL", time.Since(killed).Round(10*time.Millisecond))
		stopAt := time.Now()
		run := stopAPIRunErr(t, m)
		t.Logf("stopped in %s: %s", time.Since(stopAt).Round(10*time.Millisecond), run.Error)
		if !strings.Contains(run.Error, "partial") || !strings.Contains(run.Error, "died") {
			t.Errorf("run error %q: want partial results naming its dead k6 process", run.Error)
		}

		// The worker starts a fresh child for the next run, which is whole and exact.
		before := tg.stats(t).Total
		startAPIRun(t, m, `{"users": 4, "spawn_rate": 4}`)
		eventually(t, 60*time.Second, "2 users on each worker", func() bool { return usersAre(m.workers(t), 2, 2) })
		eventually(t, 30*time.Second, "load on the new run", func() bool { return tg.stats(t).Total > before+50 })
		_, total := stopAPIRun(t, m)
		if got := tg.stats(t).Total - before; got != total {
			t.Errorf("the next run: target counted %d, master %d; want equal", got, total)
		}
		stopProcess(victim)
		if !strings.Contains(victimLog.String(), "the k6 process ended by itself") {
			t.Errorf("the worker did not log its child's death; its log:\n%s", victimLog)
		}
	})
	t.Run("script", func(t *testing.T) {
		t.Parallel()
		tg := startTarget(t)
		addr := freeAddr(t)
		cmd, out, errb, sum := master(t, "-f", "examples/arrival-rate.js", "--headless", "--expect-workers", "2",
			"--master-bind", addr, "-e", "TARGET="+tg.URL)
		startWorker(t, addr)
		victim := startWorker(t, addr)
		eventually(t, 60*time.Second, "load at the target", func() bool { return tg.stats(t).Total > 300 })
		children := k6Children(bin, victim.Process.Pid)
		if len(children) != 1 {
			t.Fatalf("the victim runs %d k6 children, want 1", len(children))
		}
		if err := syscall.Kill(children[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		r := wait(t, cmd, out, errb, sum, 90*time.Second)
		logOnFailure(t, r)
		if r.code != 12 || r.summary == nil {
			t.Fatalf("exit code %d, want 12 (partial results)", r.code)
		}
		if e := r.summary.Outcome.Error; !strings.Contains(e, "1/2 of the script's load did not run") || !strings.Contains(e, "died") {
			t.Errorf("outcome %q: want the lost segment and the dead k6 process", e)
		}
	})
}

// TestFaultWorkerFrozen: a worker stopped with SIGSTOP (a paused VM, a stalled node) must not leave
// its k6 child sending load unsupervised: the child stops within k6run.LivenessTimeout (3 s) and a
// margin. When the frozen worker wakes mid-run, it rejoins, but its child was stopped hard, so the
// run is partial (exit 12) and says which worker and when.
func TestFaultWorkerFrozen(t *testing.T) {
	t.Parallel()
	t.Run("alone", func(t *testing.T) {
		t.Parallel()
		tg := startTarget(t)
		addr := freeAddr(t)
		cmd, out, errb, sum := master(t, "-f", "examples/quickstart.js", "--headless", "-u", "4", "-r", "4", "-t", "60s",
			"--expect-workers", "1", "--master-bind", addr, "-e", "TARGET="+tg.URL)
		w := startWorker(t, addr)
		eventually(t, 60*time.Second, "load at the target", func() bool { return tg.stats(t).Total > 30 })
		if err := w.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		frozen := time.Now()
		t.Cleanup(func() { _ = w.Process.Signal(syscall.SIGCONT) })
		stoppedAfter := loadStops(t, tg, frozen, 3*time.Second, 30*time.Second)
		t.Logf("the frozen worker's child stopped its load %s after SIGSTOP", stoppedAfter.Round(10*time.Millisecond))
		// 3 s without a beat, plus the iteration's sleep of up to 1 s it may be in.
		if stoppedAfter > 5*time.Second {
			t.Errorf("the target got requests %s after the worker froze, want none after 5 s", stoppedAfter)
		}
		r := wait(t, cmd, out, errb, sum, 60*time.Second)
		logOnFailure(t, r)
		if r.code == 0 {
			t.Errorf("exit 0 with the only worker frozen; want a failure")
		}
	})
	t.Run("wakes", func(t *testing.T) {
		t.Parallel()
		tg := startTarget(t)
		addr := freeAddr(t)
		cmd, out, errb, sum := master(t, "-f", "examples/quickstart.js", "--headless", "-u", "6", "-r", "6", "-t", "30s",
			"--expect-workers", "2", "--master-bind", addr, "-e", "TARGET="+tg.URL)
		startWorker(t, addr)
		w := startWorker(t, addr)
		eventually(t, 60*time.Second, "load at the target", func() bool { return tg.stats(t).Total > 30 })
		if err := w.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(8 * time.Second) // the fault's length, not a synchronisation
		if err := w.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		r := wait(t, cmd, out, errb, sum, 90*time.Second)
		logOnFailure(t, r)
		if r.code != 12 || r.summary == nil {
			t.Fatalf("exit code %d, want 12 (partial results)", r.code)
		}
		if e := r.summary.Outcome.Error; !strings.Contains(e, "cut off from") || !strings.Contains(e, "stopped hard") {
			t.Errorf("outcome %q: want the cut-off window and the hard stop", e)
		}
		if counted := tg.stats(t).Total; counted < r.summary.Totals.Requests {
			t.Errorf("target counted %d < master %d: something was counted twice", counted, r.summary.Totals.Requests)
		}
	})
}

// TestSetupTeardownTimeouts: setup() and teardown() may run as long as the script's setupTimeout and
// teardownTimeout say (35 s against 120 s here, past any fixed 30 s limit); a teardown() that throws
// or times out fails the run with its own exit code (13).
func TestSetupTeardownTimeouts(t *testing.T) {
	t.Parallel()
	script := func(t *testing.T, body string) string {
		p := filepath.Join(t.TempDir(), "phases.js")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("long", func(t *testing.T) {
		t.Parallel()
		tg := startTarget(t)
		p := script(t, `import http from 'k6/http';
import { sleep } from 'k6';
export const options = { setupTimeout: '120s', teardownTimeout: '120s', iterations: 4, vus: 2 };
export function setup() { sleep(35); return { base: __ENV.TARGET }; }
export default function (data) { http.get(data.base + '/'); }
export function teardown(data) { sleep(35); http.get(data.base + '/', { tags: { name: 'teardown' } }); }
`)
		r := runMaster(t, 5*time.Minute, "-f", p, "--headless", "--local-workers", "1", "-e", "TARGET="+tg.URL)
		logOnFailure(t, r)
		if r.code != 0 {
			t.Fatalf("exit code %d, want 0: setup() and teardown() of 35 s within their 120 s timeouts", r.code)
		}
		if st := tg.stats(t); st.ByPath["/"] != 5 || r.summary == nil || r.summary.Totals.Requests != 5 {
			t.Errorf("target saw %v, want 5 requests to / (4 iterations and teardown()'s), all in the summary", st.ByPath)
		}
	})
	for name, teardown := range map[string]string{
		"throws":   `throw new Error('teardown broke');`,
		"too long": `sleep(5);`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tg := startTarget(t)
			p := script(t, `import http from 'k6/http';
import { sleep } from 'k6';
export const options = { teardownTimeout: '2s', iterations: 2, vus: 1 };
export default function () { http.get(__ENV.TARGET + '/'); }
export function teardown() { `+teardown+` }
`)
			r := runMaster(t, 3*time.Minute, "-f", p, "--headless", "--local-workers", "1", "-e", "TARGET="+tg.URL)
			logOnFailure(t, r)
			if r.code != 13 || r.summary == nil || !strings.Contains(r.summary.Outcome.Error, "teardown() failed") {
				t.Fatalf("exit code %d, outcome %+v; want 13 and teardown() failed", r.code, r.summary)
			}
			if r.summary.Totals.Requests != 2 {
				t.Errorf("the run's requests: %d, want 2 (the report still comes out whole)", r.summary.Totals.Requests)
			}
		})
	}
}

// TestInitNeverEnds: init code that never ends fails validation within --init-timeout with a message
// naming the init code, and a signal during validation exits 130, not as a script error.
func TestInitNeverEnds(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "loop.js")
	if err := os.WriteFile(p, []byte("while (true) {}\nexport default function () {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		r := runMaster(t, 2*time.Minute, "-f", p, "--headless", "--local-workers", "1", "-u", "1", "-t", "2s", "--init-timeout", "3s")
		logOnFailure(t, r)
		t.Logf("refused after %s: %s", time.Since(start).Round(10*time.Millisecond), strings.TrimSpace(r.stderr))
		if r.code != 4 || !strings.Contains(r.stderr, "init code did not finish within 3s") {
			t.Errorf("exit %d, stderr %q; want 4 and the init code named", r.code, r.stderr)
		}
	})
	t.Run("signal", func(t *testing.T) {
		t.Parallel()
		cmd, out, errb, sum := master(t, "-f", p, "--headless", "--local-workers", "1", "-u", "1", "-t", "2s")
		eventually(t, 60*time.Second, "k6 loading the script", func() bool { return k6Loading(cmd.Process.Pid) })
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		r := wait(t, cmd, out, errb, sum, time.Minute)
		if r.code != 130 {
			t.Errorf("exit %d after SIGTERM during validation, want 130; stderr:\n%s", r.code, r.stderr)
		}
	})
	// A master killed while k6 loads the script takes that k6 with it: its loop would run forever.
	t.Run("SIGKILL", func(t *testing.T) {
		t.Parallel()
		cmd, out, errb, sum := master(t, "-f", p, "--headless", "--local-workers", "1", "-u", "1", "-t", "2s")
		var child int
		eventually(t, 60*time.Second, "k6 loading the script", func() bool { child = k6LoadingChild(cmd.Process.Pid); return child != 0 })
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		wait(t, cmd, out, errb, sum, time.Minute)
		eventually(t, 30*time.Second, "the k6 child to die with the master", func() bool { return !alive(child) || zombie(child) })
	})
}

// stopAPIRunErr stops the current run and returns it as it ended, whatever its error.
func stopAPIRunErr(t *testing.T, m *uiMaster) apiRun {
	t.Helper()
	if code := m.call(t, "POST", "/api/v1/runs/current/stop", "", nil); code != 202 {
		t.Fatalf("stop: %d", code)
	}
	var run apiRun
	eventually(t, 60*time.Second, "the run to stop", func() bool {
		m.call(t, "GET", "/api/v1/runs/current", "", &run)
		return run.State == "stopped"
	})
	return run
}

// k6Loading reports whether parent runs a `k6 archive` or `k6 inspect` child: k6 loading a script.
func k6Loading(parent int) bool { return k6LoadingChild(parent) != 0 }

// k6LoadingChild is the pid of parent's `k6 archive` or `k6 inspect` child, 0 if none.
func k6LoadingChild(parent int) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && (strings.Contains(string(cmdline), "k6\x00inspect\x00") || strings.Contains(string(cmdline), "k6\x00archive\x00")) && ppid(pid) == parent {
			return pid
		}
	}
	return 0
}

// TestStopWhilePreparing: a run stopped from the API while k6 still loads its script is recorded as
// stopped, not as a script error.
func TestStopWhilePreparing(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "slow-init.js")
	if err := os.WriteFile(p, []byte("const end = Date.now() + 20000;\nwhile (Date.now() < end) {}\nexport default function () {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := startUIMaster(t, "-f", p)
	startWorker(t, m.Addr)
	eventually(t, 30*time.Second, "a worker", func() bool { return len(m.workers(t)) == 1 })
	startAPIRun(t, m, `{"users": 1, "spawn_rate": 1}`)
	eventually(t, 60*time.Second, "k6 loading the script", func() bool { return k6Loading(m.cmd.Process.Pid) })
	run := stopAPIRunErr(t, m)
	if !strings.Contains(run.Error, "interrupted before the load started") || strings.Contains(run.Error, "script error") {
		t.Errorf("run error %q, want a stop before the load started", run.Error)
	}
}
