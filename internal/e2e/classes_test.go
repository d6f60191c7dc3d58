package e2e

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSwarmOfUserClasses (issue 19): a script's two user classes, weights 3 and 1, in a swarm of 8
// users on 2 workers: each class's requests at the counting target are its weight's share of all,
// within one user's share, and the master counts what the target counted. A third class, tagged
// admin and the heaviest, is left out by --exclude-tags admin and makes no request.
func TestSwarmOfUserClasses(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	script := filepath.Join(t.TempDir(), "classes.js")
	src := `import http from 'k6/http';
import { sleep } from 'k6';

export const options = { ext: { stampede: { classes: {
  browse: { weight: 3 }, buy: { weight: 1 }, admin: { weight: 4, tags: ['admin'] },
} } } };

export function browse() { http.get(__ENV.TARGET + '/'); sleep(0.2); }
export function buy() { http.get(__ENV.TARGET + '/json'); sleep(0.2); }
export function admin() { http.get(__ENV.TARGET + '/status/201'); sleep(0.2); }
export default function () { throw new Error('a swarm of classes never runs the default function'); }
`
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd, out, errb, sum := master(t, "-f", script, "--headless", "-u", "8", "-t", "8s", "--exclude-tags", "admin",
		"--expect-workers", "2", "--master-bind", addr, "-e", "TARGET="+tg.URL)
	startWorker(t, addr)
	startWorker(t, addr)
	r := wait(t, cmd, out, errb, sum, 120*time.Second)
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil {
		t.Fatalf("exit code %d, summary %v", r.code, r.summary != nil)
	}
	st := tg.stats(t)
	browse, buy := st.ByPath["/"], st.ByPath["/json"]
	if browse == 0 || buy == 0 || st.Total != browse+buy {
		t.Fatalf("the target counted / %d, /json %d, /status/201 %d, %d in all: want both classes and no admin",
			browse, buy, st.ByPath["/status/201"], st.Total)
	}
	share := float64(browse) / float64(st.Total)
	if math.Abs(share-0.75) > 1.0/8 {
		t.Errorf("browse made %.3f of the requests (%d of %d); its weight is 3/4, within one user's share (1/8)", share, browse, st.Total)
	}
	if r.summary.Totals.Requests != st.Total {
		t.Errorf("the master counted %d, the target %d", r.summary.Totals.Requests, st.Total)
	}
	t.Logf("browse %d, buy %d: browse's share %.3f", browse, buy, share)
}

// TestShopExample: examples/shop.js, the Locust-style example, with --tags write: only its buyers
// run (login and checkout at the target, never the browsers' pages), every check passes and its
// thresholds hold. Plain k6 runs the same file without a warning: options.ext is k6's own.
func TestShopExample(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	r := runMaster(t, 120*time.Second, "-f", "examples/shop.js", "--headless", "--local-workers", "2", "-u", "4", "-t", "5s",
		"--tags", "write", "-e", "TARGET="+tg.URL)
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil {
		t.Fatalf("exit code %d, summary %v", r.code, r.summary != nil)
	}
	st := tg.stats(t)
	logins, checkouts := st.ByPath["/login"], st.ByPath["/slow"]
	if logins == 0 || logins != checkouts || st.Total != logins+checkouts {
		t.Fatalf("the target counted %v; want only buyers: as many logins as checkouts, and nothing else", st.ByPath)
	}
	for _, c := range r.summary.Checks {
		if c.Fails != 0 || c.Passes == 0 {
			t.Errorf("check %q: %d passes, %d fails", c.Name, c.Passes, c.Fails)
		}
	}

	k6 := exec.Command(filepath.Join(bin, "stampede-master"), "k6", "run", "--iterations", "2", "--no-summary",
		"--log-format", "json", "-e", "TARGET="+tg.URL, "examples/shop.js")
	k6.Dir = root
	out, err := k6.CombinedOutput()
	if err != nil || strings.Contains(string(out), `"level":"warning"`) || strings.Contains(string(out), `"level":"error"`) {
		t.Errorf("plain k6 run of examples/shop.js: %v\n%s", err, out)
	}
}
