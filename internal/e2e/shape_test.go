//go:build linux

package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// vuClock is a target that records when it first and last heard from each VU, which a script names
// in its query (?vu=TOKEN).
type vuClock struct {
	mu          sync.Mutex
	first, last map[string]time.Time
}

func startVUClock(t *testing.T) (*vuClock, string) {
	c := &vuClock{first: map[string]time.Time{}, last: map[string]time.Time{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now, vu := time.Now(), r.URL.Query().Get("vu")
		c.mu.Lock()
		if _, seen := c.first[vu]; !seen {
			c.first[vu] = now
		}
		c.last[vu] = now
		c.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return c, srv.URL
}

// arrivals are the moments the VUs were first heard from, in order.
func (c *vuClock) arrivals() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Time
	for _, at := range c.first {
		out = append(out, at)
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// heardAfter returns the VUs heard from after t, and the last time any other VU was heard from.
func (c *vuClock) heardAfter(t time.Time) (n int, othersLast time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, at := range c.last {
		if at.After(t) {
			n++
		} else if at.After(othersLast) {
			othersLast = at
		}
	}
	return n, othersLast
}

// vuScript names each VU with a token its init code draws, so the target tells VUs apart across
// workers.
const vuScript = `import http from 'k6/http';
import { sleep } from 'k6';

const me = String(Math.random()).slice(2);

export const options = { ext: { stampede: { shape: SHAPE } } };

export default function () { http.get(__ENV.TARGET + '/?vu=' + me); sleep(0.05); }
`

func writeShapeScript(t *testing.T, shape string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shape.js")
	if err := os.WriteFile(path, []byte(strings.Replace(vuScript, "SHAPE", shape, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadShape (issue 19): a script's three-step shape drives a headless swarm on two workers
// with no -u: the target hears from each new user when the ramp says, within one spawn interval;
// each step holds its users; the step down takes the users away at once; and the run ends by
// itself when the shape ends, with exit 0.
func TestLoadShape(t *testing.T) {
	t.Parallel()
	clock, url := startVUClock(t)
	script := writeShapeScript(t, `[
  { duration: '4s', users: 4, spawnRate: 2 },
  { duration: '5s', users: 8, spawnRate: 2 },
  { duration: '4s', users: 2, spawnRate: 0 },
]`)
	addr := freeAddr(t)
	cmd, out, errb, sum := master(t, "-f", script, "--headless", "--expect-workers", "2", "--master-bind", addr, "-e", "TARGET="+url)
	startWorker(t, addr)
	startWorker(t, addr)
	r := wait(t, cmd, out, errb, sum, 180*time.Second)
	logOnFailure(t, r)
	if r.code != 0 || r.summary == nil || r.summary.Mode != "swarm" {
		t.Fatalf("exit code %d, summary %v: want 0, a swarm run that ended with its shape", r.code, r.summary != nil)
	}
	start := r.summary.Started
	if d := r.summary.Ended.Sub(start); d < 13*time.Second || d > 20*time.Second {
		t.Errorf("the load ran %s; the shape is 13 s long", d)
	}
	// Users 1..4 at 2/s from the start, 5..8 at 2/s from 4 s: user k at k/2 s, then 4 + (k-4)/2 s.
	const interval = 500 * time.Millisecond // one spawn interval at 2 users/s
	arrived := clock.arrivals()
	if len(arrived) != 8 {
		t.Fatalf("the target heard from %d VUs; the shape's most is 8", len(arrived))
	}
	for k, at := range arrived {
		n := k + 1
		want := time.Duration(n) * interval
		if n > 4 {
			want = 4*time.Second + time.Duration(n-4)*interval
		}
		got := at.Sub(start)
		t.Logf("user %d: first heard at %s, the ramp says %s", n, got.Round(time.Millisecond), want)
		if got < want-interval || got > want+interval {
			t.Errorf("user %d was first heard at %s; the ramp starts it at %s, within one spawn interval (%s)", n, got, want, interval)
		}
	}
	// At 9 s the shape asks for 2 users at once: six VUs stop, two go on to the end.
	const settle = interval // what "at once" may take: the master's tick, the message, k6 stopping the VUs
	going, othersLast := clock.heardAfter(start.Add(9*time.Second + settle))
	if going != 2 {
		t.Errorf("%d VUs were heard from after the step down to 2 users", going)
	}
	if late := othersLast.Sub(start); late > 9*time.Second+settle {
		t.Errorf("a VU the step down stopped was last heard at %s; the step is at 9 s", late)
	}
}

// TestShapeTakenOver (issue 19): a shape run started from the API, taken over mid-shape by a
// change of users from the API, as in Locust: the fleet goes to the asked users and stays there
// after the step at which the shape would have asked for more, the run view says the shape was
// taken over, and the run goes on until it is stopped.
func TestShapeTakenOver(t *testing.T) {
	t.Parallel()
	clock, url := startVUClock(t)
	script := writeShapeScript(t, `[ { duration: '4s', users: 2, spawnRate: 0 }, { duration: '1h', users: 9, spawnRate: 0 } ]`)
	m := startUIMaster(t, "-f", script, "--local-workers", "2", "-e", "TARGET="+url)
	eventually(t, 20*time.Second, "2 local workers", func() bool { return len(m.workers(t)) == 2 })
	var run struct {
		ID    string `json:"id"`
		Shape *struct {
			Stage     int  `json:"stage"`
			TakenOver bool `json:"taken_over"`
		} `json:"shape"`
	}
	if code := m.call(t, "POST", "/api/v1/runs", `{"mode": "shape"}`, &run); code != 201 {
		t.Fatalf("start a shape run: %d %+v", code, run)
	}
	eventually(t, 60*time.Second, "the first step's 2 users", func() bool {
		sum, _ := usersOf(m.workers(t))
		return sum == 2
	})
	if code := m.call(t, "PATCH", "/api/v1/runs/current", `{"users": 5}`, nil); code != 200 {
		t.Fatalf("change users: %d", code)
	}
	eventually(t, 30*time.Second, "the asked 5 users", func() bool {
		sum, _ := usersOf(m.workers(t))
		return sum == 5
	})
	m.call(t, "GET", "/api/v1/runs/current", "", &run)
	if run.Shape == nil || !run.Shape.TakenOver || run.Shape.Stage != 0 {
		t.Errorf("after the change the run's shape is %+v; want taken over in the first step", run.Shape)
	}
	// Past the first step's end the shape would ask for 9.
	var started time.Time
	if a := clock.arrivals(); len(a) > 0 {
		started = a[0]
	}
	time.Sleep(time.Until(started.Add(5 * time.Second)))
	if sum, each := usersOf(m.workers(t)); sum != 5 {
		t.Errorf("%d users (%v) after the first step's end; the shape was taken over at 5", sum, each)
	}
	stopAPIRun(t, m)
	if n := len(clock.arrivals()); n != 5 {
		t.Errorf("the target heard from %d VUs; the run had 2, then 5", n)
	}
}
