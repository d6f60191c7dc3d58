package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
)

// laneSession is a session whose stats lane is stuck until unblock is closed (a backlog the master has
// not read), while heartbeats always go through; it records what was sent.
type laneSession struct {
	fakeSession
	unblock chan struct{}

	mu     sync.Mutex
	beats  int
	stats  []uint64 // sequence numbers, in the order sent
	closed bool
}

func (s *laneSession) Send(ev protocol.Event) error {
	switch e := ev.(type) {
	case protocol.Heartbeat:
		s.mu.Lock()
		s.beats++
		s.mu.Unlock()
	case protocol.Stats:
		select {
		case <-s.unblock:
		case <-s.end:
			return errors.New("session ended")
		}
		s.mu.Lock()
		s.stats = append(s.stats, e.Seq)
		s.mu.Unlock()
	}
	return nil
}

func (s *laneSession) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.fakeSession.Close()
}

func (s *laneSession) sent() (beats int, seqs []uint64, closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.beats, append([]uint64(nil), s.stats...), s.closed
}

type laneDialer struct{ sess *laneSession }

func (d laneDialer) Dial(context.Context, protocol.Hello) (Session, protocol.Welcome, error) {
	return d.sess, protocol.Welcome{Index: 0, Heartbeat: 20 * time.Millisecond}, nil
}

func newLaneWorker(t *testing.T) (*Worker, *laneSession) {
	t.Helper()
	w, err := New(Options{Host: "h", Exe: "/nonexistent/k6", Dir: t.TempDir(), MasterTimeout: time.Minute,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return w, &laneSession{fakeSession: fakeSession{cmds: make(chan protocol.Command), end: make(chan struct{})}, unblock: make(chan struct{})}
}

// A stats send that waits for room must not hold heartbeats back: the master would drop a busy worker.
func TestHeartbeatsDoNotQueueBehindStats(t *testing.T) {
	t.Parallel()
	w, sess := newLaneWorker(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, laneDialer{sess}) }()
	waitSnapshot(t, w, "the session", func(s Snapshot) bool { return s.Connected })

	go w.sendStats("r1", protocol.Stats{Delta: &stats.Delta{}}) // blocks on the stuck lane, holding the send order
	waitSnapshot(t, w, "the delta in the outbox", func(s Snapshot) bool { return s.PendingStats == 1 })
	beats, _, _ := sess.sent()
	deadline := time.Now().Add(10 * time.Second)
	for now, _, _ := sess.sent(); now < beats+5; now, _, _ = sess.sent() {
		if time.Now().After(deadline) {
			t.Fatalf("%d heartbeats in 10 s behind a stuck stats send, want 5 (one every 20 ms)", now-beats)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(sess.unblock)
	sess.cmds <- protocol.MasterHeartbeat{AckStatsSeq: 1}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// A worker told to stop (SIGTERM) sends what the master has not acknowledged and waits for the ack
// before it closes the session.
func TestStopFlushesBeforeClosing(t *testing.T) {
	t.Parallel()
	w, sess := newLaneWorker(t)
	close(sess.unblock)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, laneDialer{sess}) }()
	waitSnapshot(t, w, "the session", func(s Snapshot) bool { return s.Connected })
	w.sendStats("r1", protocol.Stats{Delta: &stats.Delta{}})
	w.sendStats("r1", protocol.Stats{Delta: &stats.Delta{}})

	cancel()
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) before the master acknowledged the last deltas", err)
	case <-time.After(100 * time.Millisecond): // a bounded look for a wrong early return, not a sync point
	}
	if _, seqs, closed := sess.sent(); closed || len(seqs) != 2 {
		t.Fatalf("stopping: sent %v, closed %v; want both deltas sent, the session open", seqs, closed)
	}
	sess.cmds <- protocol.MasterHeartbeat{AckStatsSeq: 2}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return once the master acknowledged everything")
	}
	if _, _, closed := sess.sent(); !closed {
		t.Error("the session was left open")
	}
}
