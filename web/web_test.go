package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/stampede-load/stampede/internal/api"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// fakeCore is a master with one connected worker and, once started, one run.
type fakeCore struct {
	mu      sync.Mutex
	snap    master.Snapshot
	starts  []master.RunConfig
	updates int
	stops   int
	resets  int
}

func newFakeCore() *fakeCore {
	return &fakeCore{snap: master.Snapshot{Workers: []master.WorkerInfo{{Index: 0, ID: "w0", Connected: true, State: "idle"}}}}
}

func (f *fakeCore) Snapshot() *master.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.snap
	s.Time = time.Now()
	return &s
}

func (f *fakeCore) Start(_ context.Context, cfg master.RunConfig, _ func(*master.Result, error)) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.snap.Run != nil && f.snap.Run.State != master.Stopped {
		return "", master.ErrRunInProgress
	}
	f.starts = append(f.starts, cfg)
	f.snap.Run = &master.RunInfo{ID: "run1", State: master.Running, Mode: scenario.Swarm, Script: cfg.Script,
		Users: cfg.Users, SpawnRate: cfg.SpawnRate, Started: time.Now()}
	f.snap.Stats = &stats.Aggregate{}
	return "run1", nil
}

func (f *fakeCore) Update(users *int64, rate *float64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.snap.Run == nil || f.snap.Run.State != master.Running {
		return master.ErrNoRun
	}
	if users != nil && *users < 0 {
		return master.ErrBadSettings
	}
	f.updates++
	return nil
}

func (f *fakeCore) Stop(string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.snap.Run == nil {
		return master.ErrNoRun
	}
	f.stops++
	return nil
}

func (f *fakeCore) ResetStats() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resets++
	return nil
}

func (f *fakeCore) calls() (int, int, int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.starts), f.updates, f.stops, f.resets
}

