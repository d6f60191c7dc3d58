package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/internal/k6summary"
	"github.com/stampede-load/stampede/internal/master"
)

// handleSummary calls the script's handleSummary() once, on the fleet's merged results, in the
// master's embedded k6, and lets k6 write what it returns (stdout, stderr, files relative to the
// working directory), as `k6 run` does at the end of a test. It reports whether it did, so that
// the caller prints Stampede's text summary otherwise, as k6 prints its own. An error is one k6
// would log (handleSummary() threw, or a file could not be written): k6 then falls back to its
// text summary, and so does the caller; the exit code stays the run's.
func handleSummary(ctx context.Context, exe, workDir string, res *master.Result, env map[string]string, p cli.Process) (bool, error) {
	if res.Archive == nil || !res.Archive.Contains("handleSummary") {
		return false, nil
	}
	var opts struct {
		TrendStats []string `json:"summaryTrendStats"`
		TimeUnit   string   `json:"summaryTimeUnit"`
	}
	_ = json.Unmarshal(res.Archive.Options, &opts)
	data, err := k6summary.Data(res, k6summary.Options{TrendStats: opts.TrendStats, TimeUnit: opts.TimeUnit,
		NoColor: noColor(p), StdoutTTY: isTerminal(p.Stdout), StderrTTY: isTerminal(p.Stderr)})
	if err != nil {
		return false, err
	}
	dir, err := os.MkdirTemp(workDir, "summary-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	missing, failed := filepath.Join(dir, "missing"), filepath.Join(dir, "failed")
	input, err := json.Marshal(map[string]any{"data": data, "missing": missing, "failed": failed})
	if err != nil {
		return false, err
	}
	arc, err := res.Archive.SummaryArchive(input)
	if err != nil {
		return false, err
	}
	tarPath := filepath.Join(dir, "summary.tar")
	if err := os.WriteFile(tarPath, arc.Tar, 0o600); err != nil {
		return false, err
	}
	args := []string{"run", "--quiet", "--no-setup", "--no-teardown", "--no-thresholds",
		"--include-system-env-vars=false", "--no-color"}
	for k, v := range env {
		args = append(args, "--env", k+"="+v)
	}
	cmd := k6run.Command(ctx, exe, append(args, tarPath)...)
	cmd.Env = append(slices.Clone(p.Environ), "HOME="+dir)
	var k6err strings.Builder
	cmd.Stdout, cmd.Stderr = p.Stdout, io.MultiWriter(p.Stderr, &k6err)
	runErr := cmd.Run()
	if _, err := os.Stat(missing); err == nil {
		return false, nil
	}
	if msg, err := os.ReadFile(failed); err == nil {
		return false, fmt.Errorf("handleSummary() failed: %s", strings.TrimSpace(string(msg)))
	}
	if runErr != nil {
		var ee *exec.ExitError
		if errors.As(runErr, &ee) {
			return false, fmt.Errorf("handleSummary(): k6 exited %d: %s", ee.ExitCode(), strings.TrimSpace(k6err.String()))
		}
		return false, fmt.Errorf("handleSummary(): %w", runErr)
	}
	return true, nil
}

// noColor says whether the user asked for no colours (no-color.org: NO_COLOR set and not empty).
func noColor(p cli.Process) bool {
	v, _ := p.LookupEnv("NO_COLOR")
	return v != ""
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
