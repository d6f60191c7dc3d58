package k6run

import (
	"bufio"
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
)

// Exit codes of k6 v1.8.1 that the worker tells apart.
const (
	ExitThresholds    = 99
	ExitStoppedByAPI  = 103
	ExitInvalidConfig = 104
	ExitSignal        = 105
	ExitRESTAPI       = 106
	ExitScriptError   = 107
	ExitScriptAborted = 108
)

// RunOptions describe one k6 child.
type RunOptions struct {
	// Exe is a binary whose "k6" subcommand calls Exec (normally os.Executable()).
	Exe string
	// Dir is the run's private directory: the bundle is written there and it is the child's HOME.
	Dir string
	// Entry is the path of the entry script.
	Entry string
	// Segment and SegmentSequence split a script-mode run (k6 syntax); empty runs the whole test.
	Segment, SegmentSequence string
	// Env reaches the script as __ENV.
	Env map[string]string
	// Submetrics are sub-metric selectors (k6 threshold syntax, stats.ParseSelector) whose matching
	// samples the child also reports under the selector's canonical key.
	Submetrics []string
	// Logs receives k6's log lines (JSON, one per line); nil discards them.
	Logs func(protocol.LogLine)
	// Stdout receives k6's standard output; nil discards it.
	Stdout io.Writer
	// BlockedIPs are CIDR ranges k6 refuses to dial (its blacklistIPs). They travel as a command-line
	// flag, which takes precedence over the script's options, so a script cannot lift them.
	BlockedIPs []string
	// Alive reports whether the parent still supervises the child. While it returns true the child
	// gets a liveness beat every LivenessTimeout/6; when the beats stop for LivenessTimeout (the
	// parent froze, deadlocked or stopped reading the child's stats) the child stops its load by
	// itself. nil means always alive: only the parent's death or freeze stops the beats.
	Alive func() bool
	// Classes are the initial user-class targets (class name to VU count) that the script's
	// stampede.userClass() shares the child's active VUs by (see classTable); SetClasses changes
	// them. nil: no classes.
	Classes map[string]int64
}

// LivenessTimeout is how long a k6 child goes on without a liveness beat from its parent before it
// stops its load (the test is aborted; the process lingers so that a parent that wakes up can still
// collect its last stats). It also bounds how long the child waits for a full stats pipe.
const LivenessTimeout = 3 * time.Second

// Child is a running `k6 run` process, paused until Resume.
type Child struct {
	cmd     *exec.Cmd
	api     string
	client  *http.Client
	deltas  chan *stats.Delta
	exited  chan struct{}
	readWG  sync.WaitGroup
	mu      sync.Mutex
	err     error // set once the process has exited
	code    int
	lastErr string // the last error-level log line, for a message a user can act on
	liveMu  sync.Mutex
	live    *os.File // the liveness pipe's write end; nil once the child has exited
}

// Start launches a paused k6 child for opts. The child's deltas arrive on Deltas until it exits.
func Start(ctx context.Context, opts RunOptions) (*Child, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	env, err := processEnv(opts)
	if err != nil {
		return nil, err
	}
	// The output needs each sample's VU to size requests (see iterations).
	tagArgs, err := systemTagArgs(opts.Dir, opts.Entry)
	if err != nil {
		return nil, err
	}
	p, err := openPipes()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(opts.Exe)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Args = append(cmd.Args, runArgs(opts, addr, passFiles(cmd, p.statsW, p.liveR), tagArgs)...)
	cmd.Dir = opts.Dir
	cmd.Env = env
	cmd.Stdout = opts.Stdout
	cmd.Stderr = p.stderr.w
	if err := cmd.Start(); err != nil {
		closeFiles(p.statsR, p.statsW, p.liveR, p.liveW, p.stderr.r, p.stderr.w)
		return nil, fmt.Errorf("k6 child: starting %s: %w", opts.Exe, err)
	}
	closeFiles(p.statsW, p.liveR, p.stderr.w) // the child has its own copies
	return follow(cmd, addr, p, opts), nil
}

// processEnv is the child's environment: childEnv's, and opts.Submetrics and opts.Classes for the
// output. They go in the process environment, not --env: they are for the output, and the script's
// __ENV stays as given.
func processEnv(opts RunOptions) ([]string, error) {
	env := childEnv(opts.Dir)
	if len(opts.Submetrics) > 0 {
		list, err := json.Marshal(opts.Submetrics)
		if err != nil {
			return nil, fmt.Errorf("k6 child: sub-metrics: %w", err)
		}
		env = append(env, submetricsEnv+"="+string(list))
	}
	if opts.Classes != nil {
		if err := checkClasses(opts.Classes); err != nil {
			return nil, fmt.Errorf("k6 child: %w", err)
		}
		list, err := json.Marshal(opts.Classes)
		if err != nil {
			return nil, fmt.Errorf("k6 child: user classes: %w", err)
		}
		env = append(env, classesEnv+"="+string(list))
	}
	return env, nil
}

