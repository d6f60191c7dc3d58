package rpc

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/stampede-load/stampede/proto/stampede/v1"

	"github.com/stampede-load/stampede/internal/cli/clitest"
	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/internal/worker"
	"github.com/stampede-load/stampede/scenario"
)

// This file holds the end-to-end harness: a real master.Coordinator behind a real gRPC server on a
// loopback port, real worker.Workers dialing it through Dialer, and fake k6 children injected with
// worker.Options.Launch so no k6 process runs.

// homeKey is the only request row the fake children produce.
var homeKey = stats.Key{Name: "home", Method: "GET", Status: "200"}

// k6 execution statuses the fake reports (see k6run.Status).
const (
	statusPaused  = 4 // paused before the run
	statusRunning = 7
	statusEnded   = 9
)

// deltaEvery is how often a running fake child emits a delta.
const deltaEvery = 50 * time.Millisecond

// event is a one-shot signal a test can wait on.
type event struct {
	once sync.Once
	ch   chan struct{}
}

func newEvent() *event { return &event{ch: make(chan struct{})} }

func (e *event) fire() { e.once.Do(func() { close(e.ch) }) }

func (e *event) fired() bool {
	select {
	case <-e.ch:
		return true
	default:
		return false
	}
}

// waitEvent fails the test unless e fires within d.
func waitEvent(t *testing.T, e *event, d time.Duration, what string) {
	t.Helper()
	select {
	case <-e.ch:
	case <-time.After(d):
		t.Fatalf("%s did not happen within %s", what, d)
	}
}

// eventually fails the test unless cond becomes true within d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		<-tick.C
	}
}

// testLogger returns a logger writing to a buffer, printed if the test fails.
func testLogger(t *testing.T) (*slog.Logger, *clitest.Output) {
	buf := &clitest.Output{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// fakeConfig shapes a fake child's test.
type fakeConfig struct {
	vus      int64 // users before any SetVUs (Script mode); Swarm mode sets them live
	endAfter int   // the test ends by itself after this many deltas; 0: only when stopped
}

// fakeChild is a k6 child without k6: it emits a delta of `vus` requests every deltaEvery while
// running, and records every call the worker makes.
type fakeChild struct {
	host string
	opts k6run.RunOptions
	cfg  fakeConfig

	deltas   chan *stats.Delta
	exited   chan struct{}
	quit     chan struct{}
	quitOnce sync.Once

	resumed, stopped, ended, terminated *event

	mu            sync.Mutex
	classes       map[string]int64 // the last SetClasses
	state         int
	vus           int64
	setupCalls    int
	setupData     []string
	resumeCalls   int
	setVUs        []int64
	stopCalls     int
	teardownCalls int
	exitCalls     int // Terminate and Kill
	deltasSent    int
	requestsSent  uint64
}

var _ worker.Child = (*fakeChild)(nil)

func newFakeChild(host string, opts k6run.RunOptions, cfg fakeConfig) *fakeChild {
	c := &fakeChild{host: host, opts: opts, cfg: cfg, state: statusPaused, vus: cfg.vus,
		deltas: make(chan *stats.Delta), exited: make(chan struct{}), quit: make(chan struct{}),
		resumed: newEvent(), stopped: newEvent(), ended: newEvent(), terminated: newEvent()}
	go c.emit()
	return c
}

func (c *fakeChild) emit() {
	defer close(c.exited)
	defer close(c.deltas)
	tick := time.NewTicker(deltaEvery)
	defer tick.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-tick.C:
		}
		c.mu.Lock()
		n, running := c.vus, c.state == statusRunning
		c.mu.Unlock()
		if !running || n <= 0 {
			continue
		}
		now := time.Now()
		d := &stats.Delta{Start: now.Add(-deltaEvery), End: now}
		for range n {
			d.AddRequest(homeKey, 12, false, "")
		}
		select {
		case c.deltas <- d:
		case <-c.quit:
			return
		}
		c.mu.Lock()
		c.deltasSent++
		c.requestsSent += uint64(n)
		if c.cfg.endAfter > 0 && c.deltasSent >= c.cfg.endAfter && c.state == statusRunning {
			c.state = statusEnded
			c.ended.fire()
		}
		c.mu.Unlock()
	}
}

func (c *fakeChild) WaitReady(context.Context) error { return nil }

func (c *fakeChild) Setup(context.Context) (json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setupCalls++
	return json.RawMessage(`{"token":"t"}`), nil
}