func newTestServer(t *testing.T, core Core) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(Options{Core: core, Template: master.RunConfig{Script: "test.js"}, MaxBody: 1024,
		Assets: fstest.MapFS{"index.html": {Data: []byte("<h1>Stampede</h1>")}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

func do(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object (%v): %s", method, url, err, raw)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, url, ct)
	}
	return resp.StatusCode, out
}

func TestStartRunAndControl(t *testing.T) {
	t.Parallel()
	core := newFakeCore()
	_, ts := newTestServer(t, core)
	code, body := do(t, "POST", ts.URL+"/api/v1/runs", `{"users": 10, "spawn_rate": 2.5, "run_time": "30s", "env": {"HOST": "http://127.0.0.1:1"}}`)
	if code != http.StatusCreated || body["id"] != "run1" || body["state"] != "running" {
		t.Fatalf("start: %d %v", code, body)
	}
	core.mu.Lock()
	got := core.starts[0]
	core.mu.Unlock()
	if got.Script != "test.js" || got.Users != 10 || got.SpawnRate != 2.5 || got.RunTime != 30*time.Second || got.Env["HOST"] != "http://127.0.0.1:1" {
		t.Fatalf("run config %+v", got)
	}
	if code, body := do(t, "PATCH", ts.URL+"/api/v1/runs/current", `{"users": 30}`); code != http.StatusOK {
		t.Fatalf("update: %d %v", code, body)
	}
	if code, body := do(t, "POST", ts.URL+"/api/v1/stats/reset", ``); code != http.StatusOK {
		t.Fatalf("reset: %d %v", code, body)
	}
	if code, body := do(t, "POST", ts.URL+"/api/v1/runs/current/stop", ``); code != http.StatusAccepted {
		t.Fatalf("stop: %d %v", code, body)
	}
	if n, u, s, r := core.calls(); n != 1 || u != 1 || s != 1 || r != 1 {
		t.Fatalf("calls: start %d update %d stop %d reset %d, want 1 each", n, u, s, r)
	}
}

// TestBadInput: every malformed request gets a 4xx JSON error naming the problem, and changes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path, body string
		running                  bool
		code                     int
		mentions                 string
	}{
		{"users as a string", "POST", "/api/v1/runs", `{"users": "ten"}`, false, 400, `"users"`},
		{"negative users", "POST", "/api/v1/runs", `{"users": -3}`, false, 400, "users"},
		{"no users", "POST", "/api/v1/runs", `{}`, false, 400, "users"},
		{"negative spawn rate", "POST", "/api/v1/runs", `{"users": 1, "spawn_rate": -1}`, false, 400, "spawn_rate"},
		{"bad run time", "POST", "/api/v1/runs", `{"users": 1, "run_time": "soon"}`, false, 400, "run_time"},
		{"run time as a number", "POST", "/api/v1/runs", `{"users": 1, "run_time": 30}`, false, 400, "run_time"},
		{"unknown field", "POST", "/api/v1/runs", `{"users": 1, "vus": 5}`, false, 400, `"vus"`},
		{"unknown mode", "POST", "/api/v1/runs", `{"mode": "turbo", "users": 1}`, false, 400, `mode "turbo": want "swarm", "shape" or "script"`},
		{"users with a shape", "POST", "/api/v1/runs", `{"mode": "shape", "users": 5}`, false, 400, "load shape gives the users"},
		{"zero users with a shape", "POST", "/api/v1/runs", `{"mode": "shape", "users": 0}`, false, 400, "leave users out"},
		{"negative class weight", "POST", "/api/v1/runs", `{"users": 4, "class_weights": {"buy": -1}}`, false, 400, `class_weights buy=-1: a weight is a whole number from 0 to 1000000`},
		{"empty class name", "POST", "/api/v1/runs", `{"users": 4, "class_weights": {"": 2}}`, false, 400, "class_weights =2: a class name is empty"},
		{"fractional class weight", "POST", "/api/v1/runs", `{"users": 4, "class_weights": {"buy": 1.5}}`, false, 400, `"class_weights": want int64`},
		{"class weights as a list", "POST", "/api/v1/runs", `{"users": 4, "class_weights": ["buy"]}`, false, 400, `"class_weights"`},
		{"empty tag", "POST", "/api/v1/runs", `{"users": 4, "tags": ["read", ""]}`, false, 400, `tags ["read" ""]: tag 2 is empty`},
		{"empty excluded tag", "POST", "/api/v1/runs", `{"users": 4, "exclude_tags": [""]}`, false, 400, `exclude_tags [""]: tag 1 is empty`},
		{"tags as a string", "POST", "/api/v1/runs", `{"users": 4, "tags": "read"}`, false, 400, `"tags"`},
		{"negative workers", "POST", "/api/v1/runs", `{"users": 1, "workers": -2}`, false, 400, "workers -2"},
		{"workers as a string", "POST", "/api/v1/runs", `{"users": 1, "workers": "3"}`, false, 400, `"workers"`},
		{"empty env key", "POST", "/api/v1/runs", `{"users": 1, "env": {"": "x"}}`, false, 400, "env"},
		{"not JSON", "POST", "/api/v1/runs", `users=10`, false, 400, "invalid JSON"},
		{"empty body", "POST", "/api/v1/runs", ``, false, 400, "empty"},
		{"two values", "POST", "/api/v1/runs", `{"users": 1} {"users": 2}`, false, 400, "more than one"},
		{"body over the limit", "POST", "/api/v1/runs", `{"users": 1, "env": {"K": "` + strings.Repeat("x", 2048) + `"}}`, false, 413, "over 1024 bytes"},
		{"start while running", "POST", "/api/v1/runs", `{"users": 1}`, true, 409, "in progress"},
		{"update without a run", "PATCH", "/api/v1/runs/current", `{"users": 5}`, false, 409, "no run"},
		{"update with nothing", "PATCH", "/api/v1/runs/current", `{}`, true, 400, "nothing to change"},
		{"update with negative users", "PATCH", "/api/v1/runs/current", `{"users": -5}`, true, 400, ""},
		{"update with a wrong type", "PATCH", "/api/v1/runs/current", `{"spawn_rate": "fast"}`, true, 400, "spawn_rate"},
		{"stop without a run", "POST", "/api/v1/runs/current/stop", ``, false, 409, "no run"},
		{"unknown endpoint", "GET", "/api/v1/nope", ``, false, 404, "no such API endpoint"},
		{"unknown report", "GET", "/api/v1/reports/secrets.txt", ``, true, 404, "stats.csv"},
		{"wrong method", "DELETE", "/api/v1/runs/current", ``, true, 404, "no such API endpoint: DELETE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			core := newFakeCore()
			_, ts := newTestServer(t, core)
			if tt.running {
				if _, err := core.Start(context.Background(), master.RunConfig{Users: 1}, nil); err != nil {
					t.Fatal(err)
				}
			}
			before := runOf(core)
			s0, u0, p0, r0 := core.calls()
			req, _ := http.NewRequest(tt.method, ts.URL+tt.path, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.code, raw)
			}
			{
				var e struct{ Error string }
				if err := json.Unmarshal(raw, &e); err != nil || e.Error == "" {
					t.Fatalf("not a JSON error: %s", raw)
				}
				if !strings.Contains(e.Error, tt.mentions) {
					t.Fatalf("error %q does not mention %q", e.Error, tt.mentions)
				}
			}
			s1, u1, p1, r1 := core.calls()
			if s1 != s0 || u1 != u0 || p1 != p0 || r1 != r0 {
				t.Fatalf("state changed: calls %d/%d/%d/%d -> %d/%d/%d/%d", s0, u0, p0, r0, s1, u1, p1, r1)
			}
			if after := runOf(core); after != before {
				t.Fatalf("run changed: %+v -> %+v", before, after)
			}
		})
	}
}

