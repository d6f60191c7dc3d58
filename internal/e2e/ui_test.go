package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// browserLimit bounds the browser script (it bounds itself at 110 s; this catches a hung Chromium).
const browserLimit = 150 * time.Second

// TestUIInBrowser drives the web UI in headless Chromium against real processes: it starts a run
// from the form, waits for the charts and the statistics, scales to 30 users and checks the workers
// table and the API agree, stops, and downloads stats.csv through the page (web/test/ui.test.mjs).
// Screenshots go to test-artifacts/ui/. It needs node, web/node_modules and Chromium (`make web-deps`).
//
// Not parallel: Chromium, two workers and k6 are plenty for a 2-core machine, and the page's waits
// are for live numbers.
func TestUIInBrowser(t *testing.T) {
	node, chromium := browserDeps(t)

	tg := startTarget(t)
	m := startUIMaster(t, "-f", "examples/quickstart.js", "--local-workers", "2")
	eventually(t, 20*time.Second, "both local workers to connect", func() bool { return len(m.workers(t)) == 2 })

	artifacts := filepath.Join(root, "test-artifacts", "ui")
	if err := os.RemoveAll(artifacts); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("web", "test", "ui.test.mjs"), m.URL+"/", tg.URL, artifacts)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the browser test did not finish within %s:\n%s", browserLimit, out)
	}
	if err != nil {
		t.Fatalf("the browser test failed (%v); screenshots in %s:\n%s", err, artifacts, out)
	}
	t.Logf("browser test (screenshots in %s):\n%s", artifacts, out)
}

// browserDeps finds node and Chromium and checks web/node_modules. Missing ones fail the test, so
// a machine without them cannot pass by skipping; STAMPEDE_SKIP_BROWSER=1 skips on purpose.
func browserDeps(t *testing.T) (node, chromium string) {
	t.Helper()
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	var missing []error
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, errors.New("node is not on PATH"))
	}
	if _, err := os.Stat(filepath.Join(root, "web", "node_modules", "playwright-core")); err != nil {
		missing = append(missing, errors.New("web/node_modules/playwright-core is missing"))
	}
	if _, err := exec.LookPath(chromium); err != nil {
		missing = append(missing, errors.New("no Chromium at "+chromium+" (Debian: apt-get install chromium; or set CHROMIUM)"))
	}
	if len(missing) == 0 {
		return node, chromium
	}
	err = errors.Join(missing...)
	if os.Getenv("STAMPEDE_SKIP_BROWSER") == "1" {
		t.Skipf("STAMPEDE_SKIP_BROWSER=1: %v", err)
	}
	t.Fatalf("the browser test cannot run: %v\nrun `make web-deps` (or set STAMPEDE_SKIP_BROWSER=1 to skip it)", err)
	return "", ""
}
