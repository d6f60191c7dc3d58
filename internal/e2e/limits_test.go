//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// summaryErrors reads the error table of a JSON summary.
func summaryErrors(t *testing.T, path string) []struct {
	Name, Error string
	Count       uint64
} {
	t.Helper()
	var s struct {
		Errors []struct {
			Name, Error string
			Count       uint64
		} `json:"errors"`
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s.Errors
}

// TestAllowHosts runs the quickstart through a worker whose --allow-hosts admits the target, and
// through one whose list does not: there every request fails in k6 with its blocked-address error and
// none reaches the target, whatever the script does; the master shows the worker's list.
func TestAllowHosts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		allow   string
		blocked bool
	}{
		{name: "target allowed", allow: "127.0.0.1/32"},
		{name: "target not allowed", allow: "10.0.0.0/8", blocked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg := startTarget(t)
			addr := freeAddr(t)
			cmd, out, errb, sum := master(t, "-f", "examples/quickstart.js", "--headless", "-u", "2", "-r", "2", "-t", "4s",
				"--expect-workers", "1", "--master-bind", addr, "-e", "TARGET="+tg.URL)
			startWorkerWith(t, addr, "--allow-hosts", tt.allow)
			r := wait(t, cmd, out, errb, sum, 90*time.Second)
			logOnFailure(t, r)
			if r.summary == nil {
				t.Fatalf("no summary; exit code %d", r.code)
			}
			if !strings.Contains(r.stderr, "allow_hosts="+tt.allow) {
				t.Errorf("the master's log does not show the worker's allow-list %s", tt.allow)
			}
			got, s := tg.stats(t).Total, r.summary.Totals
			if !tt.blocked {
				if r.code != 0 || s.Requests == 0 || s.Requests != got || s.Failures != 0 {
					t.Errorf("exit %d, master %d requests (%d failed), target %d: want 0, equal, > 0, none failed",
						r.code, s.Requests, s.Failures, got)
				}
				return
			}
			if got != 0 {
				t.Errorf("the target got %d requests from a worker that may not reach it", got)
			}
			if s.Requests == 0 || s.Failures != s.Requests {
				t.Errorf("master: %d requests, %d failed; want > 0, all failed", s.Requests, s.Failures)
			}
			var blockedErrs uint64
			for _, e := range summaryErrors(t, sum) {
				if e.Error != "ip is blacklisted" {
					t.Errorf("error row %+v, want k6's \"ip is blacklisted\"", e)
				}
				blockedErrs += e.Count
			}
			if blockedErrs != s.Requests {
				t.Errorf("%d blocked errors, want one per request (%d)", blockedErrs, s.Requests)
			}
			if !strings.Contains(r.stderr, "IP (127.0.0.1) is in a blacklisted range") {
				t.Error("the master's output lacks k6's blocked-address message")
			}
		})
	}
}

// A script that logs far more than the worker's --log-rate: the master's output carries at most the
// limit per second and a marker line saying how many lines were dropped.
func TestLogRateLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "chatty.js")
	if err := os.WriteFile(script, []byte(`
import { sleep } from 'k6';
export default function () {
	for (let i = 0; i < 100; i++) console.log('chatty line ' + i);
	sleep(0.1);
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd, out, errb, sum := master(t, "-f", script, "--headless", "-u", "1", "-r", "1", "-t", "3s",
		"--expect-workers", "1", "--master-bind", addr)
	startWorkerWith(t, addr, "--log-rate", "10")
	r := wait(t, cmd, out, errb, sum, 90*time.Second)
	logOnFailure(t, r)
	if r.code != 0 {
		t.Fatalf("exit code %d", r.code)
	}
	output := r.stdout + r.stderr
	kept := strings.Count(output, "chatty line")
	// About 3 s of load (plus the start and stop): a few one-second windows of 10 lines each.
	if kept == 0 || kept > 60 {
		t.Errorf("%d script lines reached the master's output, want 1..60 at 10 lines/s", kept)
	}
	if !strings.Contains(output, "log lines dropped (limit 10/s)") {
		t.Error("no marker line for the dropped log lines in the master's output")
	}
}
