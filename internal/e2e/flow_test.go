//go:build linux

package e2e

import (
	"encoding/pem"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestFlowSwarm (issue 17, the first end-to-end run of the native engine): a flow with two user
// classes, weights 3 and 1, in a headless swarm of 8 users on 2 workers. The master prepares it
// without k6, the workers run it in their native engine, and the master counts exactly what the
// counting target counted; each class's share of the requests is its weight's within one user's
// share, and every check passed.
func TestFlowSwarm(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	path := filepath.Join(t.TempDir(), "shop.yaml")
	src := `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
think: { constant: 200ms }
classes:
  browse:
    weight: 3
    steps: [ { get: /, name: home, check: { status: 200 } } ]
  buy:
    weight: 1
    steps: [ { get: /json, name: item, check: { status: 200, json: { $.count: 10 } } } ]
thresholds:
  http_req_failed: ["rate<0.01"]
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd, out, errb, sum := master(t, "-f", path, "--headless", "-u", "8", "-t", "6s",
		"--expect-workers", "2", "--master-bind", addr, "-e", "TARGET="+tg.URL)
	startWorker(t, addr)
	startWorker(t, addr)
	r := wait(t, cmd, out, errb, sum, 120*time.Second)
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil || r.summary.Mode != "swarm" {
		t.Fatalf("exit code %d, summary %v", r.code, r.summary != nil)
	}
	if r.summary.Engine != "native" || !strings.Contains(r.stdout, "(swarm mode, native engine) of ") {
		t.Errorf("the summary's engine is %q, and the text report begins %q; want native", r.summary.Engine, firstLine(r.stdout))
	}
	st := tg.stats(t)
	home, item := st.ByPath["/"], st.ByPath["/json"]
	if home == 0 || item == 0 || st.Total != home+item {
		t.Fatalf("the target counted %v; want both classes and nothing else", st.ByPath)
	}
	if r.summary.Totals.Requests != st.Total || r.summary.Totals.Failures != 0 {
		t.Errorf("the master counted %d requests (%d failed), the target %d", r.summary.Totals.Requests, r.summary.Totals.Failures, st.Total)
	}
	share := float64(home) / float64(st.Total)
	if math.Abs(share-0.75) > 1.0/8 {
		t.Errorf("browse made %.3f of the requests (%d of %d); its weight is 3/4, within one user's share (1/8)", share, home, st.Total)
	}
	var passes uint64
	for _, c := range r.summary.Checks {
		if c.Fails != 0 {
			t.Errorf("check %q failed %d times", c.Name, c.Fails)
		}
		passes += c.Passes
	}
	if passes == 0 {
		t.Error("no check ran")
	}
	t.Logf("home %d, item %d: browse's share %.3f; %d check passes", home, item, share, passes)
}

// TestFlowWorkerKilled: a worker running a flow is killed with SIGKILL mid-run. Its engine dies
// with it (one process), its users go to the other worker, and the run says its totals may be
// short (exit 12), as for a k6 worker; the target never counts less than the master.
func TestFlowWorkerKilled(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	path := filepath.Join(t.TempDir(), "home.yaml")
	src := "kind: stampede/flow/v1\nbaseUrl: ${__ENV.TARGET}\nthink: { constant: 50ms }\nclasses:\n  home:\n    steps: [ { get: / } ]\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd, out, errb, sum := master(t, "-f", path, "--headless", "-u", "10", "-t", "10s",
		"--expect-workers", "2", "--master-bind", addr, "-e", "TARGET="+tg.URL)
	startWorker(t, addr)
	victim := startWorker(t, addr)
	eventually(t, 60*time.Second, "load at the target", func() bool { return tg.stats(t).Total > 100 })
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := wait(t, cmd, out, errb, sum, 90*time.Second)
	logOnFailure(t, r)
	if r.code != 12 || r.summary == nil {
		t.Fatalf("exit code %d; want 12: a worker killed with its load running leaves the totals short", r.code)
	}
	lost := 0
	for _, w := range r.summary.Workers {
		if w.Lost {
			lost++
		}
	}
	if lost != 1 {
		t.Errorf("%d workers marked lost, want 1", lost)
	}
	if got := tg.stats(t).Total; got < r.summary.Totals.Requests {
		t.Errorf("target counted %d < master %d: something was counted twice", got, r.summary.Totals.Requests)
	}
}

// TestFlowExamples: the flow examples run against the demo target on two workers, each with exit
// 0, every check passing and every request counted by the master as by the target.
func TestFlowExamples(t *testing.T) {
	t.Parallel()
	for _, ex := range []string{"shop.yaml", "tour.yaml"} {
		t.Run(ex, func(t *testing.T) {
			t.Parallel()
			tg := startTarget(t)
			r := runMaster(t, 120*time.Second, "-f", "examples/flow/"+ex, "--headless", "--local-workers", "2", "-u", "4", "-t", "5s",
				"-e", "TARGET="+tg.URL, "-e", "ADMIN_PASSWORD=demo")
			logOnFailure(t, r)
			if r.code != 0 || r.summary == nil {
				t.Fatalf("exit code %d, summary %v", r.code, r.summary != nil)
			}
			for _, c := range r.summary.Checks {
				if c.Fails != 0 || c.Passes == 0 {
					t.Errorf("check %q: %d passes, %d fails", c.Name, c.Passes, c.Fails)
				}
			}
			if got := tg.stats(t).Total; got != r.summary.Totals.Requests || got == 0 {
				t.Errorf("the target counted %d, the master %d", got, r.summary.Totals.Requests)
			}
		})
	}
}

// TestFlowScriptMode: a flow's scenarios run in script mode, split over two workers by k6's
// execution segments. The shared iterations are exact, 1,001 between the two workers; the
// arrival-rate scenario started every one of its 200 iterations (made, or counted dropped); the
// master counts what the target counted, and the run ends by itself with exit 0.
func TestFlowScriptMode(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	path := filepath.Join(t.TempDir(), "script.yaml")
	src := `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
classes:
  home:
    steps: [ { get: /, name: home } ]
  item:
    steps: [ { get: /json, name: item } ]
  ramp:
    steps: [ { get: /slow, name: ramp, query: { ms: "1" } } ]
scenarios:
  shared: { executor: shared-iterations, class: home, vus: 10, iterations: 1001, maxDuration: 1m }
  rate: { executor: constant-arrival-rate, class: item, rate: 100, timeUnit: 1s, duration: 2s, preAllocatedVUs: 10, maxVUs: 20 }
  ramp:
    executor: ramping-arrival-rate
    class: ramp
    startRate: 10
    stages: [ { duration: 3s, target: 25 } ]
    preAllocatedVUs: 10
    maxVUs: 20
    tags: { type: ramp }
thresholds:
  "http_reqs{type:ramp}": ["count>0"]
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runMaster(t, 120*time.Second, "-f", path, "--headless", "--local-workers", "2", "-e", "TARGET="+tg.URL)
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil || r.summary.Mode != "script" {
		t.Fatalf("exit code %d, summary %v", r.code, r.summary != nil)
	}
	st := tg.stats(t)
	if home := st.ByPath["/"]; home != 1001 {
		t.Errorf("the target counted %d shared iterations, want exactly 1001", home)
	}
	var dropped uint64
	if m, ok := r.summary.Metrics["dropped_iterations"]; ok {
		dropped = m.Count
	}
	// Both arrival-rate scenarios drop into one dropped_iterations; none is expected on this
	// target, and the two together must account for every start: 200 at a constant 100/s for 2 s,
	// and 52 ramping from 10/s to 25/s over 3 s (the rate's integral, 52.5, rounded down).
	item, ramp := st.ByPath["/json"], st.ByPath["/slow"]
	if item+ramp+dropped != 200+52 || item == 0 || ramp == 0 {
		t.Errorf("the arrival-rate scenarios made %d and %d requests and dropped %d iterations; want 200 + 52 started", item, ramp, dropped)
	}
	var judged bool
	for _, th := range r.summary.Thresholds {
		if th.Metric == "http_reqs{type:ramp}" {
			judged = true
			if !th.OK || th.Observed != float64(ramp) {
				t.Errorf("threshold on the ramp scenario's tag: ok %v, observed %g; want ok with its %d requests", th.OK, th.Observed, ramp)
			}
		}
	}
	if !judged {
		t.Errorf("no threshold on http_reqs{type:ramp} in the summary: %+v", r.summary.Thresholds)
	}
	if r.summary.Totals.Requests != st.Total {
		t.Errorf("the master counted %d, the target %d", r.summary.Totals.Requests, st.Total)
	}
	t.Logf("home %d, item %d, ramp %d, dropped %d", st.ByPath["/"], item, ramp, dropped)
}

// firstLine is the first line of s that is not blank.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			return l
		}
	}
	return ""
}

