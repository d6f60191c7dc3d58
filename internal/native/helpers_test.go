package native

import (
	"context"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario/flow"
)

// target is a test server that counts requests by path and remembers which users sent them
// (the X-User header, when the flow sends ${vu}).
type target struct {
	*httptest.Server
	mu      sync.Mutex
	byPath  map[string]int
	users   map[string]map[string]bool // path -> X-User values
	headers map[string][]string        // path -> X-Value values, in order
	handle  func(w http.ResponseWriter, r *http.Request) bool
}

func newTarget(t *testing.T, handle func(w http.ResponseWriter, r *http.Request) bool) *target {
	t.Helper()
	return newTargetConns(t, handle, nil)
}

// newTargetConns is newTarget with the server's ConnState hook set to connState.
func newTargetConns(t *testing.T, handle func(w http.ResponseWriter, r *http.Request) bool, connState func(net.Conn, http.ConnState)) *target {
	t.Helper()
	tg := &target{handle: handle}
	tg.reset()
	tg.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.mu.Lock()
		tg.byPath[r.URL.Path]++
		if u := r.Header.Get("X-User"); u != "" {
			if tg.users[r.URL.Path] == nil {
				tg.users[r.URL.Path] = map[string]bool{}
			}
			tg.users[r.URL.Path][u] = true
		}
		if v := r.Header.Get("X-Value"); v != "" {
			tg.headers[r.URL.Path] = append(tg.headers[r.URL.Path], v)
		}
		tg.mu.Unlock()
		if tg.handle != nil && tg.handle(w, r) {
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	tg.Config.ConnState = connState
	tg.Start()
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) reset() {
	tg.mu.Lock()
	tg.byPath = map[string]int{}
	tg.users = map[string]map[string]bool{}
	tg.headers = map[string][]string{}
	tg.mu.Unlock()
}

func (tg *target) count(path string) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.byPath[path]
}

func (tg *target) total() int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	n := 0
	for _, c := range tg.byPath {
		n += c
	}
	return n
}

func (tg *target) distinctUsers(path string) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return len(tg.users[path])
}

func (tg *target) values(path string) []string {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]string(nil), tg.headers[path]...)
}

// parse parses a flow and loads its data files from files.
func parse(t testing.TB, src string, files fs.FS) (*flow.Scenario, map[string]*flow.Table) {
	t.Helper()
	sc, err := flow.Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if files == nil {
		files = fstest.MapFS{}
	}
	tables, err := sc.LoadData(files)
	if err != nil {
		t.Fatal(err)
	}
	return sc, tables
}

// run is an engine under test with its deltas summed.
type run struct {
	*Engine
	mu    sync.Mutex
	total stats.Delta
	n     int
	done  chan struct{}
}

func start(t *testing.T, ctx context.Context, src string, tg *target, files fs.FS, edit func(*Options)) *run {
	t.Helper()
	sc, tables := parse(t, src, files)
	opts := Options{Scenario: sc, Data: tables, Env: map[string]string{"TARGET": tg.URL}, FlushInterval: 10 * time.Millisecond}
	if edit != nil {
		edit(&opts)
	}
	e, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := collect(e)
	t.Cleanup(func() {
		e.Kill()
		<-e.Exited()
		<-r.done
	})
	return r
}

// collect sums e's deltas into a run until e closes them (r.done).
func collect(e *Engine) *run {
	r := &run{Engine: e, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for d := range e.Deltas() {
			r.mu.Lock()
			r.total.Merge(d)
			r.n++
			r.mu.Unlock()
		}
	}()
	return r
}

// end stops the run gracefully and waits until every delta is in.
func (r *run) end(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	r.Terminate(10 * time.Second)
	<-r.done
	if code, msg := r.ExitCode(); code != 0 {
		t.Fatalf("exit code %d: %s", code, msg)
	}
}

func (r *run) snapshot() *stats.Delta {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total.Clone()
}

// waitFor polls cond until it holds, or fails the test after a minute: far longer than any of
// these conditions takes, even on a loaded machine under -race, so only a hang fails it.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *Engine) liveUsers() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.live
}

func (e *Engine) classUsers(name string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.classes {
		if c.prog.name == name {
			return len(c.users)
		}
	}
	return -1
}

func metricCount(d *stats.Delta, name string) uint64 {
	if m := d.Metrics[name]; m != nil {
		return m.Count
	}
	return 0
}
