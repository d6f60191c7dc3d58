//go:build linux

package e2e

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Swarm mode over two worker processes: nothing lost, nothing doubled, and the users reach the asked
// number at the asked spawn rate.
func TestSwarmCountsAreExact(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	addr := freeAddr(t)
	cmd, out, errb, sum := master(t, "-f", "examples/quickstart.js", "--headless", "-u", "20", "-r", "10", "-t", "10s",
		"--expect-workers", "2", "--master-bind", addr, "-e", "TARGET="+tg.URL)
	startWorker(t, addr)
	startWorker(t, addr)
	r := wait(t, cmd, out, errb, sum, 90*time.Second)
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil {
		t.Fatalf("exit code %d, summary %v", r.code, r.summary != nil)
	}
	s := r.summary
	// The stop is graceful (every VU finishes its iteration), so every request the target saw, including
	// any in flight at the stop, must be counted exactly once.
	got := tg.stats(t).Total
	var perWorker uint64
	for _, w := range s.Workers {
		if w.Requests == 0 {
			t.Errorf("worker %d sent no requests", w.Index)
		}
		perWorker += w.Requests
	}
	if got == 0 || s.Totals.Requests != got || perWorker != got {
		t.Errorf("target counted %d, master total %d, sum of workers %d: want all equal and > 0", got, s.Totals.Requests, perWorker)
	}
	if len(s.Workers) != 2 {
		t.Errorf("%d workers in the run, want 2", len(s.Workers))
	}

	// Users: 20 at 10/s takes 2 s. The series records what the workers reported each second.
	var peak int64
	first20 := -1
	for i, p := range s.Series {
		peak = max(peak, p.Users)
		if p.Users >= 20 && first20 < 0 {
			first20 = i
		}
		if p.Users > 20 {
			t.Errorf("second %d: %d users, more than the 20 asked for", i, p.Users)
		}
	}
	if peak != 20 || first20 < 1 {
		t.Errorf("peak users %d (want 20), first reached at second %d (want a ramp, not a jump)", peak, first20)
	}
	if first20 > 5 {
		t.Errorf("20 users reached only at second %d; at 10 users/s it takes 2", first20)
	}
	if !strings.Contains(r.stdout, "Aggregated") || !strings.Contains(r.stdout, "Checks:") {
		t.Errorf("the text summary lacks the table or the checks:\n%s", r.stdout)
	}
}

