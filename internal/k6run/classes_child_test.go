package k6run

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
)

// classScript runs one exported function per user class under the externally-controlled executor,
// as a swarm does. Every iteration tells the target its VU, its class and the module's counts.
const classScript = `
import http from 'k6/http';
import exec from 'k6/execution';
import { sleep } from 'k6';
import stampede from 'k6/x/stampede';

export const options = {
	scenarios: { swarm: { executor: 'externally-controlled', vus: 0, maxVUs: 4, duration: '10m' } },
};

function report(cls) {
	const counts = encodeURIComponent(JSON.stringify(stampede.classCounts()));
	http.get(__ENV.TARGET + '/' + cls + '?vu=' + exec.vu.idInTest + '&counts=' + counts, { tags: { name: cls } });
	sleep(0.01);
}

export function browse() { report('browse'); }
export function buy() { report('buy'); }

const classes = { browse, buy };
export default function () { classes[stampede.userClass()](); }
`

// visit is one request the script made.
type visit struct {
	vu     int
	class  string
	counts map[string]int64 // the module's, right after the VU's pick
}

// visitLog records the script's requests.
type visitLog struct {
	mu     sync.Mutex
	visits []visit
}

func (l *visitLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	vu, err := strconv.Atoi(r.URL.Query().Get("vu"))
	var counts map[string]int64
	if err == nil {
		err = json.Unmarshal([]byte(r.URL.Query().Get("counts")), &counts)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	l.mu.Lock()
	l.visits = append(l.visits, visit{vu: vu, class: strings.TrimPrefix(r.URL.Path, "/"), counts: counts})
	l.mu.Unlock()
}

// steadyWindow is how many consecutive requests must agree before the state counts as steady: well
// over the four VUs, so that every active VU is in it.
const steadyWindow = 60

// steady returns the classes of the VUs in the last steadyWindow requests, if no VU moved inside
// it, and the most VUs the module counted in each class over it. The module counts the VUs inside
// an iteration, so a count dips while a VU is between two; the most is what the VUs hold.
func (l *visitLog) steady() (classOf map[int]string, counts map[string]int64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.visits) < steadyWindow {
		return nil, nil, false
	}
	win := l.visits[len(l.visits)-steadyWindow:]
	classOf, counts = map[int]string{}, map[string]int64{}
	for _, v := range win {
		for c, n := range v.counts {
			counts[c] = max(counts[c], n)
		}
		if c, seen := classOf[v.vu]; seen && c != v.class {
			return nil, nil, false // a VU moved inside the window
		}
		classOf[v.vu] = v.class
	}
	return classOf, counts, true
}

// waitSteady waits until the last requests agree on counts that satisfy want and on a class per
// VU whose tally equals those counts, and returns the VUs' classes and the counts.
func (l *visitLog) waitSteady(ctx context.Context, t *testing.T, child *Child, what string,
	want func(map[string]int64) bool) (map[int]string, map[string]int64) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		if classOf, counts, ok := l.steady(); ok {
			tally := map[string]int64{}
			for c := range counts {
				tally[c] = 0 // the module lists the classes without VUs too
			}
			for _, c := range classOf {
				tally[c]++
			}
			if want(counts) && maps.Equal(tally, counts) {
				return classOf, counts
			}
			last = fmt.Sprintf("module counts %v, VUs seen per class %v (VU classes %v)", counts, tally, classOf)
		}
		select {
		case <-ctx.Done():
			l.mu.Lock()
			n := len(l.visits)
			l.mu.Unlock()
			t.Fatalf("%s: no steady state after %d requests; last window: %s", what, n, last)
		case <-child.Exited():
			code, msg := child.ExitCode()
			t.Fatalf("%s: the child exited (%d: %s)", what, code, msg)
		case <-tick.C:
		}
	}
}

func equals(want map[string]int64) func(map[string]int64) bool {
	return func(got map[string]int64) bool { return maps.Equal(got, want) }
}

// moved counts the VUs of after that were in before under another class.
func moved(before, after map[int]string) int {
	n := 0
	for vu, c := range after {
		if b, ok := before[vu]; ok && b != c {
			n++
		}
	}
	return n
}

