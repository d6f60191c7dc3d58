package native

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/internal/native/h1"
	"github.com/stampede-load/stampede/scenario"
	"github.com/stampede-load/stampede/scenario/flow"
)

// user is one virtual user: a goroutine running its class's program until stopped. Everything
// here belongs to that goroutine, but stop and cancel, which the engine calls under its mutex.
type user struct {
	e       *Engine
	prog    *program // nil for setup and teardown
	idx     int
	v       vals
	life    []string // onStart's captures, for the user's life
	iter    []string // the iteration's captures: life's at its start
	shard   *shard
	scen    string
	ctx     context.Context
	cancel  context.CancelFunc
	stop    chan struct{} // closed: finish the request in flight, then end
	grace   *time.Timer   // cancels ctx userGrace after stop
	loop    func(*user)   // script mode: the executor's loop; nil: swarm mode's
	ended   func()        // script mode: called once the engine no longer counts the user
	started bool          // onStart has succeeded
	timer   *time.Timer   // think time

	conns   []userConn
	jar     jar
	req     h1.Request
	resp    h1.Response
	url     []byte // the expanded URL of a dynamic request
	scratch []byte
	body    []byte
	sent    []byte   // the body of the request built last, for a 307 or 308 redirect
	values  [][]byte // Set-Cookie values
	h2      *h2user  // the flow's http2: this user's net/http transports
	doc     any      // the body decoded as JSON, once per response
	docErr  error
	docDone bool

	lastCaptureFail string
}

type userConn struct {
	h *hostConf
	c *h1.Conn
}

