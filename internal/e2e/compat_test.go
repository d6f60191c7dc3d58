//go:build linux

package e2e

import (
	"maps"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The k6 compatibility suite: scripts written to cover what k6 users rely on, each run by plain k6
// (the master's embedded `k6 run`) and by Stampede on three workers, each against a target of its
// own that counts what it serves. The targets must have served the same requests, path by path;
// handleSummary()'s data must agree field by field (compareK6Data); the exit codes must be k6's.
func TestK6Compatibility(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		script string
		code   int // k6's exit code, which the fleet's must equal
		// exact and close name the metric values that must equal k6's, or be within 1% of them.
		exact, close map[string][]string
		// counts: the targets' per-path counts must be equal (false: the load depends on time).
		counts bool
	}{
		{
			script: "internal/e2e/testdata/compat/features.js",
			counts: true,
			exact: map[string][]string{
				"http_reqs": {"count"}, "http_reqs{flow:login}": {"count"}, "iterations": {"count"}, "logins": {"count"},
				"checks": {"passes", "fails", "rate"}, "checks{scenario:browse}": {"passes", "fails", "rate"},
				"accepted": {"passes", "fails", "rate"}, "weight": {"min", "max"}, "http_req_failed": {"passes", "fails"},
				"work": {"count", "min", "max", "avg"},
			},
			close: map[string][]string{"work": {"med", "p(90)", "p(95)"}},
		},
		{
			// abortOnFail: both stop early with 99; how much ran before depends on time.
			script: "internal/e2e/testdata/abort-on-fail.js",
			code:   99,
		},
	} {
		t.Run(filepath.Base(tc.script), func(t *testing.T) {
			t.Parallel()
			k6Target, fleetTarget := startTarget(t), startTarget(t)
			k6Dir, fleetDir := t.TempDir(), t.TempDir()
			k6 := exec.Command(filepath.Join(bin, "stampede-master"), "k6", "run", "-q",
				"-e", "TARGET="+k6Target.URL, "-e", "OUT="+k6Dir, tc.script)
			k6.Dir = root
			out, err := k6.CombinedOutput()
			if code := k6.ProcessState.ExitCode(); code != tc.code {
				t.Fatalf("plain k6 exited %d (%v), want %d:\n%s", code, err, tc.code, out)
			}
			r := runMaster(t, 2*time.Minute, "-f", tc.script, "--headless", "--local-workers", "3",
				"-e", "TARGET="+fleetTarget.URL, "-e", "OUT="+fleetDir)
			logOnFailure(t, r)
			if r.code != tc.code {
				t.Fatalf("the fleet exited %d, k6 %d", r.code, tc.code)
			}
			if tc.counts {
				if got, want := fleetTarget.stats(t).ByPath, k6Target.stats(t).ByPath; !maps.Equal(got, want) {
					t.Errorf("the fleet's target served %v, k6's %v", got, want)
				}
			}
			if tc.exact != nil {
				compareK6Data(t, readSummaryData(t, fleetDir), readSummaryData(t, k6Dir), tc.exact, tc.close)
			}
		})
	}
}