// childPipes connect the worker and a k6 child. The parent closes the child's ends (statsW, liveR,
// stderr.w) once the child has started, so that each pipe ends when the process at its other end does.
type childPipes struct {
	statsR, statsW *os.File // stats: the child writes, the parent reads
	liveR, liveW   *os.File // liveness: the parent writes, the child reads
	stderr         *lineWriter
}

// openPipes opens the three pipes, or none.
func openPipes() (*childPipes, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("k6 child: %w", err)
	}
	lr, lw, err := os.Pipe()
	if err != nil {
		closeFiles(pr, pw)
		return nil, fmt.Errorf("k6 child: %w", err)
	}
	stderr, err := newLineWriter()
	if err != nil {
		closeFiles(pr, pw, lr, lw)
		return nil, err
	}
	return &childPipes{statsR: pr, statsW: pw, liveR: lr, liveW: lw, stderr: stderr}, nil
}

// closeFiles closes files, ignoring errors: a pipe's end has nothing to flush.
func closeFiles(files ...*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// runArgs is the command line after the binary: `k6 run` paused and lingering, under the worker's
// control through the REST API on addr (no setup, teardown, summary or thresholds of its own),
// quiet, logging JSON, its samples to the output on out; then the segment, the blocked IPs, the
// system tags, the script's environment and the entry.
func runArgs(opts RunOptions, addr, out string, tagArgs []string) []string {
	args := []string{Subcommand, "run",
		"--out", outputName + "=" + out,
		"--address", addr,
		"--paused", "--linger",
		"--no-setup", "--no-teardown", "--no-summary", "--no-thresholds",
		"--include-system-env-vars=false",
		"--log-format", "json", "--quiet", "--no-color",
	}
	if opts.Segment != "" {
		args = append(args, "--execution-segment", opts.Segment,
			"--execution-segment-sequence", opts.SegmentSequence)
	}
	if len(opts.BlockedIPs) > 0 {
		args = append(args, "--blacklist-ip", strings.Join(opts.BlockedIPs, ","))
	}
	args = append(args, tagArgs...)
	for k, v := range opts.Env {
		args = append(args, "--env", k+"="+v)
	}
	return append(args, opts.Entry)
}

// follow returns the Child of a started process: its stats and logs are read until it exits, it gets
// a liveness beat while opts.Alive says so, and wait records how it ended.
func follow(cmd *exec.Cmd, addr string, p *childPipes, opts RunOptions) *Child {
	c := &Child{
		cmd: cmd,
		api: "http://" + addr,
		// No client timeout: every call has its own deadline, and setup() and teardown() may take
		// as long as the script's setupTimeout and teardownTimeout, which k6 enforces itself.
		client: &http.Client{},
		deltas: make(chan *stats.Delta, 64),
		exited: make(chan struct{}),
		live:   p.liveW,
	}
	c.readWG.Add(2)
	go c.readDeltas(p.statsR)
	go c.readLogs(p.stderr.r, opts.Logs)
	go c.beat(opts.Alive)
	go c.wait()
	return c
}

// beat writes a liveness beat to the child every LivenessTimeout/6 while alive says so, and closes
// the pipe when the child has exited.
func (c *Child) beat(alive func() bool) {
	defer func() {
		c.liveMu.Lock()
		defer c.liveMu.Unlock()
		c.live.Close()
		c.live = nil
	}()
	t := time.NewTicker(LivenessTimeout / 6)
	defer t.Stop()
	for {
		select {
		case <-c.exited:
			return
		case <-t.C:
			if alive == nil || alive() {
				_ = c.sendLive([]byte{liveBeat}) // an error means the child is gone; exited follows
			}
		}
	}
}

// ErrExited is a change sent to a child that has exited.
var ErrExited = errors.New("k6 child: the process has exited")

// sendLive writes one whole message to the liveness pipe. The child reads the pipe all the time
// and messages are small, so the write does not block for long.
func (c *Child) sendLive(msg []byte) error {
	c.liveMu.Lock()
	defer c.liveMu.Unlock()
	if c.live == nil {
		return ErrExited
	}
	if _, err := c.live.Write(msg); err != nil {
		return fmt.Errorf("k6 child: liveness pipe: %w", err)
	}
	return nil
}

// SetClasses replaces the child's user-class targets (class name to VU count; see
// RunOptions.Classes). VUs move on their next iteration, and only as many as must: once every
// active VU has begun an iteration since, each class has its target when the active VUs number
// the targets' sum. The targets travel on the liveness pipe and SetVUs over REST, so neither
// waits for the other; the steady state is the same in either order, but setting the classes first
// lets most new VUs join their final class directly. The change is also a liveness beat.
func (c *Child) SetClasses(targets map[string]int64) error {
	msg, err := appendClassesFrame(nil, targets)
	if err != nil {
		return err
	}
	return c.sendLive(msg)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("k6 child: finding a free REST port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lineWriter struct{ r, w *os.File }

func newLineWriter() (*lineWriter, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("k6 child: %w", err)
	}
	return &lineWriter{r: r, w: w}, nil
}

func (c *Child) readDeltas(r io.ReadCloser) {
	defer c.readWG.Done()
	defer r.Close()
	dec := gob.NewDecoder(bufio.NewReader(r))
	for {
		var f frame
		if err := dec.Decode(&f); err != nil {
			return // EOF once the output stopped; anything else means the child died mid-frame
		}
		if f.Delta != nil {
			c.deltas <- f.Delta
		}
	}
}

// k6's JSON log line, as logrus writes it.
type k6Log struct {
	Time   time.Time `json:"time"`
	Level  string    `json:"level"`
	Msg    string    `json:"msg"`
	Source string    `json:"source"`
	Error  string    `json:"error"`
}

// ownDoing are k6's messages about what the worker itself did through the child's private REST API;
// they are no news to the user (k6 logs the first as an error).
var ownDoing = map[string]bool{"test run stopped from REST API": true}

func (c *Child) readLogs(r io.ReadCloser, sink func(protocol.LogLine)) {
	defer c.readWG.Done()
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var l k6Log
		if err := json.Unmarshal(line, &l); err != nil || l.Level == "" {
			l = k6Log{Time: time.Now(), Level: "info", Msg: string(bytes.TrimSpace(line))}
		}
		if ownDoing[l.Msg] {
			continue
		}
		msg := l.Msg
		if l.Error != "" {
			msg += ": " + l.Error
		}
		src := "k6"
		switch {
		case l.Source == "console":
			src = "console"
		case l.Source == "stacktrace" || (l.Level == "error" && l.Error != ""):
			src = "exception"
		}
		if l.Level == "error" || l.Level == "fatal" {
			c.mu.Lock()
			c.lastErr = msg
			c.mu.Unlock()
		}
		if sink != nil {
			sink(protocol.LogLine{Time: l.Time, Level: l.Level, Message: msg, Source: src})
		}
	}
}

func (c *Child) wait() {
	err := c.cmd.Wait()
	c.readWG.Wait() // every delta and log line is read before anyone learns of the exit
	c.mu.Lock()
	c.code = c.cmd.ProcessState.ExitCode()
	c.err = err
	if c.code < 0 && err != nil {
		// Killed by a signal (OOM killer, kill -9): k6 could not say why, so say what happened.
		c.lastErr = "the k6 process died (" + err.Error() + ")"
	}
	c.mu.Unlock()
	close(c.deltas)
	close(c.exited)
}

// Deltas delivers the child's stats deltas; it is closed after the child exited and its last delta was read.
func (c *Child) Deltas() <-chan *stats.Delta { return c.deltas }

// Exited is closed when the process has exited and its output has been read.
func (c *Child) Exited() <-chan struct{} { return c.exited }

// ExitCode returns the process's exit code (-1 if killed by a signal) and the last error k6 logged.
// Valid after Exited is closed.
func (c *Child) ExitCode() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code, c.lastErr
}