func (c *fakeChild) SetSetupData(_ context.Context, data json.RawMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setupData = append(c.setupData, string(data))
	return nil
}

func (c *fakeChild) Resume(context.Context) error {
	c.mu.Lock()
	c.resumeCalls++
	if c.state == statusPaused {
		c.state = statusRunning
	}
	c.mu.Unlock()
	c.resumed.fire()
	if c.opts.Logs != nil {
		c.opts.Logs(protocol.LogLine{Time: time.Now(), Level: "info", Message: "hello from " + c.host, Source: "console"})
	}
	return nil
}

func (c *fakeChild) SetVUs(_ context.Context, vus, _ int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setVUs = append(c.setVUs, vus)
	c.vus = vus
	return nil
}

func (c *fakeChild) SetClasses(targets map[string]int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.classes = maps.Clone(targets)
	return nil
}

func (c *fakeChild) Stop(context.Context) error {
	c.mu.Lock()
	c.stopCalls++
	c.state = statusEnded
	c.mu.Unlock()
	c.stopped.fire()
	c.ended.fire()
	return nil
}

func (c *fakeChild) Status(context.Context) (k6run.Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return k6run.Status{Status: c.state, Paused: c.state == statusPaused, VUs: c.vus, VUsMax: c.vus,
		Running: c.state == statusRunning, Stopped: c.stopCalls > 0}, nil
}

func (c *fakeChild) Teardown(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.teardownCalls++
	return nil
}

func (c *fakeChild) exit() {
	c.mu.Lock()
	c.exitCalls++
	c.mu.Unlock()
	c.terminated.fire()
	c.quitOnce.Do(func() { close(c.quit) })
}

func (c *fakeChild) Terminate(time.Duration)     { c.exit() }
func (c *fakeChild) Kill()                       { c.exit() }
func (c *fakeChild) Deltas() <-chan *stats.Delta { return c.deltas }
func (c *fakeChild) Exited() <-chan struct{}     { return c.exited }
func (c *fakeChild) ExitCode() (int, string)     { return 0, "" }
func (c *fakeChild) Pid() int                    { return 0 }

// sent returns how many requests the child emitted, and in how many deltas.
func (c *fakeChild) sent() (requests uint64, deltas int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requestsSent, c.deltasSent
}

// fleet records the fake children of every worker of a test.
type fleet struct {
	mu       sync.Mutex
	children []*fakeChild
}

func (f *fleet) launcher(host string, cfg fakeConfig) func(context.Context, k6run.RunOptions) (worker.Child, error) {
	return func(_ context.Context, opts k6run.RunOptions) (worker.Child, error) {
		c := newFakeChild(host, opts, cfg)
		f.mu.Lock()
		f.children = append(f.children, c)
		f.mu.Unlock()
		return c, nil
	}
}

func (f *fleet) all() []*fakeChild {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*fakeChild(nil), f.children...)
}

// child waits for the one child host launched.
func (f *fleet) child(t *testing.T, host string) *fakeChild {
	t.Helper()
	var found []*fakeChild
	eventually(t, 10*time.Second, "a k6 child on "+host, func() bool {
		found = found[:0]
		for _, c := range f.all() {
			if c.host == host {
				found = append(found, c)
			}
		}
		return len(found) > 0
	})
	if len(found) != 1 {
		t.Fatalf("%s launched %d children, want 1", host, len(found))
	}
	return found[0]
}

// fakeLoader archives a script as k6 would lay it out (the script alone, no options) and inspects
// nothing: the tests' children are fakes.
// fakeLoader archives the script as it is; Inspect answers opts (nil: a script with no options).
type fakeLoader struct{ opts *scenario.Options }

func (fakeLoader) Archive(_ context.Context, script, out string, _ map[string]string) error {
	src, err := os.ReadFile(script)
	if err != nil {
		return err
	}
	return os.WriteFile(out, testArchive(src), 0o644)
}

func (l fakeLoader) Inspect(context.Context, string, string, map[string]string) (*scenario.Options, error) {
	if l.opts != nil {
		return l.opts, nil
	}
	return &scenario.Options{}, nil
}

// testArchive is a k6 archive of one script: metadata.json, the script as data.
func testArchive(src []byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		body []byte
	}{
		{"metadata.json", []byte(`{"type":"js","filename":"file:///test/script.js","options":{}}`)},
		{"data", src},
	} {
		_ = tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(f.body)
	}
	_ = tw.Close()
	return buf.Bytes()
}

type scriptLine struct {
	worker int
	line   protocol.LogLine
}