// TestFlowTLSWithCA (issue 17): a flow over TLS to a server whose certificate only the flow's
// tls.ca vouches for. The master reads the CA beside the flow and ships it in the run's bundle,
// each worker's engine trusts it, and every request succeeds and is counted as the server
// counted it, with k6's TLS handshake timing. A flow naming a CA file that is not there is
// refused before any load, naming tls.ca.
func TestFlowTLSWithCA(t *testing.T) {
	t.Parallel()
	var served atomic.Uint64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		_, _ = io.WriteString(w, "secure")
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "certs", "ca.pem"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tls.yaml")
	src := `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
tls: { ca: certs/ca.pem }
think: { constant: 100ms }
classes:
  home:
    steps: [ { get: /, name: home, check: { status: 200, body: { contains: secure } } } ]
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runMaster(t, 120*time.Second, "-f", path, "--headless", "--local-workers", "2", "-u", "4", "-t", "3s", "-e", "TARGET="+srv.URL)
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil {
		t.Fatalf("exit code %d, summary %v", r.code, r.summary != nil)
	}
	if got := served.Load(); got == 0 || r.summary.Totals.Requests != got || r.summary.Totals.Failures != 0 {
		t.Errorf("the master counted %d requests (%d failed), the server %d", r.summary.Totals.Requests, r.summary.Totals.Failures, got)
	}
	for _, c := range r.summary.Checks {
		if c.Fails != 0 || c.Passes == 0 {
			t.Errorf("check %q: %d passes, %d fails", c.Name, c.Passes, c.Fails)
		}
	}
	// The JSON summary gives a trend's count, not its values: the text summary's line says max.
	if m := r.summary.Metrics["http_req_tls_handshaking"]; m.Count != r.summary.Totals.Requests {
		t.Errorf("http_req_tls_handshaking has %d samples, want one a request (%d)", m.Count, r.summary.Totals.Requests)
	}
	timed := false
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, "http_req_tls_handshaking") {
			timed = !strings.Contains(line, "max=0.00ms")
		}
	}
	if !timed {
		t.Errorf("the text summary has no http_req_tls_handshaking line with a handshake timed:\n%s", r.stdout)
	}

	missing := filepath.Join(dir, "missing.yaml")
	if err := os.WriteFile(missing, []byte(strings.Replace(src, "certs/ca.pem", "certs/none.pem", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	before := served.Load()
	r = runMaster(t, 60*time.Second, "-f", missing, "--headless", "--local-workers", "1", "-u", "1", "-t", "2s", "-e", "TARGET="+srv.URL)
	if r.code == 0 || !strings.Contains(r.stderr, "tls.ca: certs/none.pem") {
		t.Errorf("a missing CA: exit code %d, stderr %s", r.code, r.stderr)
	}
	if served.Load() != before {
		t.Error("a flow refused for its CA still sent requests")
	}
}
