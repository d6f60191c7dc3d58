//go:build linux

package e2e

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type junitSuite struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Cases    []struct {
		Name    string `xml:"name,attr"`
		Failure *struct {
			Message string `xml:"message,attr"`
		} `xml:"failure"`
	} `xml:"testcase"`
}

// TestGate runs examples/gate.js against the demo target's /slow endpoint: thresholds judged on the
// merged data of two workers decide the exit code, and the JUnit report names what was observed.
func TestGate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		slowMs  string
		extra   []string
		code    int
		failing string // the JUnit testcase that must fail, "" for none
		observe string // text the failure message must hold
	}{
		{name: "fast target passes", slowMs: "20", code: 0},
		{name: "slow target fails p95", slowMs: "400", code: 99,
			failing: "http_req_duration: p(95)<300", observe: "p(95)<300 failed: observed"},
		{name: "a command-line threshold on a sub-metric fails", slowMs: "150", code: 99,
			extra:   []string{"--threshold", "http_req_duration{name:slow}: p(95)<100"},
			failing: "http_req_duration{name:slow}: p(95)<100", observe: "p(95)<100 failed: observed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg := startTarget(t)
			dir := t.TempDir()
			junit := filepath.Join(dir, "junit.xml")
			args := append([]string{"-f", "examples/gate.js", "--local-workers", "2", "--headless", "-u", "6", "-r", "20",
				"-t", "5s", "-e", "TARGET=" + tg.URL, "-e", "SLOW_MS=" + tt.slowMs, "--junit", junit}, tt.extra...)
			r := runMaster(t, 2*time.Minute, args...)
			logOnFailure(t, r)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d", r.code, tt.code)
			}
			data, err := os.ReadFile(junit)
			if err != nil {
				t.Fatal(err)
			}
			var s junitSuite
			if err := xml.Unmarshal(data, &s); err != nil {
				t.Fatalf("junit: %v\n%s", err, data)
			}
			for _, c := range s.Cases {
				isFailing := c.Name == tt.failing
				if (c.Failure != nil) != isFailing && !strings.HasPrefix(c.Name, "run") {
					t.Errorf("testcase %q: failure %v, want failed=%v", c.Name, c.Failure, isFailing)
				}
				if isFailing && c.Failure != nil && !strings.Contains(c.Failure.Message, tt.observe) {
					t.Errorf("failure message %q does not hold %q", c.Failure.Message, tt.observe)
				}
			}
			if r.summary == nil || len(r.summary.Thresholds) < 4 {
				t.Fatalf("summary thresholds: %+v", r.summary)
			}
			if !strings.Contains(r.stdout, "Thresholds") {
				t.Errorf("the text summary shows no thresholds:\n%s", r.stdout)
			}
		})
	}
}

// TestAbortOnFail: a failing abortOnFail threshold stops the whole distributed run early.
func TestAbortOnFail(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	start := time.Now()
	r := runMaster(t, 2*time.Minute, "-f", "internal/e2e/testdata/abort-on-fail.js", "--local-workers", "2",
		"--headless", "-u", "4", "-r", "20", "-t", "60s", "-e", "TARGET="+tg.URL)
	logOnFailure(t, r)
	took := time.Since(start)
	if r.code != 11 {
		t.Fatalf("exit %d, want 11 (a threshold aborted the run)", r.code)
	}
	if took > 30*time.Second {
		t.Fatalf("the run took %s; abortOnFail should have stopped it within seconds of 2s", took)
	}
	if !strings.Contains(r.stderr, "abortOnFail") || !strings.Contains(r.stderr, "http_req_failed") {
		t.Fatalf("stderr does not say which threshold aborted:\n%s", r.stderr)
	}
	var aborted bool
	for _, th := range r.summary.Thresholds {
		aborted = aborted || (th.Aborted && !th.OK)
	}
	if !aborted {
		t.Fatalf("no threshold marked aborted in the summary: %+v", r.summary.Thresholds)
	}
	for _, w := range r.summary.Workers {
		if w.Requests == 0 || w.Lost {
			t.Errorf("worker %d: %d requests, lost %v; both workers should have run and stopped", w.Index, w.Requests, w.Lost)
		}
	}
	// The target saw no request after the run ended: every worker's load stopped.
	n := tg.stats(t).Total
	time.Sleep(2 * time.Second)
	if after := tg.stats(t).Total; after != n {
		t.Fatalf("the target counted %d more requests after the master exited", after-n)
	}
}

// TestBaselineRegression: a run compared with an earlier, faster run's summary fails (99) when it got
// slower than the budget, and says which metric moved by how much.
func TestBaselineRegression(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	args := func(slowMs string) []string {
		return []string{"-f", "examples/gate.js", "--local-workers", "1", "--headless", "-u", "4", "-r", "20", "-t", "4s",
			"-e", "TARGET=" + tg.URL, "-e", "SLOW_MS=" + slowMs}
	}
	baseFile := filepath.Join(t.TempDir(), "baseline.json")
	base := runMaster(t, 2*time.Minute, append(args("20"), "--summary-json", baseFile)...)
	logOnFailure(t, base)
	if base.code != 0 {
		t.Fatalf("baseline run: exit %d", base.code)
	}

	// Budgets in ms, not %: on a loaded 2-core machine a 20 ms target's p95 moves by tens of percent
	// between two identical runs, never by 100 ms; the slower run adds 230 ms.
	same := runMaster(t, 2*time.Minute, append(args("20"), "--baseline", baseFile, "--max-regression", "p(95)=+100ms")...)
	logOnFailure(t, same)
	if same.code != 0 {
		t.Fatalf("a run like its baseline: exit %d, want 0", same.code)
	}
	slower := runMaster(t, 2*time.Minute, append(args("250"), "--baseline", baseFile, "--max-regression", "p(95)=+100ms,http_req_failed=+1%")...)
	logOnFailure(t, slower)
	if slower.code != 99 {
		t.Fatalf("a run 230 ms slower than its baseline: exit %d, want 99", slower.code)
	}
	if !strings.Contains(slower.stderr, "p(95) moved from") || !strings.Contains(slower.stderr, "budget +100ms") {
		t.Fatalf("stderr does not say what moved:\n%s", slower.stderr)
	}
}