// cluster is a master serving gRPC on a loopback port, plus the workers a test starts.
type cluster struct {
	t      *testing.T
	core   *master.Coordinator
	srv    *grpc.Server
	lis    net.Listener
	addr   string
	script string
	log    *slog.Logger
	logs   *clitest.Output
	fleet  fleet

	mu          sync.Mutex
	scriptLines []scriptLine
	conn        *grpc.ClientConn
}

// newCluster starts a master; each of with may change its options.
func newCluster(t *testing.T, with ...func(*master.Options)) *cluster {
	t.Helper()
	return newClusterServing(t, nil, nil, with...)
}

// newClusterServing is newCluster with the gRPC server's options, serving on wrap(listener) (nil: the
// listener itself).
func newClusterServing(t *testing.T, srvOpts []ServerOption, wrap func(net.Listener) net.Listener, with ...func(*master.Options)) *cluster {
	t.Helper()
	log, buf := testLogger(t)
	c := &cluster{t: t, log: log, logs: buf}
	dir := t.TempDir()
	c.script = filepath.Join(dir, "script.js")
	src := "import http from 'k6/http';\n\nexport default function () {\n  http.get('http://127.0.0.1:1/home');\n}\n"
	if err := os.WriteFile(c.script, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := master.Options{Loader: fakeLoader{}, WorkDir: t.TempDir(), Version: "test",
		ScriptLog: c.scriptLog, Logger: log.With("side", "master")}
	for _, f := range with {
		f(&opts)
	}
	core, err := master.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	c.core = core
	c.lis, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.addr = c.lis.Addr().String()
	if wrap != nil {
		c.lis = wrap(c.lis)
	}
	c.srv = NewServer(core, log.With("side", "rpc"), srvOpts...)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = c.srv.Serve(c.lis)
	}()
	t.Cleanup(func() {
		c.srv.Stop()
		<-served
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.conn != nil {
			c.conn.Close()
		}
	})
	return c
}

func (c *cluster) scriptLog(worker int, l protocol.LogLine) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scriptLines = append(c.scriptLines, scriptLine{worker, l})
}

func (c *cluster) lines() []scriptLine {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]scriptLine(nil), c.scriptLines...)
}

// workerHandle is a running worker.Worker.
type workerHandle struct {
	host   string
	w      *worker.Worker
	cancel context.CancelFunc
	done   chan struct{}
	err    error // valid once done is closed
}

// startWorker runs a worker whose children are fakes; masterTimeout 0 means 5s.
func (c *cluster) startWorker(t *testing.T, host string, cfg fakeConfig, masterTimeout time.Duration) *workerHandle {
	t.Helper()
	if masterTimeout == 0 {
		masterTimeout = 5 * time.Second
	}
	w, err := worker.New(worker.Options{Host: host, CPUs: 1, Version: "test", Exe: "fake-k6", Dir: t.TempDir(),
		MasterTimeout: masterTimeout, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
		Launch: c.fleet.launcher(host, cfg), Logger: c.log.With("side", host)})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDialer(c.addr, c.log.With("side", host))
	ctx, cancel := context.WithCancel(context.Background())
	h := &workerHandle{host: host, w: w, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		h.err = w.Run(ctx, d)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Errorf("worker %s: Run did not return after its context ended", host)
		}
		d.Close()
	})
	return h
}

// wait waits for the worker's Run to return and gives its error.
func (h *workerHandle) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-h.done:
		return h.err
	case <-time.After(d):
		t.Fatalf("worker %s: Run did not return within %s", h.host, d)
		return nil
	}
}

type runOutcome struct {
	res *master.Result
	err error
}

// runAsync starts cfg on the master (with the cluster's script) and returns where its outcome arrives.
func (c *cluster) runAsync(t *testing.T, cfg master.RunConfig) <-chan runOutcome {
	t.Helper()
	cfg.Script = c.script
	if cfg.ExpectTimeout == 0 {
		cfg.ExpectTimeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan runOutcome, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err := c.core.Run(ctx, cfg)
		out <- runOutcome{res, err}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Errorf("master: Run did not return after its context ended")
		}
	})
	return out
}

func waitRun(t *testing.T, out <-chan runOutcome, d time.Duration) runOutcome {
	t.Helper()
	select {
	case o := <-out:
		if o.res == nil {
			t.Fatalf("Run returned no result (err %v)", o.err)
		}
		return o
	case <-time.After(d):
		t.Fatalf("the run did not end within %s", d)
		return runOutcome{}
	}
}