func (e *Engine) newUser(ctx context.Context, p *program, idx int, vu int64) *user {
	u := &user{e: e, prog: p, idx: idx, ctx: ctx, shard: e.rec.shard(idx), scen: scenario.SwarmScenario}
	u.v = vals{vu: vu, tables: e.tables, rows: make([]int, len(e.tables)),
		rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	if p != nil {
		u.life = make([]string, p.ncaps)
		u.iter = make([]string, p.ncaps)
		u.started = len(p.onStart) == 0
	}
	for i, t := range e.tables {
		if e.sc.Data[i].Each == flow.EachUser && vu > 0 {
			u.v.rows[i] = int((vu - 1) % int64(len(t.Rows)))
		}
	}
	return u
}

// stopSoon asks the user to end after the request in flight, and cancels it if that takes
// longer than userGrace. The engine calls it under its mutex.
func (u *user) stopSoon() {
	select {
	case <-u.stop:
		return
	default:
	}
	close(u.stop)
	u.grace = time.AfterFunc(userGrace, u.cancel)
}

func (u *user) close() {
	for _, c := range u.conns {
		_ = c.c.Close()
	}
	u.conns = nil
	if u.h2 != nil {
		u.h2.close()
	}
	if u.timer != nil {
		u.timer.Stop()
	}
}

// run is the user's goroutine.
func (u *user) run() {
	defer u.e.userEnded(u)
	defer func() {
		if p := recover(); p != nil {
			u.e.logLine("error", "exception", fmt.Sprintf("native engine: user %d panicked: %v\n%s", u.v.vu, p, debug.Stack()))
			u.e.fail(k6run.ExitScriptError, fmt.Sprintf("native engine: user %d (class %s) panicked: %v", u.v.vu, u.prog.name, p))
		}
		u.e.mu.Lock()
		if u.grace != nil {
			u.grace.Stop()
		}
		u.e.mu.Unlock()
		u.cancel()
		u.close()
	}()
	if u.loop != nil {
		u.loop(u)
		return
	}
	for {
		if u.stopping() {
			return
		}
		begin, ok := u.iterate()
		if !ok || !u.sleep(thinkTime(u.prog.think, time.Since(begin), u.v.rng.Float64(), u.v.rng.ExpFloat64())) {
			return
		}
	}
}

// iterate runs one iteration: onStart first, until it has succeeded, then the class's steps (or
// one weighted task's), recorded once they all ran. It reports when the iteration began, and
// false when the user was stopped or cancelled meanwhile.
func (u *user) iterate() (time.Time, bool) {
	p := u.prog
	begin := time.Now()
	u.pickRows()
	if !u.started {
		u.v.caps = u.life
		res, _ := u.runSteps(p.onStart)
		switch res {
		case stepStopped, stepCancelled:
			return begin, false
		case stepOK:
			u.started = true
		}
		// A capture that found nothing: onStart runs again after the think time.
	}
	if u.started {
		copy(u.iter, u.life)
		u.v.caps = u.iter
		steps := p.steps
		if p.tasks != nil {
			steps = u.pickTask()
		}
		res, _ := u.runSteps(steps)
		if res == stepStopped || res == stepCancelled {
			return begin, false
		}
		u.e.rec.iteration(u.shard, u.scen, time.Since(begin))
		u.v.iter++
	}
	return begin, true
}

func (u *user) pickTask() []*cstep {
	p := u.prog
	n := u.v.rng.Int64N(p.taskTotal)
	for _, t := range p.tasks {
		if n < t.weight {
			return t.steps
		}
		n -= t.weight
	}
	return p.tasks[len(p.tasks)-1].steps
}

// pickRows chooses the iteration's rows of the data sets read per iteration or at random.
func (u *user) pickRows() {
	for i, t := range u.e.tables {
		switch u.e.sc.Data[i].Each {
		case flow.EachIteration:
			// The worker's cursor in its stripe of the rows, as its users' numbers are.
			n := u.e.iterCur[i].Add(1) - 1
			u.v.rows[i] = int((n*max(u.e.opts.UserSlots, 1) + u.e.opts.UserSlot) % int64(len(t.Rows)))
		case flow.EachRandom:
			u.v.rows[i] = u.v.rng.IntN(len(t.Rows))
		}
	}
}

func (u *user) stopping() bool {
	if u.ctx.Err() != nil {
		return true
	}
	select {
	case <-u.stop:
		return true
	default:
		return false
	}
}

// sleep pauses for d, and reports false when the user was stopped meanwhile.
func (u *user) sleep(d time.Duration) bool { return u.pause(d, nil) }

// pause is sleep that end also ends (reporting false): the think time after a script-mode
// iteration, whose scenario may start no more iterations. A nil end never ends it.
func (u *user) pause(d time.Duration, end <-chan struct{}) bool {
	if d <= 0 {
		return !u.stopping()
	}
	if u.timer == nil {
		u.timer = time.NewTimer(d)
	} else {
		u.timer.Reset(d)
	}
	select {
	case <-u.timer.C:
		return true
	case <-end:
	case <-u.stop:
	case <-u.ctx.Done():
	}
	u.timer.Stop()
	return false
}

type stepResult int

const (
	stepOK            stepResult = iota
	stepCaptureFailed            // a capture found nothing: the rest of the iteration is skipped
	stepStopped                  // the user was stopped
	stepCancelled                // the user's context ended: the request was cut off
)

// runSteps runs steps in order. The error is a request that could not be built or sent, for
// setup's and teardown's callers; the flow itself goes on past it, as k6 does.
func (u *user) runSteps(steps []*cstep) (stepResult, error) {
	var firstErr error
	for _, st := range steps {
		if u.stopping() {
			if u.ctx.Err() != nil {
				return stepCancelled, firstErr
			}
			return stepStopped, firstErr
		}
		var res stepResult
		var err error
		switch {
		case st.req != nil:
			res, err = u.do(st.req)
		case st.think != nil:
			if !u.sleep(thinkTime(st.think, 0, u.v.rng.Float64(), u.v.rng.ExpFloat64())) {
				res = stepStopped
			}
		default:
			begin := time.Now()
			res, err = u.runSteps(st.steps)
			if res == stepOK {
				u.e.rec.group(u.shard, u.scen, st.group, time.Since(begin))
			}
		}
		if firstErr == nil {
			firstErr = err
		}
		if res != stepOK {
			return res, firstErr
		}
	}
	return stepOK, firstErr
}

// conn returns the user's connection to h, making it on first use. When the flow shares
// connections it is taken from h's pool instead, and release gives it back.
func (u *user) conn(h *hostConf) *h1.Conn {
	if u.e.sc.ShareConnections {
		return h.pool.get(h.cfg)
	}
	for i := range u.conns {
		if u.conns[i].h == h {
			return u.conns[i].c
		}
	}
	c := h.cfg.NewConn()
	u.conns = append(u.conns, userConn{h: h, c: c})
	return c
}

// release ends the user's use of c, its connection to h, once the response has been read.
func (u *user) release(h *hostConf, c *h1.Conn) {
	if u.e.sc.ShareConnections {
		h.pool.put(c)
	}
}

var errBadURL = errors.New("invalid URL")

// build serialises r into u.req and returns its host and the URL for the url tag.
func (u *user) build(r *creq) (*hostConf, []byte, error) {
	h, target := r.host, []byte(nil)
	var full []byte
	if r.url == nil {
		full = r.fullURLb
	} else {
		u.scratch = r.url.appendTo(u.scratch[:0], &u.v)
		u.url = u.url[:0]
		if len(u.scratch) > 0 && u.scratch[0] == '/' {
			u.url = append(u.url, r.base...)
		}
		u.url = append(u.url, u.scratch...)
		scheme, auth, t, ok := splitURL(u.url)
		if !ok {
			return nil, u.url, fmt.Errorf("%w %q: want an absolute http:// or https:// URL or a path", errBadURL, u.url)
		}
		var err error
		if h, err = hostFor(u.e, scheme, auth); err != nil {
			return nil, u.url, fmt.Errorf("%w: %w", errBadURL, err)
		}
		target = t
		if len(target) == 0 {
			target = []byte("/")
		}
	}
	if len(r.query) > 0 {
		if r.url != nil {
			sep := byte('?')
			if bytes.IndexByte(u.url, '?') >= 0 {
				sep = '&'
			}
			u.url = appendParams(u.url, r.query, &u.v, &u.scratch, sep)
			_, _, target, _ = splitURL(u.url)
		} else {
			u.url = append(u.url[:0], r.fullURL...)
			sep := byte('?')
			if strings.IndexByte(r.fullURL, '?') >= 0 {
				sep = '&'
			}
			u.url = appendParams(u.url, r.query, &u.v, &u.scratch, sep)
			_, _, target, _ = splitURL(u.url)
		}
		full = u.url
	}
	req := &u.req
	if target == nil {
		req.Start(r.method, r.target)
	} else {
		req.Start(r.method, "")
		req.TargetBytes(target)
	}
	req.Host(h.header)
	req.Raw(r.head)
	for _, dh := range r.dynHeader {
		u.scratch = dh.value.appendTo(u.scratch[:0], &u.v)
		req.HeaderBytes(dh.name, u.scratch)
	}
	if len(u.jar.cookies) > 0 {
		path := target
		if path == nil {
			path = r.targetb
		}
		if u.scratch = u.jar.appendHeader(u.scratch[:0], h.host, path); len(u.scratch) > 0 {
			req.HeaderBytes("Cookie", u.scratch)
		}
	}
	req.DecodeGzip() // as k6: whatever the server encoded, asked for or not
	var body []byte
	switch {
	case !r.hasBody:
	case r.bodyT != nil:
		u.body = r.bodyT.appendTo(u.body[:0], &u.v)
		body = u.body
	case r.json != nil:
		u.body = r.json.appendTo(u.body[:0], &u.v, &u.scratch)
		body = u.body
	case r.form != nil:
		u.body = appendParams(u.body[:0], r.form, &u.v, &u.scratch, 0)
		body = u.body
	default:
		body = r.body
	}
	u.sent = body
	req.Finish(body)
	req.Timeout = r.timeout
	return h, full, req.Err()
}

// do sends one request, follows its redirects, and records each hop, then the final response's
// checks and captures.
func (u *user) do(r *creq) (stepResult, error) {
	resp := &u.resp
	resp.MaxBody = r.maxBody
	u.docDone, u.doc, u.docErr = false, nil, nil
	h, full, err := u.build(r)
	x := exchange{r: r, url: full, resp: resp, scen: u.scen}
	var used time.Duration // by the hops so far: k6's timeout bounds the request and its redirects
	for hops := 0; ; hops++ {
		if err == nil {
			err = u.send(h)
			if err != nil && u.ctx.Err() != nil {
				return stepCancelled, nil // cut off by the engine, not the target: not recorded
			}
		} else {
			resp.Reset()
		}
		u.record(r, &x, h, err)
		tm := &resp.Timings
		used += tm.Blocked + tm.Connecting + tm.TLSHandshaking + tm.Duration
		if err != nil || !isRedirect(resp.Status) {
			break
		}
		loc := resp.Header("Location")
		if loc == nil {
			break
		}
		if hops == r.maxRedirects {
			if !r.redirectsSet {
				u.e.logLine("warning", "stampede", fmt.Sprintf("%s: %s %s: stopped after %d redirects and returned the redirection; set maxRedirects at the top of the file or on the request to silence this",
					r.path, r.method, r.name, hops))
			}
			break
		}
		var hop *creq
		hop, h, full, err = u.redirect(r, h, full, loc, resp.Status, r.timeout-used)
		x = exchange{r: hop, url: full, resp: resp, scen: u.scen}
	}
	for i := range r.checks {
		c := &r.checks[i]
		u.e.rec.check(u.shard, u.scen, c.key, u.checkPasses(c.c, c.text, resp))
	}
	for i := range r.captures {
		c := &r.captures[i]
		v, ok := u.capture(c.c, resp, err == nil)
		if !ok {
			u.e.rec.check(u.shard, u.scen, c.check, false)
			u.lastCaptureFail = c.check.Name
			u.e.logLine("warning", "stampede", fmt.Sprintf("%s: capture %s found nothing in the response (status %d); the iteration stops here",
				r.path, c.c.Name, resp.Status))
			return stepCaptureFailed, err
		}
		u.v.caps[c.slot] = v
	}
	return stepOK, err
}

// record records one response (or failure) of r, a hop of it when x.r is not r, and keeps the
// cookies it set.
func (u *user) record(r *creq, x *exchange, h *hostConf, err error) {
	resp := x.resp
	if err != nil {
		x.failed = true
		x.errText = errorText(err)
		u.e.logLine("warning", "stampede", fmt.Sprintf("%s: %s %s: %v", r.path, x.r.method, x.r.name, err))
		resp.Status = 0
	} else {
		x.status = resp.Status
		x.failed = resp.Status < 200 || resp.Status >= 400
		if h != nil {
			u.values = resp.Values("Set-Cookie", u.values[:0])
			for _, v := range u.values {
				u.jar.set(h.host, v)
			}
		}
	}
	u.e.rec.request(u.shard, x)
}

// errorText is a request error's row in the error table: k6's text for a timeout ("request
// timeout", or "dial: i/o timeout" while connecting), else h1's message without its prefix (after
// http2's, which stays).
func errorText(err error) string {
	if h1.IsTimeout(err) {
		if errors.Is(err, h1.ErrDial) {
			return "dial: i/o timeout"
		}
		return "request timeout"
	}
	s := err.Error()
	if rest, ok := strings.CutPrefix(s, "http2: "); ok { // h1's errors, from a body read over HTTP/2
		return "http2: " + strings.TrimPrefix(rest, "h1: ")
	}
	return strings.TrimPrefix(s, "h1: ")
}

// json returns the response body decoded, once per response.
func (u *user) json(resp *h1.Response) (any, bool) {
	if !u.docDone {
		u.docDone = true
		if resp.BodyLen > int64(len(resp.Body)) {
			u.docErr = fmt.Errorf("body over %d bytes", MaxBody)
		} else {
			u.docErr = json.Unmarshal(resp.Body, &u.doc)
		}
	}
	return u.doc, u.docErr == nil
}

func (u *user) checkPasses(c *flow.Check, text []byte, resp *h1.Response) bool {
	switch c.Kind {
	case flow.CheckStatus:
		for _, s := range c.Statuses {
			if s == resp.Status {
				return true
			}
		}
		return false
	case flow.CheckDuration:
		d := resp.Timings.Duration
		switch c.Op {
		case "<":
			return d < c.Duration
		case "<=":
			return d <= c.Duration
		case ">":
			return d > c.Duration
		default:
			return d >= c.Duration
		}
	case flow.CheckContains:
		return bytes.Contains(resp.Body, text)
	case flow.CheckNotContains:
		return !bytes.Contains(resp.Body, text)
	case flow.CheckMatches:
		return c.Regexp.Match(resp.Body)
	case flow.CheckJSON:
		doc, ok := u.json(resp)
		if !ok {
			return false
		}
		got, ok := c.Path.Lookup(doc)
		return ok && jsonEqual(got, c.Want)
	}
	return false
}

// jsonEqual compares a decoded JSON value with a check's expected one; numbers as numbers.
func jsonEqual(got, want any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case float64:
		g, ok := got.(float64)
		return ok && g == w
	case bool:
		g, ok := got.(bool)
		return ok && g == w
	case string:
		g, ok := got.(string)
		return ok && g == w
	}
	return false
}

