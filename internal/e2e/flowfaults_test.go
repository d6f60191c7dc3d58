//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"syscall"
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