// TestStartClassesAndShape: tags, class weights and the shape mode reach the master's run configuration.
func TestStartClassesAndShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       master.RunConfig
	}{
		{"classes", `{"users": 8, "spawn_rate": 4, "tags": ["read", "write"], "exclude_tags": ["slow"], "class_weights": {"browse": 3, "buy": 0}}`,
			master.RunConfig{Script: "test.js", Users: 8, SpawnRate: 4, Tags: []string{"read", "write"}, ExcludeTags: []string{"slow"},
				ClassWeights: map[string]int64{"browse": 3, "buy": 0}}},
		{"shape", `{"mode": "shape", "tags": ["read"]}`,
			master.RunConfig{Script: "test.js", Shaped: true, Tags: []string{"read"}}},
		{"shape with a run time", `{"mode": "shape", "run_time": "1m"}`,
			master.RunConfig{Script: "test.js", Shaped: true, RunTime: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			core := newFakeCore()
			_, ts := newTestServer(t, core)
			if code, body := do(t, "POST", ts.URL+"/api/v1/runs", tt.body); code != http.StatusCreated {
				t.Fatalf("start: %d %v", code, body)
			}
			core.mu.Lock()
			got := core.starts[0]
			core.mu.Unlock()
			got.Env = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("run config:\ngot  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestStartWithoutWorkers: the API says what is missing instead of waiting.
func TestStartWithoutWorkers(t *testing.T) {
	t.Parallel()
	core := newFakeCore()
	core.snap.Workers = nil
	_, ts := newTestServer(t, core)
	code, body := do(t, "POST", ts.URL+"/api/v1/runs", `{"users": 1}`)
	if code != http.StatusConflict || !strings.Contains(body["error"].(string), "no worker") {
		t.Fatalf("%d %v", code, body)
	}
	// Asking for workers is how a master that scales a Deployment from 0 gets some.
	code, body = do(t, "POST", ts.URL+"/api/v1/runs", `{"users": 1, "workers": 3}`)
	if code != http.StatusCreated || len(core.starts) != 1 || core.starts[0].Workers != 3 {
		t.Fatalf("start asking for 3 workers: %d %v, starts %+v", code, body, core.starts)
	}
}

func TestStaticAndReports(t *testing.T) {
	t.Parallel()
	core := newFakeCore()
	_, ts := newTestServer(t, core)
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(page, []byte("Stampede")) {
		t.Fatalf("index: %s", page)
	}
	if code, _ := do(t, "GET", ts.URL+"/api/v1/reports/stats.csv", ""); code != http.StatusNotFound {
		t.Fatalf("a report before any run: %d, want 404", code)
	}
	if _, err := core.Start(context.Background(), master.RunConfig{Users: 1}, nil); err != nil {
		t.Fatal(err)
	}
	var d stats.Delta
	d.AddRequest(stats.Key{Name: "/a", Method: "GET", Status: "200"}, 12, false, "")
	core.mu.Lock()
	core.snap.Stats.Add(&d)
	core.mu.Unlock()
	for _, f := range []string{"stats.csv", "stats_history.csv", "failures.csv", "summary.json"} {
		resp, err := http.Get(ts.URL + "/api/v1/reports/" + f)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "stampede_run1_"+f) {
			t.Fatalf("%s: %d %v", f, resp.StatusCode, resp.Header)
		}
		if f == "stats.csv" && !bytes.Contains(body, []byte("GET,/a,1,")) {
			t.Fatalf("stats.csv lacks the request row:\n%s", body)
		}
	}
}

// TestWebsocketLateClientGetsStateAtOnce: a client connecting after the run began gets the whole
// state in its first frame, before any tick.
func TestWebsocketLateClientGetsStateAtOnce(t *testing.T) {
	t.Parallel()
	core := newFakeCore()
	if _, err := core.Start(context.Background(), master.RunConfig{Users: 7}, nil); err != nil {
		t.Fatal(err)
	}
	core.mu.Lock()
	core.snap.Points = []stats.Point{{Time: 100, Requests: 5}, {Time: 101, Requests: 6}}
	core.mu.Unlock()
	_, ts := newTestServer(t, core) // the hub is not Run: no ticks at all
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var f api.Frame
	if err := conn.ReadJSON(&f); err != nil {
		t.Fatal(err)
	}
	if f.Type != "snapshot" || f.Run == nil || f.Run.Users != 7 || len(f.Series) != 2 || len(f.Workers) != 1 {
		t.Fatalf("first frame: %+v", f)
	}
}

// TestSlowClientCannotSlowTheHub: a client whose writer is stuck loses frames (counted) while the
// hub goes on; once it has room again it gets a full snapshot, not an update with a hole.
func TestSlowClientCannotSlowTheHub(t *testing.T) {
	t.Parallel()
	core := newFakeCore()
	if _, err := core.Start(context.Background(), master.RunConfig{Users: 1}, nil); err != nil {
		t.Fatal(err)
	}
	h := newHub(core, api.Defaults{}, 2, discard())
	stuck := &client{send: make(chan []byte, 2), done: make(chan struct{})}
	healthy := &client{send: make(chan []byte, 2), done: make(chan struct{})}
	h.clients[stuck], h.clients[healthy] = struct{}{}, struct{}{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10 {
			core.mu.Lock()
			core.snap.Points = append(core.snap.Points, stats.Point{Time: int64(1000 + i)})
			core.mu.Unlock()
			h.tick()
			<-healthy.send // the healthy client keeps up
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the hub blocked on a stuck client")
	}
	if got := h.Dropped(); got != 8 {
		t.Fatalf("dropped %d frames, want 8 (10 ticks, a queue of 2)", got)
	}
	<-stuck.send
	<-stuck.send // the client catches up...
	h.tick()
	var f api.Frame
	if err := json.Unmarshal(<-stuck.send, &f); err != nil {
		t.Fatal(err)
	}
	if f.Type != "snapshot" || len(f.Series) != 10 {
		t.Fatalf("after losing frames: %s frame with %d points, want a snapshot with all 10", f.Type, len(f.Series))
	}
	if err := json.Unmarshal(<-healthy.send, &f); err != nil {
		t.Fatal(err)
	}
	if f.Type != "update" || len(f.Series) != 0 {
		t.Fatalf("healthy client: %s frame with %d points, want an empty update", f.Type, len(f.Series))
	}
}

func TestStatusOf(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]int{
		master.ErrRunInProgress: 409,
		master.ErrNoRun:         409,
		master.ErrNotSwarm:      409,
		errors.Join(errors.New("x"), master.ErrBadSettings): 400,
		errors.New("disk on fire"):                          500,
	} {
		if got := statusOf(err); got != want {
			t.Errorf("statusOf(%v) = %d, want %d", err, got, want)
		}
	}
}

// runState is what the tests compare of a run before and after a request.
type runState struct {
	id        string
	state     master.State
	users     int64
	spawnRate float64
}

func runOf(c *fakeCore) runState {
	r := c.Snapshot().Run
	if r == nil {
		return runState{}
	}
	return runState{r.ID, r.State, r.Users, r.SpawnRate}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