// Status is what k6's REST API says about the run.
type Status struct {
	Status  int   `json:"status"`
	Paused  bool  `json:"paused"`
	VUs     int64 `json:"vus"`
	VUsMax  int64 `json:"vus-max"`
	Stopped bool  `json:"stopped"`
	Running bool  `json:"running"`
}

// k6's lib.ExecutionStatus values that matter here.
const (
	statusPausedBeforeRun = 4
	statusEnded           = 9
	statusInterrupted     = 10
)

// ReadyToStart reports whether every VU is initialised and the run waits for Resume.
func (s Status) ReadyToStart() bool { return s.Status == statusPausedBeforeRun }

// Ended reports whether the test itself is over (the process lingers for teardown).
func (s Status) Ended() bool { return s.Status >= statusEnded }

// Interrupted reports whether the test ended early: stopped through the API or aborted by the script.
func (s Status) Interrupted() bool { return s.Status == statusInterrupted }

type statusDoc struct {
	Data struct {
		Attributes Status `json:"attributes"`
	} `json:"data"`
}

// Status asks the child how the run goes.
func (c *Child) Status(ctx context.Context) (Status, error) {
	var doc statusDoc
	err := c.call(ctx, http.MethodGet, "/v1/status", nil, &doc)
	return doc.Data.Attributes, err
}

