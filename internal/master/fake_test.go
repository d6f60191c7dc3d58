package master

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// The Coordinator in memory: fake workers answer its messages through its worker-facing methods,
// as internal/rpc's connections do, and a fake Loader stands in for k6. No sockets, no processes.

// fakeLoader archives any script as one file and inspects it as opts (nil: no options). A loader
// with block set waits in Archive until the run's context ends.
type fakeLoader struct {
	opts  *scenario.Options
	block bool
}

func (l fakeLoader) Archive(ctx context.Context, _, out string, _ map[string]string) error {
	if l.block {
		<-ctx.Done()
		return ctx.Err()
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct{ name, body string }{
		{"metadata.json", `{"type":"js","filename":"file:///test/script.js","options":{}}`},
		{"data", "export default function () {}\n"},
	} {
		_ = tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg})
		_, _ = io.WriteString(tw, f.body)
	}
	_ = tw.Close()
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

func (l fakeLoader) Inspect(context.Context, string, string, map[string]string) (*scenario.Options, error) {
	if l.opts != nil {
		return l.opts, nil
	}
	return &scenario.Options{}, nil
}

// newCore is a Coordinator with a fake Loader and a script file to run.
func newCore(t *testing.T, l fakeLoader, with ...func(*Options)) (*Coordinator, string) {
	t.Helper()
	dir := t.TempDir()
	script := dir + "/script.js"
	if err := os.WriteFile(script, []byte("export default function () {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{Loader: l, WorkDir: dir, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	for _, w := range with {
		w(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, script
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// msg is one message the master sent a fake worker.
type msg struct {
	kind  string // assign, setup, start, control, stop, teardown, finish
	runID string
	part  scenario.Part
	data  json.RawMessage
	users int64
	// classes are a control's users per class.
	classes map[string]int64
}

// fakeWorker is one worker's connection. Its goroutine answers the master's messages as a worker
// with a healthy k6 child does, unless the test changes that with the fields below.
type fakeWorker struct {
	t    *testing.T
	c    *Coordinator
	id   string
	in   chan msg
	done chan struct{}

	// Set before the worker joins.
	silent    map[string]bool // message kinds it does not answer
	scriptRun int             // script mode: requests its test makes before it reports Done; 0 waits for a stop
	perStep   int             // swarm mode: requests per control message it answers
	setupData string
	failSends bool   // every message after the first Start fails to queue: the connection is gone
	minor     uint32 // the protocol minor version its Hello gives

	mu       sync.Mutex
	got      []msg
	started  bool
	closed   bool
	seq      uint64
	runID    string
	users    int64
	classes  map[string]int64 // the last control's users by class
	requests uint64           // requests it reported
}

// join connects a fake worker; each option may change it first.
func join(t *testing.T, c *Coordinator, id string, with ...func(*fakeWorker)) (*fakeWorker, protocol.Welcome) {
	t.Helper()
	w := &fakeWorker{t: t, c: c, id: id, in: make(chan msg, 1024), done: make(chan struct{}), silent: map[string]bool{}, perStep: 1,
		minor: protocol.Minor}
	for _, f := range with {
		f(w)
	}
	wel, err := c.Join(protocol.Hello{ProtocolMajor: protocol.Major, ProtocolMinor: w.minor, WorkerID: id, Host: "host-" + id, CPUs: 1}, w)
	if err != nil {
		t.Fatalf("join %s: %v", id, err)
	}
	go w.serve()
	t.Cleanup(func() { close(w.done) })
	return w, wel
}

func (w *fakeWorker) queue(m msg) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || (w.failSends && w.started) {
		return errors.New("connection gone")
	}
	if m.kind == "start" {
		w.started = true
	}
	w.got = append(w.got, m)
	w.in <- m
	return nil
}

func (w *fakeWorker) Assign(p scenario.Part) error {
	return w.queue(msg{kind: "assign", runID: p.RunID, part: p})
}
func (w *fakeWorker) RunSetup(runID string) error { return w.queue(msg{kind: "setup", runID: runID}) }
func (w *fakeWorker) Start(runID string, data json.RawMessage) error {
	return w.queue(msg{kind: "start", runID: runID, data: data})
}
func (w *fakeWorker) Control(c protocol.Control) error {
	kind := "control"
	if c.Stop {
		kind = "stop"
	}
	return w.queue(msg{kind: kind, runID: c.RunID, users: c.Users, classes: c.Classes})
}
func (w *fakeWorker) RunTeardown(runID string) error {
	return w.queue(msg{kind: "teardown", runID: runID})
}
func (w *fakeWorker) Finish(runID, _ string) error { return w.queue(msg{kind: "finish", runID: runID}) }
func (w *fakeWorker) Close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// serve answers the master's messages until the test ends.
func (w *fakeWorker) serve() {
	for {
		select {
		case <-w.done:
			return
		case m := <-w.in:
			if !w.silent[m.kind] {
				w.answer(m)
			}
		}
	}
}

func (w *fakeWorker) answer(m msg) {
	status := func(s protocol.WorkerState, exit int, why string) {
		w.c.Status(w.id, protocol.Status{RunID: m.runID, State: s, ExitCode: exit, Error: why, LastStatsSeq: w.lastSeq()})
	}
	switch m.kind {
	case "assign":
		w.mu.Lock()
		w.runID = m.runID
		w.mu.Unlock()
		status(protocol.Ready, 0, "")
	case "setup":
		w.c.PhaseResult(w.id, protocol.PhaseResult{RunID: m.runID, Phase: protocol.SetupPhase, Data: json.RawMessage(w.setupData)})
	case "start":
		status(protocol.Running, 0, "")
		if w.scriptRun > 0 {
			w.report(w.scriptRun)
			status(protocol.Done, 0, "")
		}
	case "control":
		w.mu.Lock()
		w.users, w.classes = m.users, m.classes
		w.mu.Unlock()
		w.c.Heartbeat(w.id, protocol.Heartbeat{State: protocol.Running, Users: m.users})
		w.report(w.perStep)
	case "stop":
		w.report(w.perStep)
		status(protocol.Done, 0, "")
	case "teardown":
		w.c.PhaseResult(w.id, protocol.PhaseResult{RunID: m.runID, Phase: protocol.TeardownPhase})
	case "finish":
		status(protocol.Finished, 0, "")
	}
}

// report sends a stats delta of n requests (and k6's http_reqs counter).
func (w *fakeWorker) report(n int) {
	if n == 0 {
		return
	}
	var d stats.Delta
	now := time.Now().UnixNano()
	for range n {
		d.AddRequest(stats.Key{Name: "home", Method: "GET", Status: "200"}, 10, false, "")
		d.AddSample("http_reqs", stats.Counter, "default", 1, now)
	}
	w.mu.Lock()
	w.seq++
	seq, runID := w.seq, w.runID
	w.requests += uint64(n)
	w.mu.Unlock()
	w.c.Stats(w.id, runID, seq, &d)
}

func (w *fakeWorker) lastSeq() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seq
}

func (w *fakeWorker) run() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.runID
}

func (w *fakeWorker) reported() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.requests
}

// kinds lists the kinds of the messages it got, in order, without the swarm's user changes.
func (w *fakeWorker) kinds() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, m := range w.got {
		if m.kind != "control" {
			out = append(out, m.kind)
		}
	}
	return strings.Join(out, " ")
}

func (w *fakeWorker) message(kind string) (msg, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range w.got {
		if m.kind == kind {
			return m, true
		}
	}
	return msg{}, false
}

func (w *fakeWorker) currentUsers() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.users
}

// runInBackground runs cfg; the returned function waits for its outcome.
func runInBackground(t *testing.T, c *Coordinator, cfg RunConfig) func() (*Result, error) {
	t.Helper()
	type outcome struct {
		res *Result
		err error
	}
	out := make(chan outcome, 1)
	if _, err := c.Start(context.Background(), cfg, func(res *Result, err error) { out <- outcome{res, err} }); err != nil {
		t.Fatalf("start: %v", err)
	}
	return func() (*Result, error) {
		o := <-out
		return o.res, o.err
	}
}

// until waits for cond, which reads the Coordinator through its exported methods. The ceiling is
// only there to fail a test that would hang; nothing here takes more than a fraction of a second.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func state(c *Coordinator) State { return c.Progress().State }

func requests(res *Result) uint64 { return res.Aggregate.Total().Requests }

func wantErr(t *testing.T, err, target error, parts ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("err = %q, want it to say %q", err, p)
		}
	}
}
