package rpc

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		want    int
		fdLimit uint64
		got     int
	}{
		{"plenty of descriptors", 5000, 1 << 20, 5000},
		{"a typical container", 5000, 20000, 5000},
		{"a 4096 limit keeps a quarter", 5000, 4096, 3072},
		{"a 1024 limit keeps 256", 5000, 1024, 768},
		{"under the limit anyway", 10, 1024, 10},
		{"a tiny limit keeps half", 5000, 100, 50},
		{"never zero", 5000, 1, 1},
		{"unknown", 5000, 0, 5000},
		{"unlimited", 5000, 1 << 62, 5000},
	} {
		if got := ConnectionLimit(c.want, c.fdLimit); got != c.got {
			t.Errorf("%s: ConnectionLimit(%d, %d) = %d, want %d", c.name, c.want, c.fdLimit, got, c.got)
		}
	}
}

// countingListener records the most connections it had open at once.
type countingListener struct {
	net.Listener
	mu        sync.Mutex
	open, max int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open++
	l.max = max(l.max, l.open)
	return &countedConn{Conn: c, l: l}, nil
}

func (l *countingListener) peak() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.max
}

type countedConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// TestIdleConnectionsCannotHoldTheWorkerPort: a flood of connections that never speak, more than
// the limit, holds at most the limit open at once; each is closed after the handshake timeout, so a
// real worker that dials behind them still gets in.
func TestIdleConnectionsCannotHoldTheWorkerPort(t *testing.T) {
	t.Parallel()
	const limit, flood = 3, 12
	counted := &countingListener{}
	c := newClusterServing(t, []ServerOption{WithHandshakeTimeout(200 * time.Millisecond)}, func(l net.Listener) net.Listener {
		counted.Listener = l
		return LimitListener(counted, limit)
	})
	var idle []net.Conn
	for range flood {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		idle = append(idle, conn)
	}
	c.startWorker(t, "real", fakeConfig{}, 0)
	eventually(t, 15*time.Second, "the real worker to join behind the flood", func() bool { return len(c.core.Workers()) == 1 })

	for i, conn := range idle {
		// The master may have sent its HTTP/2 settings before it gave up on the connection.
		_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		if _, err := io.Copy(io.Discard, conn); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("idle connection %d is still open", i)
		}
	}
	if p := counted.peak(); p > limit {
		t.Fatalf("%d connections open at once, over the limit of %d", p, limit)
	}
}