// clientConn is a gRPC connection to the master for raw protocol tests.
func (c *cluster) clientConn(t *testing.T) *grpc.ClientConn {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		conn, err := grpc.NewClient(c.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		c.conn = conn
	}
	return c.conn
}

// rawWorker speaks the protocol by hand, so a test controls every message and sequence number.
type rawWorker struct {
	id      string
	welcome *pb.Welcome
	stream  pb.Coordinator_ConnectClient
	cancel  context.CancelFunc
	sendMu  sync.Mutex
	msgs    chan *pb.MasterMessage // everything but heartbeats
	ack     atomic.Uint64          // from the master's last heartbeat
	done    chan struct{}
}

// hello opens a stream on the shared connection, says h and returns the stream, its cancel and
// the master's first answer (Welcome or Reject).
func (c *cluster) hello(t *testing.T, h *pb.Hello) (pb.Coordinator_ConnectClient, context.CancelFunc, *pb.MasterMessage) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := pb.NewCoordinatorClient(c.clientConn(t)).Connect(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := stream.Send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Hello{Hello: h}}); err != nil {
		cancel()
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		cancel()
		t.Fatalf("%s: no answer to Hello: %v", h.WorkerId, err)
	}
	return stream, cancel, first
}

// rawHello opens a stream, says h and returns the worker and the master's first answer.
func (c *cluster) rawHello(t *testing.T, h *pb.Hello) (*rawWorker, *pb.MasterMessage) {
	t.Helper()
	stream, cancel, first := c.hello(t, h)
	r := &rawWorker{id: h.WorkerId, stream: stream, cancel: cancel, msgs: make(chan *pb.MasterMessage, 256), done: make(chan struct{})}
	r.welcome = first.GetWelcome()
	if r.welcome != nil {
		go r.recv()
	} else {
		close(r.done)
	}
	t.Cleanup(r.close)
	return r, first
}

// raw connects a raw worker that must be welcomed.
func (c *cluster) raw(t *testing.T, id string) *rawWorker {
	t.Helper()
	r, first := c.rawHello(t, &pb.Hello{ProtocolMajor: protocol.Major, ProtocolMinor: protocol.Minor,
		WorkerId: id, Host: id, Cpus: 1, Version: "test"})
	if r.welcome == nil {
		t.Fatalf("%s: the master answered Hello with %v, want Welcome", id, first)
	}
	return r
}

func (r *rawWorker) recv() {
	defer close(r.done)
	for {
		m, err := r.stream.Recv()
		if err != nil {
			return
		}
		if hb := m.GetHeartbeat(); hb != nil {
			r.ack.Store(hb.AckStatsSeq)
			continue
		}
		select {
		case r.msgs <- m:
		default: // the test does not read them; it only cares about heartbeats
		}
	}
}

// next returns the next message that is not a heartbeat.
func (r *rawWorker) next(t *testing.T) *pb.MasterMessage {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no message from the master within 10s", r.id)
		return nil
	}
}

func (r *rawWorker) send(t *testing.T, m *pb.WorkerMessage) {
	t.Helper()
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	if err := r.stream.Send(m); err != nil {
		t.Fatalf("%s: send: %v", r.id, err)
	}
}

func (r *rawWorker) status(t *testing.T, runID string, s pb.RunState) {
	t.Helper()
	r.send(t, &pb.WorkerMessage{Msg: &pb.WorkerMessage_Status{Status: &pb.RunStatus{RunId: runID, State: s}}})
}

func (r *rawWorker) phase(t *testing.T, runID string, p pb.Phase, data string) {
	t.Helper()
	r.send(t, &pb.WorkerMessage{Msg: &pb.WorkerMessage_PhaseResult{PhaseResult: &pb.PhaseResult{RunId: runID, Phase: p, Data: []byte(data)}}})
}

// stats sends a delta of n requests as seq.
func (r *rawWorker) stats(t *testing.T, runID string, seq, n uint64) {
	t.Helper()
	now := time.Now()
	d := &stats.Delta{Start: now.Add(-time.Second), End: now}
	for range n {
		d.AddRequest(homeKey, 5, false, "")
	}
	r.send(t, &pb.WorkerMessage{Msg: &pb.WorkerMessage_Stats{Stats: deltaToPB(runID, seq, d)}})
}

// close ends the stream from the worker's side, as a worker process that exits.
func (r *rawWorker) close() {
	r.cancel()
	<-r.done
}

func netListen(t *testing.T) (net.Listener, error) {
	t.Helper()
	return net.Listen("tcp", "127.0.0.1:0")
}
