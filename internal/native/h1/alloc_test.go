package h1

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestZeroAllocs: in the steady state a request on a reused Conn allocates
// nothing, whether its body is discarded, kept in a reused buffer or
// gzip-decoded (through pooled readers; other codings allocate). The
// server is a raw loop that allocates nothing either: AllocsPerRun counts
// the whole process.
func TestZeroAllocs(t *testing.T) {
	json := `{"count":2,"items":[{"id":1,"name":"item-01"},{"id":2,"name":"item-02"}]}`
	gzipped := string(encode(t, []byte(json), "gzip"))
	tests := []struct {
		name    string
		resp    string
		maxBody int
		gzip    bool
		timeout time.Duration
	}{
		{name: "GET, body discarded", resp: "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 12\r\n\r\nhello world\n"},
		{name: "small JSON kept", resp: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + itoa(len(json)) + "\r\n\r\n" + json, maxBody: 4096},
		{name: "chunked, request timeout", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", timeout: time.Second},
		{name: "gzip decoded", resp: "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + itoa(len(gzipped)) + "\r\n\r\n" + gzipped, maxBody: 4096, gzip: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Not parallel: other tests' allocations would be counted.
			if tc.gzip && raceEnabled {
				t.Skip("the race detector drops pooled gzip readers at random")
			}
			srv := newRawServer(t, replies(true, tc.resp))
			c := newConn(t, Options{Addr: srv.addr(), RequestTimeout: tc.timeout})
			var req Request
			static, _ := AppendHeader(nil, "User-Agent", "stampede")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			resp := Response{MaxBody: tc.maxBody}
			var ids = [...]string{"1", "2", "3"}
			i := 0
			do := func() {
				// Rebuilt every time, as the engine does with a dynamic part.
				req.Start("GET", "/items/")
				req.Target(ids[i%len(ids)])
				req.Host("127.0.0.1")
				req.Raw(static)
				if tc.gzip {
					req.DecodeGzip()
				}
				req.Finish(nil)
				i++
				if err := c.Do(ctx, &req, &resp); err != nil {
					t.Fatal(err)
				}
			}
			for range 10 {
				do()
			}
			if a := testing.AllocsPerRun(200, do); a != 0 {
				t.Errorf("%v allocations a request, want 0", a)
			}
			if tc.gzip {
				if string(resp.Body) != json || !resp.Decoded {
					t.Errorf("body %q decoded %v, want the JSON decoded", resp.Body, resp.Decoded)
				}
			} else if tc.maxBody > 0 && !strings.HasSuffix(tc.resp, string(resp.Body)) {
				t.Errorf("body %q", resp.Body)
			}
			if n := srv.accepts.Load(); n != 1 {
				t.Errorf("%d connections, want 1", n)
			}
		})
	}
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

// BenchmarkDo is one GET over loopback against a raw server in the same
// process (both sides' CPU is counted).
func BenchmarkDo(b *testing.B) {
	srv := newRawServer(b, replies(true, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n"))
	c := newConn(b, Options{Addr: srv.addr()})
	req := get("/")
	var resp Response
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Do(ctx, req, &resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseHead is the head parser alone on a typical response.
func BenchmarkParseHead(b *testing.B) {
	head := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Sun, 06 Dec 2026 15:59:46 GMT\r\nContent-Length: 312\r\n\r\n")
	var r Response
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.parseHead(head, 100); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClock compares the clocks Do could read four times a request.
func BenchmarkClock(b *testing.B) {
	b.Run("time.Now", func(b *testing.B) {
		var t time.Time
		for b.Loop() {
			t = time.Now()
		}
		_ = t
	})
	b.Run("time.Since", func(b *testing.B) {
		start := time.Now()
		var d time.Duration
		for b.Loop() {
			d = time.Since(start)
		}
		_ = d
	})
	b.Run("h1.nanotime", func(b *testing.B) {
		var n int64
		for b.Loop() {
			n = nanotime()
		}
		_ = n
	})
}