// capture returns what c finds in the response, false when it finds nothing or too much.
func (u *user) capture(c *flow.Capture, resp *h1.Response, ok bool) (string, bool) {
	if !ok {
		return "", false
	}
	var v string
	switch c.Source {
	case flow.FromJSON:
		doc, ok := u.json(resp)
		if !ok {
			return "", false
		}
		got, ok := c.Path.Lookup(doc)
		if !ok {
			return "", false
		}
		if s, isStr := got.(string); isStr {
			v = s
		} else {
			b, err := json.Marshal(got)
			if err != nil {
				return "", false
			}
			v = string(b)
		}
	case flow.FromRegex:
		in := resp.Body
		if c.In == "headers" {
			u.scratch = u.scratch[:0]
			for i := range resp.NumHeaders() {
				n, val := resp.Field(i)
				u.scratch = append(append(append(append(u.scratch, n...), ':', ' '), val...), '\n')
			}
			in = u.scratch
		}
		m := c.Regexp.FindSubmatch(in)
		if m == nil {
			return "", false
		}
		v = string(m[1])
	case flow.FromHeader:
		b := resp.Header(c.Header)
		if b == nil {
			return "", false
		}
		v = string(b)
	case flow.FromCookie:
		u.values = resp.Values("Set-Cookie", u.values[:0])
		b, ok := cookieValue(u.values, c.Cookie)
		if !ok {
			return "", false
		}
		v = string(b)
	}
	if len(v) > flow.MaxCaptureBytes {
		return "", false
	}
	return v, true
}