// Script mode: the script's own constant-arrival-rate scenario, split by execution segments.
func TestScriptModeSplitsBySegments(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	r := runMaster(t, 90*time.Second, "-f", "examples/arrival-rate.js", "--headless", "--local-workers", "2",
		"-e", "TARGET="+tg.URL)
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil {
		t.Fatalf("exit code %d", r.code)
	}
	s := r.summary
	// 200/s for 10 s: k6 starts an iteration at t=0 too, so 2000 or 2001.
	if s.Totals.Requests < 1980 || s.Totals.Requests > 2020 {
		t.Errorf("total %d, want 2000 ± 1%%", s.Totals.Requests)
	}
	if got := tg.stats(t).Total; got != s.Totals.Requests {
		t.Errorf("target counted %d, master %d", got, s.Totals.Requests)
	}
	if len(s.Workers) != 2 {
		t.Fatalf("%d workers, want 2", len(s.Workers))
	}
	for _, w := range s.Workers {
		if w.Requests < 990 || w.Requests > 1010 {
			t.Errorf("worker %d did %d requests, want its half (1000 ± 1%%)", w.Index, w.Requests)
		}
	}
	if s.Mode != "script" {
		t.Errorf("mode %q, want script", s.Mode)
	}

	// Each iteration makes one request of /, so every request of the home row is sized: one
	// response on the wire, the page and the target's headers (status line, Content-Length,
	// Content-Type, Date: about 120 bytes; 200 is the most allowed).
	page, err := os.ReadFile(filepath.Join(root, "examples", "target", "targetsrv", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	least := len(page) + len(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(page)))
	if len(s.Requests) != 1 || s.Requests[0].Name != "home" || s.Requests[0].AvgSizeBytes == nil {
		t.Fatalf("request rows %+v, want home with a size", s.Requests)
	}
	size := *s.Requests[0].AvgSizeBytes
	t.Logf("home: %.1f bytes per request for a %d-byte page", size, len(page))
	if size < float64(least) || size > float64(len(page)+200) {
		t.Errorf("home: %.1f bytes per request, want the %d-byte page and its headers: %d to %d", size, len(page), least, len(page)+200)
	}
	// The same bytes over the same requests as k6's data_received over all requests.
	tot := -1.0 // none
	if s.Totals.AvgSizeBytes != nil {
		tot = *s.Totals.AvgSizeBytes
	}
	if math.Abs(tot-size) > size/100 {
		t.Errorf("totals: %.1f bytes per request (-1: none), want home's %.1f within 1%%", tot, size)
	}
}

// setup() and teardown() run once for the fleet; checks, groups and a custom counter add up exactly.
func TestLifecycleAcrossThreeWorkers(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	r := runMaster(t, 90*time.Second, "-f", "examples/lifecycle.js", "--headless", "--local-workers", "3",
		"-e", "TARGET="+tg.URL)
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil {
		t.Fatalf("exit code %d", r.code)
	}
	ts := tg.stats(t)
	if ts.ByPath["/login"] != 1 {
		t.Errorf("setup() ran %d times (POST /login at the target), want 1", ts.ByPath["/login"])
	}
	if ts.ByPath["/status/204"] != 1 {
		t.Errorf("teardown() ran %d times (GET /status/204 at the target), want 1", ts.ByPath["/status/204"])
	}
	s := r.summary
	if len(s.Workers) != 3 {
		t.Fatalf("%d workers, want 3", len(s.Workers))
	}
	const iterations = 300
	if m := s.Metrics["iterations"]; m.Sum == nil || *m.Sum != iterations {
		t.Errorf("iterations %v, want %d", m.Sum, iterations)
	}
	if m := s.Metrics["stampede_iterations_custom"]; m.Type != "counter" || m.Sum == nil || *m.Sum != iterations {
		t.Errorf("custom counter %+v, want a counter summing to %d", m, iterations)
	}
	if len(s.Checks) == 0 {
		t.Fatal("no checks in the summary")
	}
	for _, c := range s.Checks {
		if c.Passes != iterations || c.Fails != 0 {
			t.Errorf("check %q in group %q: %d passes, %d fails; want %d, 0", c.Name, c.Group, c.Passes, c.Fails, iterations)
		}
		if c.Group != "::api" {
			t.Errorf("check %q in group %q, want ::api", c.Name, c.Group)
		}
	}
	if ts.Total != s.Totals.Requests {
		t.Errorf("target counted %d requests, master %d", ts.Total, s.Totals.Requests)
	}
}

// Bad input: a clear message, its own exit code, and no load.
func TestBadInputFailsBeforeAnyLoad(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		args  []string
		code  int
		match string
	}{
		{"missing file", []string{"-f", "examples/bad/no-such-file.js"}, 3, `no-such-file\.js`},
		{"syntax error", []string{"-f", "examples/bad/syntax.js"}, 4, `syntax\.js:\d+`},
		{"unknown import", []string{"-f", "examples/bad/missing-import.js"}, 5, `does-not-exist\.js`},
		{"invalid options", []string{"-f", "examples/bad/invalid-options.js"}, 6, `no-such-executor`},
		{"workers do not connect", []string{"-f", "examples/quickstart.js", "--expect-workers", "1",
			"--expect-workers-timeout", "1s", "-u", "1", "-t", "5s"}, 7, `0 of 1 connected`},
		{"bad flag value", []string{"-f", "examples/quickstart.js", "-u", "-5"}, 2, `--users -5`},
		{"a user class the script does not export", []string{"-f", "examples/bad/unknown-class.js", "-u", "4", "-t", "5s"}, 4,
			`exports no function named checkout`},
		{"user classes without a default function", []string{"-f", "examples/bad/no-default.js", "-u", "2", "-t", "5s"}, 6,
			"a swarm of user classes never runs it, so `export default function \\(\\) \\{\\}` will do"},
		{"a bad load shape", []string{"-f", "examples/bad/bad-shape.js"}, 6, `shape\[1\]\.users "-3": want a whole number`},
		{"tags that leave no user class", []string{"-f", "examples/shop.js", "-u", "4", "-t", "5s", "--tags", "admin"}, 2,
			`no user class is left to run`},
		{"weights for a class the script lacks", []string{"-f", "examples/shop.js", "-u", "4", "-t", "5s", "--class-weights", "admin=1"}, 2,
			`class weights name "admin", and the script's classes are browser, buyer`},
		{"tags for a script without classes", []string{"-f", "examples/quickstart.js", "-u", "4", "-t", "5s", "--tags", "read"}, 2,
			`the script declares none`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg := startTarget(t)
			args := append([]string{"--headless", "-e", "TARGET=" + tg.URL}, tc.args...)
			if !contains(args, "--expect-workers") {
				args = append(args, "--local-workers", "1")
			}
			r := runMaster(t, 60*time.Second, args...)
			logOnFailure(t, r)
			if r.code != tc.code {
				t.Errorf("exit code %d, want %d", r.code, tc.code)
			}
			if !regexp.MustCompile(tc.match).MatchString(r.stderr) {
				t.Errorf("stderr does not match %q", tc.match)
			}
			if n := tg.stats(t).Total; n != 0 {
				t.Errorf("the target got %d requests; bad input must start no load", n)
			}
		})
	}
}