// WaitReady waits until the child's VUs are initialised and it waits for Resume, or until it exits.
func (c *Child) WaitReady(ctx context.Context) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		s, err := c.Status(cctx)
		cancel()
		if err == nil && s.ReadyToStart() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.exited:
			code, msg := c.ExitCode()
			return &ExitError{Code: code, Message: msg}
		case <-t.C:
		}
	}
}

// ExitError is a child that ended with an error before it could run.
type ExitError struct {
	Code    int
	Message string
}

func (e *ExitError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("k6 exited with code %d", e.Code)
	}
	return e.Message
}

func patchStatus(attrs map[string]any) map[string]any {
	return map[string]any{"data": map[string]any{"type": "status", "id": "default", "attributes": attrs}}
}

// Resume starts the paused test.
func (c *Child) Resume(ctx context.Context) error {
	return c.call(ctx, http.MethodPatch, "/v1/status", patchStatus(map[string]any{"paused": false}), nil)
}

// SetVUs sets the number of active VUs of the externally-controlled scenario, raising vus-max first
// when needed (k6 initialises the extra VUs then).
func (c *Child) SetVUs(ctx context.Context, vus, vusMax int64) error {
	return c.call(ctx, http.MethodPatch, "/v1/status",
		patchStatus(map[string]any{"vus": vus, "vus-max": max(vus, vusMax)}), nil)
}

// Stop ends the test and the child lingers for teardown. It first pauses the test, which lets every
// active VU of an externally-controlled scenario finish its iteration (k6 stops VUs gracefully on
// pause, but hard on stop), so no request in flight is cut off uncounted; that wait is bounded by ctx.
// Other executors refuse a pause mid-run, and then the stop is immediate.
func (c *Child) Stop(ctx context.Context) error {
	_ = c.call(ctx, http.MethodPatch, "/v1/status", patchStatus(map[string]any{"paused": true}), nil)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return c.call(stopCtx, http.MethodPatch, "/v1/status", patchStatus(map[string]any{"stopped": true}), nil)
}

type setupDoc struct {
	Data struct {
		Attributes struct {
			Data json.RawMessage `json:"data"`
		} `json:"attributes"`
	} `json:"data"`
}

// Setup runs the script's setup() in the child and returns its result as JSON (null without setup).
func (c *Child) Setup(ctx context.Context) (json.RawMessage, error) {
	var doc setupDoc
	if err := c.call(ctx, http.MethodPost, "/v1/setup", nil, &doc); err != nil {
		return nil, fmt.Errorf("setup() failed: %w", err)
	}
	return doc.Data.Attributes.Data, nil
}

// SetSetupData gives the child the setup() result that another child computed.
func (c *Child) SetSetupData(ctx context.Context, data json.RawMessage) error {
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	return c.call(ctx, http.MethodPut, "/v1/setup", data, nil)
}

// Teardown runs the script's teardown(data) in the child.
func (c *Child) Teardown(ctx context.Context) error {
	if err := c.call(ctx, http.MethodPost, "/v1/teardown", nil, nil); err != nil {
		return fmt.Errorf("teardown() failed: %w", err)
	}
	return nil
}

// Terminate asks the child to exit as a user's Ctrl+C would (k6 then ends its linger and stops its
// output, which flushes the last delta) and kills it after grace.
func (c *Child) Terminate(grace time.Duration) {
	if err := askToStop(c.cmd.Process); err != nil && !errors.Is(err, os.ErrProcessDone) {
		c.Kill() // there is no way to ask (see askToStop)
		return
	}
	select {
	case <-c.exited:
	case <-time.After(grace):
		c.Kill()
	}
}

// Kill ends the child and anything it started at once.
func (c *Child) Kill() {
	killGroup(c.cmd.Process)
	_ = c.cmd.Process.Kill()
}

type apiErrorDoc struct {
	Errors []struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

// call does one REST request; body may be raw JSON bytes or a value to encode.
func (c *Child) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case json.RawMessage:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.api+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("k6 REST API: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("k6 REST API: %w", err)
	}
	if resp.StatusCode >= 300 {
		var doc apiErrorDoc
		if json.Unmarshal(data, &doc) == nil && len(doc.Errors) > 0 {
			e := doc.Errors[0]
			if e.Detail != "" {
				return errors.New(e.Detail)
			}
			return errors.New(e.Title)
		}
		return fmt.Errorf("k6 REST API: %s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("k6 REST API: decoding %s: %w", path, err)
		}
	}
	return nil
}

// Pid is the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }
