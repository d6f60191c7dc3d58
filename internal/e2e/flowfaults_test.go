//go:build linux

package e2e

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The faults of faults_test.go, for a flow: the native engine runs inside the worker's process, so
// what a k6 child's end does for a script, the worker must do for a flow by itself.

// flowFile writes a flow whose users request / every 50 ms.
func flowFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "home.yaml")
	src := "kind: stampede/flow/v1\nbaseUrl: ${__ENV.TARGET}\nthink: { constant: 50ms }\nclasses:\n  home:\n    steps: [ { get: /, name: home } ]\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFlowWorkerSIGTERM: SIGTERM to a worker running a flow (a pod being deleted): its engine
// finishes the requests in flight, the worker sends its last deltas and exits 0, and the master's
// total is exactly the target's.
func TestFlowWorkerSIGTERM(t *testing.T) {
	t.Parallel()
	workerSIGTERM(t, flowFile(t))
}

// TestFlowMasterKilled: the master of a flow run dies (SIGKILL). Its only worker's native engine
// stops the load by itself within the worker's master timeout, and the worker stays up.
func TestFlowMasterKilled(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	addr := freeAddr(t)
	cmd, _, _, _ := master(t, "-f", flowFile(t), "--headless", "-u", "4", "-r", "4", "-t", "60s",
		"--expect-workers", "1", "--master-bind", addr, "-e", "TARGET="+tg.URL)
	w := startWorker(t, addr)
	killMasterMidRun(t, cmd, tg)
	if w.ProcessState != nil {
		t.Errorf("the worker exited (%v); want it up, waiting for a master", w.ProcessState)
	}
}

// TestFlowPartition: the network between the only worker of a flow run and the master goes silent
// (no reset, no close). The worker stops its native engine's load within its master timeout (6 s)
// and a graceful stop, with no master to tell it.
func TestFlowPartition(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	m := startUIMaster(t, "-f", flowFile(t), "-e", "TARGET="+tg.URL)
	px := startProxy(t, m.Addr)
	startWorker(t, px.Addr())
	eventually(t, 30*time.Second, "the worker", func() bool { return len(m.workers(t)) == 1 })
	startAPIRun(t, m, `{"users": 4, "spawn_rate": 4}`)
	eventually(t, 60*time.Second, "load at the target", func() bool { return tg.stats(t).Total > 30 })
	px.partition()
	parted := time.Now()
	stopped := loadStops(t, tg, parted, 2*time.Second, 30*time.Second)
	t.Logf("partition: the worker's load stopped %s into it", stopped.Round(10*time.Millisecond))
	// 6 s --master-timeout, then a graceful stop (users finish their request, at most 2 s).
	if stopped > 9*time.Second {
		t.Errorf("the cut-off worker's load stopped %s into the partition, want within its 6 s master timeout and the stop", stopped)
	}
	px.heal()
}

// TestFlowAllowHosts: a flow whose base URL names the target by a host name (localhost, which DNS
// answers with 127.0.0.1) runs on a worker whose --allow-hosts admits only 10.0.0.0/8. The native
// engine's dialler checks the DNS answer: no request reaches the target, every one fails with the
// worker's blocked-address error naming the address, and the run ends (exit 0: the flow has no
// threshold, and its totals are whole).
func TestFlowAllowHosts(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	u, err := url.Parse(tg.URL)
	if err != nil {
		t.Fatal(err)
	}
	byName := "http://localhost:" + u.Port()
	addr := freeAddr(t)
	cmd, out, errb, sum := master(t, "-f", flowFile(t), "--headless", "-u", "2", "-r", "2", "-t", "3s",
		"--expect-workers", "1", "--master-bind", addr, "-e", "TARGET="+byName)
	startWorkerWith(t, addr, "--allow-hosts", "10.0.0.0/8")
	r := wait(t, cmd, out, errb, sum, 90*time.Second)
	logOnFailure(t, r)
	if r.summary == nil {
		t.Fatalf("no summary; exit code %d", r.code)
	}
	if got := tg.stats(t).Total; got != 0 {
		t.Errorf("the target got %d requests from a worker that may not reach it", got)
	}
	s := r.summary.Totals
	if s.Requests == 0 || s.Failures != s.Requests {
		t.Errorf("master: %d requests, %d failed; want > 0, all failed", s.Requests, s.Failures)
	}
	var blocked uint64
	for _, e := range summaryErrors(t, sum) {
		if !strings.Contains(e.Error, "blocked by the worker's --allow-hosts") || !strings.Contains(e.Error, "127.0.0.1: blocked") {
			t.Errorf("error row %+v, want the worker's blocked-address error naming 127.0.0.1", e)
		}
		blocked += e.Count
	}
	if blocked != s.Requests {
		t.Errorf("%d blocked errors, want one per request (%d)", blocked, s.Requests)
	}
}