// A worker killed with SIGKILL mid-run: the master carries on, what the worker reported stays in the
// totals, and its k6 child dies with it.
func TestWorkerKilledMidRun(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	addr := freeAddr(t)
	cmd, out, errb, sum := master(t, "-f", "examples/quickstart.js", "--headless", "-u", "10", "-r", "10", "-t", "12s",
		"--expect-workers", "2", "--master-bind", addr, "-e", "TARGET="+tg.URL)
	startWorker(t, addr)
	victim := startWorker(t, addr)
	eventually(t, 60*time.Second, "load at the target", func() bool { return tg.stats(t).Total > 100 })
	children := k6Children(bin, victim.Process.Pid)
	if len(children) != 1 {
		t.Fatalf("the victim runs %d k6 children, want 1", len(children))
	}
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := wait(t, cmd, out, errb, sum, 90*time.Second)
	logOnFailure(t, r)
	// Its users went to the other worker, but its last unreported second is gone: partial, not 0.
	if r.code != 12 || r.summary == nil {
		t.Fatalf("exit code %d; want 12: a worker killed with its load running leaves the totals short", r.code)
	}
	if e := r.summary.Outcome.Error; !strings.Contains(e, "was lost at") || !strings.Contains(e, "since its last report") {
		t.Errorf("outcome %q: want the lost worker, when, and since when its requests may be missing", e)
	}
	s := r.summary
	var lost, sumWorkers uint64
	for _, w := range s.Workers {
		sumWorkers += w.Requests
		if w.Lost {
			lost++
			if w.Requests == 0 {
				t.Error("the killed worker's requests are gone from the totals")
			}
		}
	}
	if lost != 1 {
		t.Errorf("%d workers marked lost, want 1", lost)
	}
	if sumWorkers != s.Totals.Requests {
		t.Errorf("sum of workers %d != total %d", sumWorkers, s.Totals.Requests)
	}
	// The victim's last second was never sent, so the target may count a little more, never less.
	if got := tg.stats(t).Total; got < s.Totals.Requests {
		t.Errorf("target counted %d < master %d: something was counted twice", got, s.Totals.Requests)
	}
	// Pdeathsig kills the child with its worker. (It may linger as a zombie of init for a moment.)
	eventually(t, 10*time.Second, "the killed worker's k6 child to die", func() bool {
		return !alive(children[0]) || ppid(children[0]) != victim.Process.Pid && zombie(children[0])
	})
}

// test.abort() in the script ends the whole distributed run early with its own exit code.
func TestScriptAbortStopsTheRun(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	start := time.Now()
	r := runMaster(t, 90*time.Second, "-f", "internal/e2e/testdata/abort.js", "--headless", "--local-workers", "2",
		"-e", "TARGET="+tg.URL)
	logOnFailure(t, r)
	if r.code != 10 {
		t.Errorf("exit code %d, want 10 (aborted by the script)", r.code)
	}
	if !strings.Contains(r.stderr, "aborted the test") {
		t.Error("stderr does not say the script aborted the test")
	}
	if d := time.Since(start); d > 25*time.Second {
		t.Errorf("the run took %s; a 30 s scenario aborted at once must end early", d.Round(time.Second))
	}
	if r.summary == nil || r.summary.Totals.Requests == 0 {
		t.Error("the requests made before the abort are missing from the summary")
	}
}
