package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/rpc"
	"github.com/stampede-load/stampede/internal/worker"
	"github.com/stampede-load/stampede/scenario"
)

// fixed reports the same snapshot every time.
type fixed struct{ s worker.Snapshot }

func (f fixed) Snapshot() worker.Snapshot { return f.s }

// noLoader is never asked: the tests start no run.
type noLoader struct{}

func (noLoader) Archive(context.Context, string, string, map[string]string) error {
	return errors.New("not used")
}

func (noLoader) Inspect(context.Context, string, string, map[string]string) (*scenario.Options, error) {
	return nil, errors.New("not in this test")
}

// eventually fails the test unless cond becomes true within d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		<-tick.C
	}
}

// get returns the status code and body of GET url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

func TestProbes(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name             string
		snap             worker.Snapshot
		health, ready    int
		healthIs, readIs string // part of the body
	}{
		{"connected, loop just turned", worker.Snapshot{Connected: true, LastLoop: now.Add(-time.Second)},
			200, 200, "ok", "ok"},
		{"disconnected, reconnecting", worker.Snapshot{LastLoop: now.Add(-5 * time.Second)},
			200, 503, "ok", "not connected"},
		{"connected, loop stalled", worker.Snapshot{Connected: true, LastLoop: now.Add(-time.Minute)},
			503, 503, "no progress for 1m0s", "no progress"},
		{"just inside the limit", worker.Snapshot{Connected: true, LastLoop: now.Add(-stalledAfter)},
			200, 200, "ok", "ok"},
		{"not started", worker.Snapshot{}, 503, 503, "not started", "not started"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := newHandler(fixed{tt.snap}, func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []struct {
				path, body string
				code       int
			}{{"/healthz", tt.healthIs, tt.health}, {"/readyz", tt.readIs, tt.ready}} {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p.path, nil))
				if body := rec.Body.String(); rec.Code != p.code || !strings.Contains(body, p.body) {
					t.Errorf("%s = %d %q, want %d with %q", p.path, rec.Code, body, p.code, p.body)
				}
			}
		})
	}
}

// TestEndpointsOverGRPC runs a real worker against a real master over loopback gRPC and reads its
// endpoints over HTTP: ready once connected, not ready (but live) once the master is gone, and the
// server gone once the worker's context ends.
func TestEndpointsOverGRPC(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	core, err := master.New(master.Options{Loader: noLoader{}, WorkDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := rpc.NewServer(core, log)
	go func() { _ = srv.Serve(grpcLis) }()
	t.Cleanup(srv.Stop)

	w, err := worker.New(worker.Options{Host: "test", Version: "v9", Exe: "/nonexistent/k6", Dir: t.TempDir(),
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHandler(w, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + httpLis.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serveEndpoints(ctx, httpLis, h) }()
	d := rpc.NewDialer(grpcLis.Addr().String(), log)
	defer d.Close()
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx, d) }()

	code := func(path string) func() int { return func() int { c, _ := get(t, base+path); return c } }
	eventually(t, 10*time.Second, "/readyz 200 once connected", func() bool { return code("/readyz")() == 200 })
	if c := code("/healthz")(); c != 200 {
		t.Errorf("connected: /healthz = %d, want 200", c)
	}
	if n := len(core.Workers()); n != 1 {
		t.Errorf("the master sees %d workers, want 1", n)
	}
	if err := testutil.ScrapeAndCompare(base+"/metrics", strings.NewReader(connectedMetrics),
		"stampede_worker_connected", "stampede_worker_state", "stampede_worker_runs_total"); err != nil {
		t.Errorf("connected: /metrics: %v", err)
	}

	srv.Stop() // the master goes away; the worker keeps trying to reconnect
	eventually(t, 10*time.Second, "/readyz 503 once the master is gone", func() bool { return code("/readyz")() == 503 })
	if c := code("/healthz")(); c != 200 {
		t.Errorf("disconnected: /healthz = %d, want 200: reconnecting is no reason to restart", c)
	}
	if err := testutil.ScrapeAndCompare(base+"/metrics", strings.NewReader(disconnectedMetrics),
		"stampede_worker_connected"); err != nil {
		t.Errorf("disconnected: /metrics: %v", err)
	}

	cancel()
	for name, ch := range map[string]chan error{"Run": ran, "serveEndpoints": served} {
		select {
		case err := <-ch:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not return after its context ended", name)
		}
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the endpoints still answer after the worker stopped")
	}
}

const connectedMetrics = `
# HELP stampede_worker_connected 1 while a session with a master is open, else 0.
# TYPE stampede_worker_connected gauge
stampede_worker_connected 1
# HELP stampede_worker_state 1 for the state of this worker's current run (idle without one), 0 for the others.
# TYPE stampede_worker_state gauge
stampede_worker_state{state="idle"} 1
stampede_worker_state{state="preparing"} 0
stampede_worker_state{state="ready"} 0
stampede_worker_state{state="running"} 0
stampede_worker_state{state="done"} 0
stampede_worker_state{state="finished"} 0
stampede_worker_state{state="failed"} 0
# HELP stampede_worker_runs_total Runs assigned to this worker since it started.
# TYPE stampede_worker_runs_total counter
stampede_worker_runs_total 0
`

const disconnectedMetrics = `
# HELP stampede_worker_connected 1 while a session with a master is open, else 0.
# TYPE stampede_worker_connected gauge
stampede_worker_connected 0
`
