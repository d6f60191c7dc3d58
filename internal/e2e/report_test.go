//go:build linux

package e2e

import (
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReportsFromARealRun runs a short headless load with --html, --junit and --summary-md and
// checks the files: the JUnit XML parses and has the run's test case only if the run failed, the
// Markdown says the run passed, and the HTML report, opened from disk in Chromium
// (web/test/html-report.test.mjs), draws its charts offline and logs no errors. Screenshots go to
// test-artifacts/report/.
func TestReportsFromARealRun(t *testing.T) {
	node, chromium := browserDeps(t)
	tg := startTarget(t)
	dir := t.TempDir()
	html, junit, md := filepath.Join(dir, "report.html"), filepath.Join(dir, "junit.xml"), filepath.Join(dir, "summary.md")
	r := runMaster(t, 90*time.Second, "-f", "examples/quickstart.js", "--local-workers", "1", "--headless",
		"-u", "5", "-r", "5", "-t", "5s", "-e", "TARGET="+tg.URL, "--html", html, "--junit", junit, "--summary-md", md)
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil || r.summary.Totals.Requests == 0 {
		t.Fatalf("exit code %d, summary %v: want a run with requests that exits 0", r.code, r.summary != nil)
	}

	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		Name     string `xml:"name,attr"`
		Failures int    `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(data, &suite); err != nil || suite.Name != "stampede" || suite.Failures != 0 {
		t.Errorf("junit.xml: %v, suite %q with %d failures; want stampede with 0:\n%s", err, suite.Name, suite.Failures, data)
	}
	data, err = os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "## ✅ Stampede run ") || !strings.Contains(string(data), "| **Aggregated** |") {
		t.Errorf("summary.md does not report a passed run with a request table:\n%s", data)
	}

	artifacts := filepath.Join(root, "test-artifacts", "report")
	if err := os.RemoveAll(artifacts); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("web", "test", "html-report.test.mjs"), html, artifacts)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("html-report.test.mjs did not finish within %s:\n%s", browserLimit, out)
	}
	if err != nil {
		t.Fatalf("html-report.test.mjs failed (%v); screenshots in %s:\n%s", err, artifacts, out)
	}
	// Keep the report next to its screenshots, for a look at what was tested.
	if data, err := os.ReadFile(html); err == nil {
		_ = os.WriteFile(filepath.Join(artifacts, "report.html"), data, 0o644)
	}
	t.Logf("html-report.test.mjs (screenshots in %s):\n%s", artifacts, out)
}
