//go:build linux

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

// The browser tests drive the web UI in headless Chromium (web/test/*.test.mjs, playwright-core)
// against real processes. They need node, web/node_modules and Chromium (`make web-deps`);
// screenshots go to test-artifacts/<test>/.
//
// They are not parallel: Chromium, the workers and k6 are plenty for a 2-core machine, and the
// pages' waits are for live numbers.

// browserLimit bounds a browser script (each bounds itself at 110 s; this catches a hung Chromium).
const browserLimit = 150 * time.Second

// TestUIInBrowser starts a run from the form, waits for the charts and the statistics, scales to 30
// users and checks that the workers table and the API agree, stops, and downloads stats.csv
// through the page.
func TestUIInBrowser(t *testing.T) {
	node, chromium := browserDeps(t)
	tg := startTarget(t)
	m := startUIMaster(t, "-f", "examples/quickstart.js", "--local-workers", "2")
	eventually(t, 20*time.Second, "both local workers to connect", func() bool { return len(m.workers(t)) == 2 })
	runBrowserScript(t, node, chromium, "ui.test.mjs", m.URL, tg.URL, "ui")
}

// manyNames requests 1,200 distinct names per iteration, more than the master's cap in
// TestUIManyNames.
const manyNames = `import http from 'k6/http';
import { sleep } from 'k6';

export default function () {
  for (let i = 0; i < 1200; i++) {
    http.get(__ENV.TARGET + '/', { tags: { name: 'item-' + i } });
  }
  sleep(1);
}
`

// TestUIManyNames runs a script with more request names than --max-names: the statistics table
// keeps only the rows in view in the DOM, scrolls, sorts and filters all of them, and says how many
// names were folded into the (other) row.
func TestUIManyNames(t *testing.T) {
	node, chromium := browserDeps(t)
	script := filepath.Join(t.TempDir(), "many-names.js")
	if err := os.WriteFile(script, []byte(manyNames), 0o644); err != nil {
		t.Fatal(err)
	}
	tg := startTarget(t)
	m := startUIMaster(t, "-f", script, "--local-workers", "1", "--max-names", "1000")
	eventually(t, 20*time.Second, "the local worker to connect", func() bool { return len(m.workers(t)) == 1 })
	runBrowserScript(t, node, chromium, "names.test.mjs", m.URL, tg.URL, "ui-names")
}

// swarmScript declares two user classes and a load shape (issue 19).
const swarmScript = `import http from 'k6/http';
import { sleep } from 'k6';

export const options = { ext: { stampede: {
  classes: { browse: { weight: 3, tags: ['read'] }, buy: { weight: 1, tags: ['write'] } },
  shape: [ { duration: '20s', users: 2, spawnRate: 10 }, { duration: '20s', users: 4, spawnRate: 10 },
           { duration: '20s', users: 1, spawnRate: 10 } ],
} } };

export function browse() { http.get(__ENV.TARGET + '/'); sleep(0.1); }
export function buy() { http.get(__ENV.TARGET + '/json'); sleep(0.1); }
// The master's check of the script (k6's default scenario) wants a default function; a swarm of
// classes never runs it.
export default function () { throw new Error('a swarm of classes never runs the default function'); }
`

// TestUIClassesAndShape starts a swarm of user classes from the form with weights and tags and
// checks each class's users on the page, then starts the script's load shape, sees the stage
// playing, and changes the users from the page, which takes over from the shape.
func TestUIClassesAndShape(t *testing.T) {
	node, chromium := browserDeps(t)
	script := filepath.Join(t.TempDir(), "swarm.js")
	if err := os.WriteFile(script, []byte(swarmScript), 0o644); err != nil {
		t.Fatal(err)
	}
	tg := startTarget(t)
	m := startUIMaster(t, "-f", script, "--local-workers", "1", "--tags", "read,write", "--class-weights", "browse=1,buy=3")
	eventually(t, 20*time.Second, "the local worker to connect", func() bool { return len(m.workers(t)) == 1 })
	runBrowserScript(t, node, chromium, "swarm.test.mjs", m.URL, tg.URL, "ui-swarm")
}

// TestUIFlow (issue 17): a flow in the browser — the header names the native engine, the flow's
// classes share the users, and the stats table adds up to what the target counted
// (web/test/flow.test.mjs).
func TestUIFlow(t *testing.T) {
	node, chromium := browserDeps(t)
	path := filepath.Join(t.TempDir(), "shop.yaml")
	src := `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
think: { constant: 100ms }
classes:
  browse:
    weight: 3
    steps: [ { get: /, name: home } ]
  buy:
    weight: 1
    steps: [ { get: /json, name: item } ]
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tg := startTarget(t)
	m := startUIMaster(t, "-f", path, "--local-workers", "1")
	eventually(t, 20*time.Second, "the local worker to connect", func() bool { return len(m.workers(t)) == 1 })
	runBrowserScript(t, node, chromium, "flow.test.mjs", m.URL, tg.URL, "ui-flow")
}

// runBrowserScript runs web/test/<script> against the UI at uiURL and fails with its output.
func runBrowserScript(t *testing.T, node, chromium, script, uiURL, targetURL, artifactsName string, env ...string) {
	t.Helper()
	artifacts := filepath.Join(root, "test-artifacts", artifactsName)
	if err := os.RemoveAll(artifacts); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("web", "test", script), uiURL+"/", targetURL, artifacts)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "CHROMIUM="+chromium), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %s:\n%s", script, browserLimit, out)
	}
	if err != nil {
		t.Fatalf("%s failed (%v); screenshots in %s:\n%s", script, err, artifacts, out)
	}
	t.Logf("%s (screenshots in %s):\n%s", script, artifacts, out)
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
	t.Fatalf("the browser tests cannot run: %v\nrun `make web-deps` (or set STAMPEDE_SKIP_BROWSER=1 to skip them)", err)
	return "", ""
}
