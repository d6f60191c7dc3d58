package h1

import (
	"bytes"
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// rawServer accepts connections on loopback and runs serve on each; it
// counts accepts.
type rawServer struct {
	ln      net.Listener
	accepts atomic.Int64
}

func newRawServer(t testing.TB, serve func(c net.Conn)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepts.Add(1)
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return s
}

func (s *rawServer) addr() string { return s.ln.Addr().String() }

// readRequest reads one request head (and no body) into buf; false at EOF.
// It allocates nothing, for the allocation tests.
func readRequest(c net.Conn, buf []byte, pending *int) bool {
	for {
		if i := bytes.Index(buf[:*pending], []byte("\r\n\r\n")); i >= 0 {
			n := copy(buf, buf[i+4:*pending])
			*pending = n
			return true
		}
		if *pending == len(buf) {
			return false
		}
		n, err := c.Read(buf[*pending:])
		*pending += n
		if err != nil && n == 0 {
			return false
		}
	}
}

// replies answers every request on a connection with the next of resps,
// then closes (or, with keep, answers the last one forever).
func replies(keep bool, resps ...string) func(net.Conn) {
	bs := make([][]byte, len(resps))
	for i, r := range resps {
		bs[i] = []byte(r) // io.WriteString would allocate a copy each time
	}
	return func(c net.Conn) {
		buf := make([]byte, 8<<10)
		pending := 0
		for i := 0; ; i++ {
			if !readRequest(c, buf, &pending) {
				return
			}
			if _, err := c.Write(bs[min(i, len(bs)-1)]); err != nil {
				return
			}
			if i == len(resps)-1 && !keep {
				return
			}
		}
	}
}

func newConn(t testing.TB, o Options) *Conn {
	t.Helper()
	cfg, err := NewConfig(o)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.NewConn()
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func get(target string) *Request {
	var r Request
	r.Start("GET", target)
	r.Host("test")
	r.Finish(nil)
	return &r
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
