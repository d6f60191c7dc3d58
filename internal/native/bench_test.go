package native

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

const staticGET = `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
headers: { Accept: application/json }
classes:
  u:
    steps:
      - get: /items?page=1
        name: items
        check: { status: 200 }
`

// rawServer answers every request head it reads with one fixed response, allocating nothing,
// so that testing.AllocsPerRun, which counts the whole process, counts the engine's only.
func rawServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello world\n")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 16<<10)
				n := 0
				for {
					if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 {
						n = copy(buf, buf[i+4:n])
						if _, err := c.Write(resp); err != nil {
							return
						}
						continue
					}
					m, err := c.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// oneUser is an engine with no flush in sight and one user of class u, driven by the caller.
func oneUser(t testing.TB, url string) (*user, *creq) {
	t.Helper()
	sc, tables := parse(t, staticGET, nil)
	return firstUser(t, Options{Scenario: sc, Data: tables, Env: map[string]string{"TARGET": url}})
}

// firstUser starts an engine with opts and returns a user of its first class, outside the
// engine's own loop, with the first request of the class, for a test to drive by hand.
func firstUser(t testing.TB, opts Options) (*user, *creq) {
	t.Helper()
	opts.FlushInterval = time.Hour
	e, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Kill()
		go func() {
			for range e.Deltas() {
			}
		}()
		<-e.Exited()
	})
	u := e.newUser(context.Background(), e.classes[0].prog, 0, 1)
	u.v.caps = u.iter
	t.Cleanup(u.close)
	return u, e.classes[0].prog.steps[0].req
}

// TestStaticGETAllocatesNothing: a static GET with a check, recorded in the stats, allocates
// nothing in the steady state (flushes, every FlushInterval, do; they are not per request).
func TestStaticGETAllocatesNothing(t *testing.T) {
	u, r := oneUser(t, rawServer(t))
	do := func() {
		if res, err := u.do(r); res != stepOK || err != nil {
			t.Fatal(res, err)
		}
	}
	for range 20 {
		do()
	}
	if a := testing.AllocsPerRun(500, do); a != 0 {
		t.Errorf("%v allocations a request, want 0", a)
	}
	if u.resp.Status != 200 {
		t.Errorf("status %d", u.resp.Status)
	}
}

// BenchmarkStaticGET is one user's static GET, recorded with its check, over loopback; both
// sides' CPU and allocations are counted. Against the raw server the allocations are the
// engine's; against httptest (net/http's server) they are mostly the server's.
func BenchmarkStaticGET(b *testing.B) {
	servers := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"raw", func(b *testing.B) string { return rawServer(b) }},
		{"httptest", func(b *testing.B) string {
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte("hello world\n"))
			}))
			b.Cleanup(s.Close)
			return s.URL
		}},
	}
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			u, r := oneUser(b, s.url(b))
			b.ReportAllocs()
			for b.Loop() {
				if res, err := u.do(r); res != stepOK || err != nil {
					b.Fatal(res, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