// A real k6 child shares its active VUs among user classes by the targets its parent sets, exactly
// at steady state, through start, a scale-down, a live change of targets and a scale-up; VUs that
// k6 deactivates give up their class (their activation context ends), and a live change moves only
// the VUs it must.
func TestChildUserClasses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real k6 child")
	}
	t.Parallel()
	visits := &visitLog{}
	target := httptest.NewServer(visits)
	defer target.Close()
	exe, dir, entry := scriptDir(t, classScript)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		logMu sync.Mutex
		logs  []string
	)
	child, err := Start(ctx, RunOptions{Exe: exe, Dir: dir, Entry: entry,
		Env:     map[string]string{"TARGET": target.URL},
		Classes: map[string]int64{"browse": 3, "buy": 1},
		Logs: func(l protocol.LogLine) {
			logMu.Lock()
			logs = append(logs, l.Level+": "+l.Message)
			logMu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer child.Kill()
	defer func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("child log:\n%s", strings.Join(logs, "\n"))
			logMu.Unlock()
		}
	}()
	_, read := mergeDeltas(child)
	if err := child.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := child.Resume(ctx); err != nil {
		t.Fatal(err)
	}

	// 1. The initial targets (from the environment), 4 VUs.
	if err := child.SetVUs(ctx, 4, 4); err != nil {
		t.Fatal(err)
	}
	four, _ := visits.waitSteady(ctx, t, child, "start, 4 VUs at browse 3, buy 1",
		equals(map[string]int64{"browse": 3, "buy": 1}))
	t.Logf("4 VUs: %v", four)

	// 2. Two VUs fewer, same targets: nobody is over target, so the counts can only fall to two if
	// the deactivated VUs released their seats, i.e. if k6 ended their activation contexts.
	if err := child.SetVUs(ctx, 2, 4); err != nil {
		t.Fatal(err)
	}
	two, counts := visits.waitSteady(ctx, t, child, "2 VUs at browse 3, buy 1", func(c map[string]int64) bool {
		return c["browse"]+c["buy"] == 2 && c["browse"] <= 3 && c["buy"] <= 1
	})
	t.Logf("2 VUs: %v, module counts %v", two, counts)
	if n := moved(four, two); n != 0 {
		t.Errorf("%d VUs changed class when others were deactivated, want 0 (before %v, after %v)", n, four, two)
	}

	// 3. A live change of targets to the VUs there are: exact, and at most one VU moves (both
	// remaining VUs may be browsing; then one must become a buyer).
	if err := child.SetClasses(map[string]int64{"browse": 1, "buy": 1}); err != nil {
		t.Fatal(err)
	}
	changed, _ := visits.waitSteady(ctx, t, child, "2 VUs at browse 1, buy 1",
		equals(map[string]int64{"browse": 1, "buy": 1}))
	t.Logf("after the change: %v", changed)
	wantMoves := 0
	if counts["buy"] == 0 {
		wantMoves = 1
	}
	if n := moved(two, changed); n != wantMoves {
		t.Errorf("%d VUs changed class, want %d (before %v, after %v)", n, wantMoves, two, changed)
	}

	// 4. Reactivated VUs (k6 keeps their ids, gives them new contexts) take seats again.
	if err := child.SetClasses(map[string]int64{"browse": 2, "buy": 2}); err != nil {
		t.Fatal(err)
	}
	if err := child.SetVUs(ctx, 4, 4); err != nil {
		t.Fatal(err)
	}
	again, _ := visits.waitSteady(ctx, t, child, "4 VUs again at browse 2, buy 2",
		equals(map[string]int64{"browse": 2, "buy": 2}))
	t.Logf("4 VUs again: %v", again)

	child.Terminate(10 * time.Second)
	<-read
}

// The master's `k6 archive` and `k6 inspect` resolve the module too: it is registered in every
// binary that links this package.
func TestModuleResolves(t *testing.T) {
	if testing.Short() {
		t.Skip("runs k6")
	}
	t.Parallel()
	exe, dir, entry := scriptDir(t, classScript)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := Inspect(ctx, InspectOptions{Exe: exe, Dir: dir, Entry: entry}); err != nil {
		t.Errorf("k6 inspect: %v", err)
	}
	if err := Archive(ctx, ArchiveOptions{Exe: exe, Dir: dir, Home: dir, Entry: entry,
		Out: filepath.Join(dir, "archive.tar")}); err != nil {
		t.Errorf("k6 archive: %v", err)
	}
}
