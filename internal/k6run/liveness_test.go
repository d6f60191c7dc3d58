package k6run

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
)

const steadyScript = `
import http from 'k6/http';
export const options = { vus: 2, duration: '2m' };
export default function () { http.get(__ENV.TARGET + '/'); }
`

// A real k6 child whose parent stops beating (Alive turns false, as when the worker freezes) stops
// its load by itself within LivenessTimeout and says why; its last stats are still collected.
func TestChildStopsWithoutLiveness(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real k6 child")
	}
	t.Parallel()
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer target.Close()
	exe, dir, entry := scriptDir(t, steadyScript)
	var alive atomic.Bool
	alive.Store(true)
	var (
		logMu sync.Mutex
		logs  []string
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	child, err := Start(ctx, RunOptions{Exe: exe, Dir: dir, Entry: entry, Env: map[string]string{"TARGET": target.URL},
		Alive: alive.Load,
		Logs: func(l protocol.LogLine) {
			logMu.Lock()
			logs = append(logs, l.Message)
			logMu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer child.Kill()
	total, read := mergeDeltas(child)
	if err := child.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := child.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	// Well past LivenessTimeout with beats: the load goes on.
	for hits.Load() < 50 {
		if ctx.Err() != nil {
			t.Fatal("no load at the target")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(LivenessTimeout + time.Second) // a span to observe, not a synchronisation
	if before := hits.Load(); before < 100 {
		t.Fatalf("only %d requests over %s with liveness beats: the load did not go on", before, LivenessTimeout+time.Second)
	}
	alive.Store(false)
	silenced := time.Now()
	last, lastChange := hits.Load(), time.Now()
	for time.Since(lastChange) < 1500*time.Millisecond {
		if time.Since(silenced) > 30*time.Second {
			t.Fatal("the child still sends requests 30 s after its parent stopped beating")
		}
		time.Sleep(20 * time.Millisecond)
		if n := hits.Load(); n != last {
			last, lastChange = n, time.Now()
		}
	}
	stopped := lastChange.Sub(silenced)
	t.Logf("load stopped %s after the last beat was withheld", stopped.Round(10*time.Millisecond))
	if stopped > LivenessTimeout+LivenessTimeout/6+time.Second {
		t.Errorf("load stopped %s after the beats stopped, want within %s and a beat", stopped, LivenessTimeout)
	}
	child.Terminate(10 * time.Second)
	<-read
	if got := total.Requests(); got == 0 || int64(got) > hits.Load() {
		t.Errorf("the child reported %d requests, the target counted %d", got, hits.Load())
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(strings.Join(logs, "\n"), "no liveness beat from the worker") {
		t.Errorf("the child did not say why it stopped; its log:\n%s", strings.Join(logs, "\n"))
	}
}
