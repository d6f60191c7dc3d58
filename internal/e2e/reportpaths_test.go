//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReportPathsCheckedBeforeLoad: a report path that cannot be written stops the master with
// exit 2 naming the path before a single request; missing directories are created and written.
func TestReportPathsCheckedBeforeLoad(t *testing.T) {
	tg := startTarget(t)
	dir := t.TempDir()
	blocker := filepath.Join(dir, "a-file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run := []string{"-f", "examples/quickstart.js", "--local-workers", "1", "--headless",
		"-u", "2", "-r", "2", "-t", "2s", "-e", "TARGET=" + tg.URL}

	junit := filepath.Join(blocker, "reports", "junit.xml")
	r := runMaster(t, 2*time.Minute, append(run, "--junit", junit, "--html", dir)...)
	logOnFailure(t, r)
	if r.code != 2 {
		t.Errorf("exit code %d, want 2", r.code)
	}
	for _, want := range []string{"--junit " + junit + ": cannot write the JUnit report there: ", "not a directory",
		"--html " + dir + ": cannot write the HTML report there: it is a directory"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %q", want)
		}
	}
	if got := tg.stats(t).Total; got != 0 {
		t.Errorf("the target served %d requests; want none before the paths are good", got)
	}

	nested := filepath.Join(dir, "new", "deeper")
	md, csv := filepath.Join(nested, "summary.md"), filepath.Join(nested, "csv", "run")
	r = runMaster(t, 2*time.Minute, append(run, "--summary-md", md, "--csv", csv)...)
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil || r.summary.Totals.Requests != tg.stats(t).Total {
		t.Fatalf("exit code %d: want 0 and a summary whose totals are the target's %d", r.code, tg.stats(t).Total)
	}
	wantWritten(t, md, csv+"_stats.csv", csv+"_stats_history.csv", csv+"_failures.csv")
}

// TestReportWriteFailsAtEnd: reports that cannot be written when the run ends (a full disk, a
// directory removed during the run) are named with their reasons, exit 14, and lose nothing else:
// the text summary and every other report are written.
func TestReportWriteFailsAtEnd(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here to fill")
	}
	tg := startTarget(t)
	dir := t.TempDir()
	doomed := filepath.Join(dir, "removed-mid-run")
	junit, html, csv := filepath.Join(doomed, "junit.xml"), filepath.Join(dir, "report.html"), filepath.Join(dir, "run")
	cmd, stdout, stderr, sum := master(t, "-f", "examples/quickstart.js", "--local-workers", "1", "--headless",
		"-u", "2", "-r", "2", "-t", "3s", "-e", "TARGET="+tg.URL,
		"--summary-md", "/dev/full", "--junit", junit, "--html", html, "--csv", csv)
	eventually(t, 2*time.Minute, "the first request", func() bool { return tg.stats(t).Total > 0 })
	if _, err := os.Stat(doomed); err != nil {
		t.Fatalf("the master did not create %s before the load: %v", doomed, err)
	}
	if err := os.RemoveAll(doomed); err != nil {
		t.Fatal(err)
	}
	r := wait(t, cmd, stdout, stderr, sum, 2*time.Minute)
	logOnFailure(t, r)
	if r.code != 14 {
		t.Errorf("exit code %d, want 14", r.code)
	}
	for _, want := range []string{"a report could not be written",
		"writing the Markdown summary /dev/full: write /dev/full: no space left on device",
		"writing the JUnit report " + junit + ": open " + doomed + "/"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %q", want)
		}
	}
	if !strings.Contains(r.stdout, "Aggregated") {
		t.Errorf("no text summary on stdout:\n%s", r.stdout)
	}
	if r.summary == nil || r.summary.Totals.Requests != tg.stats(t).Total {
		t.Errorf("the JSON summary is missing or its totals are not the target's %d", tg.stats(t).Total)
	}
	wantWritten(t, html, csv+"_stats.csv", csv+"_stats_history.csv", csv+"_failures.csv")
}

// wantWritten fails the test for each file that is missing or empty.
func wantWritten(t *testing.T, files ...string) {
	t.Helper()
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v; want a report written there", f, err)
		}
	}
}

// TestDemoFromCleanCopy runs `make demo` as a new user would, in a copy of the tree with nothing
// made here (no tmp/, no bin/): the run's JSON summary lands in tmp/, which the master creates,
// and its total is what the demo target counted.
func TestDemoFromCleanCopy(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make here")
	}
	files, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	clean := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		fi, err := os.Lstat(filepath.Join(root, f))
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or a link
		}
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(clean, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(clean, f), data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(clean, "tmp")); err == nil {
		t.Fatal("the copy has a tmp/: it is not clean")
	}
	cmd := exec.Command("make", "--no-print-directory", "demo", "RUN_TIME=3s", "USERS=4", "SPAWN_RATE=4")
	cmd.Dir = clean
	out, err := cmd.CombinedOutput() // no deadline: the first build of a copy takes as long as it takes
	if err != nil {
		t.Fatalf("make demo in a clean copy: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(clean, "tmp", "demo-summary.json"))
	if err != nil {
		t.Fatalf("make demo wrote no tmp/demo-summary.json: %v\n%s", err, out)
	}
	var sum summary
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`counted at the target: {"total":%d,`, sum.Totals.Requests)
	if sum.Totals.Requests == 0 || !strings.Contains(string(out), want) {
		t.Errorf("the summary counts %d requests; want more than 0 and the output to say %q:\n%s", sum.Totals.Requests, want, out)
	}
}
