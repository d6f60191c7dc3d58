//go:build linux

package e2e

import (
	"archive/tar"
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A script whose data file and module are found only by running its init code (a path from
// __ENV, a path built from a variable) runs on three workers as k6 runs it: the master bundles it
// with k6's own archive machinery, and every path the data file names is served once per round.
func TestComputedPathsTravel(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	r := runMaster(t, 90*time.Second, "-f", "internal/e2e/testdata/computed/main.js", "--headless", "--local-workers", "3",
		"-e", "TARGET="+tg.URL, "-e", "SET=b")
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil {
		t.Fatalf("exit code %d", r.code)
	}
	want := map[string]uint64{"/json": 3, "/status/201": 3, "/": 3}
	if got := tg.stats(t).ByPath; !maps.Equal(got, want) {
		t.Errorf("the target served %v, want %v (data/b.json, 3 rounds)", got, want)
	}
	if r.summary.Totals.Requests != 9 || len(r.summary.Workers) != 3 {
		t.Errorf("%d requests on %d workers, want 9 on 3", r.summary.Totals.Requests, len(r.summary.Workers))
	}
}

// A k6 archive is a script: made by `k6 archive` (here the master's embedded k6) with its options
// and environment, it runs with -f in both modes, its recorded environment applying.
func TestArchiveRuns(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	arc := filepath.Join(t.TempDir(), "computed.tar")
	mk := exec.Command(filepath.Join(bin, "stampede-master"), "k6", "archive", "-O", arc,
		"-e", "SET=b", "-e", "TARGET="+tg.URL, "internal/e2e/testdata/computed/main.js")
	mk.Dir = root
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("k6 archive: %v\n%s", err, out)
	}

	// Script mode: the archive's scenario, split over two workers; TARGET and SET from the archive.
	r := runMaster(t, 90*time.Second, "-f", arc, "--headless", "--local-workers", "2")
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil || r.summary.Mode != "script" || r.summary.Totals.Requests != 9 {
		t.Fatalf("script mode: exit code %d, summary %+v", r.code, r.summary)
	}
	// Swarm mode: the archive's default function, at the command line's users.
	r = runMaster(t, 90*time.Second, "-f", arc, "--headless", "--local-workers", "2", "-u", "4", "-r", "4", "-t", "3s")
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil || r.summary.Mode != "swarm" || r.summary.Totals.Requests == 0 {
		t.Fatalf("swarm mode: exit code %d, summary %+v", r.code, r.summary)
	}
	if got := tg.stats(t).Total; got != 9+r.summary.Totals.Requests {
		t.Errorf("the target served %d, the two runs counted %d", got, 9+r.summary.Totals.Requests)
	}

	// A tar that is not a k6 archive: a clear error before any load.
	served := tg.stats(t).Total
	junk := filepath.Join(t.TempDir(), "junk.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "notes.txt", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("hi"))
	_ = tw.Close()
	if err := os.WriteFile(junk, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runMaster(t, 60*time.Second, "-f", junk, "--headless", "--local-workers", "1")
	if r.code != 4 || !strings.Contains(r.stderr, "junk.tar: not a k6 archive") {
		t.Errorf("a tar that is no k6 archive: exit code %d, want 4:\n%s", r.code, r.stderr)
	}
	if tg.stats(t).Total != served {
		t.Error("a tar that is no k6 archive made load")
	}
}

// The bundle limits hold for what k6 found: a computed path to a file over --max-bundle-bytes is
// refused before any load, naming the limit and the file.
func TestBundleLimitsHoldForComputedPaths(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	dir := t.TempDir()
	big := strings.Repeat("x", 64<<10)
	for name, body := range map[string]string{
		"main.js": "const f = ['big', 'txt'].join('.');\nconst d = open('./' + f);\nexport default function () {}\n",
		"big.txt": big,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := runMaster(t, 60*time.Second, "-f", filepath.Join(dir, "main.js"), "--headless", "--local-workers", "1",
		"--max-bundle-bytes", "16384", "-e", "TARGET="+tg.URL)
	if r.code != 4 {
		t.Errorf("exit code %d, want 4 (script error)\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"more than the limit of 16.0 KiB", "big.txt (64.0 KiB)", "--max-bundle-bytes"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
		}
	}
	if tg.stats(t).Total != 0 {
		t.Error("load reached the target")
	}
}
