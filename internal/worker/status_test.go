package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/scenario"
)

// oneSession is a Dialer whose first Dial succeeds and every later one fails.
type oneSession struct {
	once sync.Once
	sess *fakeSession
}

func (d *oneSession) Dial(context.Context, protocol.Hello) (Session, protocol.Welcome, error) {
	var s Session
	d.once.Do(func() { s = d.sess })
	if s == nil {
		return nil, protocol.Welcome{}, errors.New("no master")
	}
	return s, protocol.Welcome{Index: 4}, nil
}

// fakeSession hands the worker the commands a test sends on cmds until it is ended.
type fakeSession struct {
	cmds chan protocol.Command
	end  chan struct{}
	once sync.Once
}

func (s *fakeSession) Send(protocol.Event) error { return nil }

func (s *fakeSession) Recv() (protocol.Command, error) {
	select {
	case c := <-s.cmds:
		return c, nil
	case <-s.end:
		return nil, errors.New("session ended")
	}
}

func (s *fakeSession) Close() error {
	s.once.Do(func() { close(s.end) })
	return nil
}

// waitSnapshot fails the test unless cond holds for a Snapshot within 10 s, and returns that Snapshot.
func waitSnapshot(t *testing.T, w *Worker, what string, cond func(Snapshot) bool) Snapshot {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		s := w.Snapshot()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last snapshot %+v", what, s)
		}
		<-tick.C
	}
}

func TestSnapshot(t *testing.T) {
	t.Parallel()
	w, err := New(Options{Host: "h", Version: "v1", Exe: "/nonexistent/k6", Dir: t.TempDir(),
		ReconnectMin: 5 * time.Millisecond, ReconnectMax: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	before := w.Snapshot()
	if before.Connected || !before.LastLoop.IsZero() || before.State != protocol.Idle || before.Index != -1 || before.ID != w.ID() {
		t.Errorf("before Run: %+v, want idle, not connected, no loop yet, index -1, id %s", before, w.ID())
	}

	sess := &fakeSession{cmds: make(chan protocol.Command), end: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, &oneSession{sess: sess}) }()

	s := waitSnapshot(t, w, "the session", func(s Snapshot) bool { return s.Connected })
	if s.Index != 4 || s.Sessions != 1 || s.Runs != 0 || s.LastLoop.IsZero() || s.Version != "v1" {
		t.Errorf("connected: %+v, want index 4, 1 session, no run, a loop time, version v1", s)
	}
	// An assignment without a script fails at once: the run is counted and its state reported.
	sess.cmds <- protocol.Assign{Part: scenario.Part{RunID: "r1", Mode: scenario.Swarm}}
	s = waitSnapshot(t, w, "the failed run", func(s Snapshot) bool { return s.State == protocol.Failed })
	if s.Runs != 1 || !s.Connected {
		t.Errorf("after a failed run: %+v, want 1 run, still connected", s)
	}

	_ = sess.Close() // the master goes away; later dials fail
	first := s.LastLoop
	s = waitSnapshot(t, w, "the loop to go on while reconnecting", func(s Snapshot) bool {
		return !s.Connected && s.LastLoop.After(first)
	})
	if s.Sessions != 1 || s.State != protocol.Idle {
		t.Errorf("disconnected: %+v, want 1 session, idle (the run was abandoned with the session)", s)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
