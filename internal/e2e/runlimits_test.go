//go:build linux

package e2e

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunLimitsOnTheCommandLine: runs over a limit exit 2 with a message naming the limit.
func TestRunLimitsOnTheCommandLine(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"users", []string{"-u", "1000000000000"}, "users 1000000000000: over this master's limit of 1000000 users (--max-users)"},
		{"share per worker", []string{"-u", "3000", "--max-worker-vus", "1000"}, // the last flag wins
			"users (3000) over 2 worker(s) are 1500 VUs per worker, over the limit of 1000 per worker (--max-worker-vus): add workers"},
		// 100 KiB: over the master's limit, under the 128 KiB the kernel allows the master's own argument.
		{"env", []string{"-u", "2", "-e", "BIG=" + strings.Repeat("x", 100<<10)}, "env BIG: KEY=VALUE is 100.0 KiB, over the limit of 64.0 KiB"},
		// Script mode: the VUs k6 finds in the scenarios, checked once it has inspected them.
		{"script's VUs", []string{"-f", bigScript(t)}, "the script's VUs (150000) over 2 worker(s) are 75000 VUs per worker, over the limit of 50000 per worker"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"-f", "examples/quickstart.js", "--headless", "-t", "5s", "--local-workers", "2", "--max-worker-vus", "50000"}, c.args...)
			r := runMaster(t, 60*time.Second, args...)
			logOnFailure(t, r)
			if r.code != 2 || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("exit %d; want 2 and %q", r.code, c.want)
			}
		})
	}
}

// bigScript writes a script whose scenario needs 150,000 VUs.
func bigScript(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "big.js")
	src := "export const options = { scenarios: { big: { executor: 'constant-vus', vus: 150000, duration: '10s' } } };\n" +
		"export default function () {}\n"
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunLimitsInTheAPI: a start over a limit is a 400 that names it and starts nothing; a live
// change of users over a limit is a 400 and the run goes on as it was.
func TestRunLimitsInTheAPI(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	m := startUIMaster(t, "-f", "examples/quickstart.js", "-e", "TARGET="+tg.URL, "--local-workers", "1", "--max-worker-vus", "50")
	eventually(t, 30*time.Second, "the local worker to connect", func() bool { return len(m.workers(t)) == 1 })
	for _, c := range []struct {
		body, want string
	}{
		{`{"users": 1000000000000}`, "--max-users"},
		{`{"users": 51}`, "51 VUs per worker, over the limit of 50 per worker (--max-worker-vus): add workers"},
		{`{"users": 1, "env": {"BLOB": "` + strings.Repeat("x", 200<<10) + `"}}`, "env BLOB: KEY=VALUE is 200.0 KiB, over the limit of 64.0 KiB"},
	} {
		var e struct{ Error string }
		if code := m.call(t, "POST", "/api/v1/runs", c.body, &e); code != http.StatusBadRequest || !strings.Contains(e.Error, c.want) {
			t.Fatalf("start %.60s: %d %q; want 400 with %q", c.body, code, e.Error, c.want)
		}
	}
	if code := m.call(t, "GET", "/api/v1/runs/current", "", nil); code != http.StatusNotFound {
		t.Fatalf("a refused start started a run: %d", code)
	}

	if code := m.call(t, "POST", "/api/v1/runs", `{"users": 2, "spawn_rate": 100}`, nil); code != http.StatusCreated {
		t.Fatalf("start: %d", code)
	}
	eventually(t, 60*time.Second, "2 users running", func() bool { sum, _ := usersOf(m.workers(t)); return sum == 2 })
	var e struct{ Error string }
	if code := m.call(t, "PATCH", "/api/v1/runs/current", `{"users": 51}`, &e); code != http.StatusBadRequest || !strings.Contains(e.Error, "--max-worker-vus") {
		t.Fatalf("PATCH users 51: %d %q; want 400 naming --max-worker-vus", code, e.Error)
	}
	var run struct{ Users int64 }
	if m.call(t, "GET", "/api/v1/runs/current", "", &run); run.Users != 2 {
		t.Fatalf("the refused change changed the run: users %d", run.Users)
	}
	if code := m.call(t, "POST", "/api/v1/runs/current/stop", "", nil); code != http.StatusAccepted {
		t.Fatalf("stop: %d", code)
	}
}

// TestWorkerPortFlood: a master whose file limit is 1024 lowers its worker connection limit to 768,
// and a flood of 1,500 idle connections to its worker port (more than it has descriptors) neither
// takes its web port down nor keeps a real worker out: the master closes each idle connection after
// the 10 s handshake timeout.
func TestWorkerPortFlood(t *testing.T) {
	t.Parallel()
	m := startUIMasterVia(t, []string{"sh", "-c", `ulimit -n 1024 && exec "$@"`, "sh"}, nil, "-f", "examples/quickstart.js")
	if l := m.log(); !strings.Contains(l, "--max-worker-connections lowered") || !strings.Contains(l, "allowed=768") {
		t.Fatalf("the master did not say it lowered its connection limit to 768:\n%s", l)
	}

	const flood = 1500
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for len(conns) < flood {
		c, err := net.DialTimeout("tcp", m.Addr, 5*time.Second)
		if err != nil {
			t.Fatalf("flood connection %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}

	// A client with a timeout: a web port that cannot accept leaves the request hanging.
	web := &http.Client{Timeout: 5 * time.Second}
	for i := range 5 {
		resp, err := web.Get(m.URL + "/api/v1/workers")
		if err != nil {
			t.Fatalf("web request %d during the flood: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("web request %d during the flood: %d", i, resp.StatusCode)
		}
	}

	startWorker(t, m.Addr)
	eventually(t, 90*time.Second, "a real worker to join behind the flood", func() bool { return len(m.workers(t)) == 1 })

	deadline := time.Now().Add(60 * time.Second)
	for i, c := range conns {
		// The master may have sent its HTTP/2 settings before it gave up on the connection.
		_ = c.SetReadDeadline(deadline)
		if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("flood connection %d of %d still open after a minute", i, flood)
		}
	}
	if strings.Contains(m.log(), "too many open files") {
		t.Fatalf("the master ran out of file descriptors:\n%s", m.log())
	}
}
