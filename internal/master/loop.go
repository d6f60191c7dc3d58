package master

import (
	"context"
	"errors"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// The Coordinator's state — the worker records, the run and the script log — belongs to one
// goroutine, its loop. Nothing else reads or writes it: connection goroutines send the loop events
// (a worker joined, left, beat, sent stats, a status or a phase result, logged), callers send it
// calls (start, stop, change, snapshot), and a run's own steps execute on the loop, handling events
// while they wait (await). So a run's state never changes under a step that is looking at it, and
// there is no lock.
//
// Rules for code on the loop: it never blocks on anything but the next event (WorkerConn methods
// only queue; the Loader runs on its own goroutine and reports back with an event), and it never
// calls the Coordinator's exported methods, which would wait for the loop itself.

// Events from a worker's connection.
type (
	joined struct {
		hello protocol.Hello
		conn  WorkerConn
		reply chan<- joinReply
	}
	joinReply struct {
		welcome protocol.Welcome
		err     error
	}
	// left: the connection ended, or a message to it could not be queued (send).
	left struct {
		id   string
		conn WorkerConn
		err  error
	}
	beat struct {
		id string
		hb protocol.Heartbeat
	}
	statsArrived struct {
		id, runID string
		seq       uint64
		delta     *stats.Delta
	}
	statusChanged struct {
		id     string
		status protocol.Status
	}
	phaseDone struct {
		id     string
		result protocol.PhaseResult
	}
	// logged: script log lines; the reply is the worker's index, for Options.ScriptLog.
	logged struct {
		id    string
		lines []protocol.LogLine
		reply chan<- int
	}
)

// Events from the Coordinator's own helpers and its callers.
type (
	// prepared: the Loader finished with a run's script (prepare, on its own goroutine).
	prepared struct {
		run     *run
		bundle  *scenario.Bundle
		archive *scenario.Archive // nil for a flow
		opts    *scenario.Options
		err     error
	}
	// startRun asks for a run; the reply is its id, or why it cannot start.
	startRun struct {
		ctx   context.Context
		cfg   RunConfig
		done  func(*Result, error)
		reply chan<- startReply
	}
	startReply struct {
		id  string
		err error
	}
	// call runs fn on the loop: control and snapshots.
	call struct {
		fn   func()
		done chan struct{}
	}
)

// event is one of the types above.
type event any

// loopTick is the loop's clock: silent workers are looked for, and a running swarm is steered and
// its seconds closed, once per tick.
const loopTick = 100 * time.Millisecond

// loop is the Coordinator's goroutine. Between runs it handles events; a claimed run executes here
// from start to end (runClaimed), handling events as it waits.
func (c *Coordinator) loop() {
	defer close(c.exited)
	defer c.clock.Stop()
	for {
		if s := c.starting; s != nil {
			c.starting = nil
			c.execute(s)
			continue
		}
		if c.step(c.quit, nil) == cancelled {
			return
		}
	}
}

// wake says why step returned.
type wake int

const (
	handled   wake = iota // an event or a tick was handled
	cancelled             // ctx ended
	timedOut              // the timer fired
)

// step handles the next thing that happens: an event (posted ones first), or a tick of the clock.
// It returns without handling anything when ctx ends or timer fires.
func (c *Coordinator) step(ctx context.Context, timer <-chan time.Time) wake {
	if len(c.posted) > 0 {
		ev := c.posted[0]
		c.posted = c.posted[1:]
		c.handle(ev)
		return handled
	}
	select {
	case ev := <-c.events:
		c.handle(ev)
	case now := <-c.clock.C:
		c.tick(now)
	case <-ctx.Done():
		return cancelled
	case <-timer:
		return timedOut
	}
	return handled
}

// await handles events until cond holds (it is checked after each), ctx ends (ctx.Err()) or
// timeout passes (context.DeadlineExceeded).
func (c *Coordinator) await(ctx context.Context, timeout time.Duration, cond func() bool) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for !cond() {
		switch c.step(ctx, t.C) {
		case cancelled:
			return ctx.Err()
		case timedOut:
			return context.DeadlineExceeded
		}
	}
	return nil
}

// handle is where every event takes effect.
func (c *Coordinator) handle(ev event) {
	switch e := ev.(type) {
	case joined:
		w, err := c.join(e.hello, e.conn)
		e.reply <- joinReply{w, err}
	case left:
		c.leave(e.id, e.conn, e.err)
	case beat:
		c.heartbeat(e.id, e.hb)
	case statsArrived:
		c.merge(e)
	case statusChanged:
		c.status(e.id, e.status)
	case phaseDone:
		c.phase(e.result)
	case logged:
		e.reply <- c.logLines(e.id, e.lines)
	case prepared:
		e.run.prep = &e
	case startRun:
		id, err := c.claim(e)
		e.reply <- startReply{id, err}
	case call:
		e.fn()
		close(e.done)
	default:
		panic("master: unknown event")
	}
}

// tick is the loop's clock: workers silent for longer than WorkerTimeout are dropped (their
// connection is closed so they reconnect if they can); a run whose load runs is steered.
func (c *Coordinator) tick(now time.Time) {
	for _, w := range c.workers {
		if w.conn != nil && now.Sub(w.lastSeen) > c.opts.WorkerTimeout {
			c.disconnect(w, "no heartbeat for "+now.Sub(w.lastSeen).Round(100*time.Millisecond).String(), nil)
		}
	}
	if r := c.run; r != nil && r.driving {
		if r.mode == scenario.Swarm && r.state == Running {
			c.steerShape(r, now)
			c.dispatch(r, now)
		}
		if now.Unix() != r.closedAt {
			r.closedAt = now.Unix()
			c.closeSeconds(r, now)
		}
	}
}

// send is how the loop talks to a worker: fn queues one message on its connection. A connection
// that takes no more messages is gone: that becomes a left event, handled after the current one
// like any other, so callers need no error handling of their own.
func (c *Coordinator) send(w *workerRec, fn func(WorkerConn) error) bool {
	if w.conn == nil {
		return false
	}
	if err := fn(w.conn); err != nil {
		c.posted = append(c.posted, left{id: w.id, conn: w.conn, err: err})
		return false
	}
	return true
}

// post hands an event to the loop from another goroutine. It returns false once the loop has ended.
func (c *Coordinator) post(ev event) bool {
	select {
	case c.events <- ev:
		return true
	case <-c.exited:
		return false
	}
}

// ask hands the loop ev, whose handler answers on reply, and waits for the answer; ok is false once
// the loop has ended (an event it took but never handled has no answer).
func ask[T any](c *Coordinator, ev event, reply <-chan T) (answer T, ok bool) {
	if !c.post(ev) {
		return answer, false
	}
	select {
	case answer = <-reply:
		return answer, true
	case <-c.exited:
		return answer, false
	}
}

// do runs fn on the loop and waits for it. It returns false (fn did not run) once the loop has ended.
func (c *Coordinator) do(fn func()) bool {
	done := make(chan struct{})
	_, ok := ask(c, call{fn: fn, done: done}, done)
	return ok
}

// errShuttingDown answers a worker or a caller once the Coordinator's loop has ended (Close).
var errShuttingDown = errors.New("the master is shutting down")
