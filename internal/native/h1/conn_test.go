package h1

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFraming(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 70<<10)
	many := strings.Repeat("X-A: 1\r\n", 101)
	tests := []struct {
		name      string
		method    string
		resp      string
		maxBody   int
		wantErr   error
		status    int
		body      string
		bodyLen   int64
		wantClose bool
	}{
		{name: "content-length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", status: 200, body: "hello", bodyLen: 5},
		{name: "LF only", resp: "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", status: 200, body: "hi", bodyLen: 2},
		{name: "no reason phrase", resp: "HTTP/1.1 201\r\nContent-Length: 0\r\n\r\n", status: 201},
		{name: "body over MaxBody counted", resp: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", maxBody: 4, status: 200, body: "0123", bodyLen: 10},
		{name: "chunked with extensions and trailers",
			resp:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;name=val\r\nhello\r\n1 ; x\r\n!\r\nA\r\n0123456789\r\n0;last\r\nX-Trailer: a\r\nX-Other: b\r\n\r\n",
			status: 200, body: "hello!0123456789", bodyLen: 16},
		{name: "chunked ignores Content-Length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", status: 200, body: "ok", bodyLen: 2},
		{name: "close-delimited", resp: "HTTP/1.1 200 OK\r\n\r\nuntil the end", status: 200, body: "until the end", bodyLen: 13, wantClose: true},
		{name: "HTTP/1.0 without keep-alive", resp: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", status: 200, body: "hi", bodyLen: 2, wantClose: true},
		{name: "Connection: close", resp: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi", status: 200, body: "hi", bodyLen: 2, wantClose: true},
		{name: "HEAD has no body", method: "HEAD", resp: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", status: 200},
		{name: "204 has no body", resp: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", status: 204},
		{name: "304 has no body", resp: "HTTP/1.1 304 Not Modified\r\n\r\n", status: 304},
		{name: "1xx skipped", resp: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", status: 200, body: "hi", bodyLen: 2},
		{name: "too many 1xx", resp: strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 6), wantErr: ErrMalformed},
		{name: "101", resp: "HTTP/1.1 101 Switching Protocols\r\n\r\n", wantErr: ErrMalformed},
		{name: "header block too large", resp: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Long: "+strings.Repeat("a", 1000)+"\r\n", 70) + "\r\n", wantErr: ErrHeaderTooLarge},
		{name: "line too long", resp: "HTTP/1.1 200 OK\r\nX-Big: " + big + "\r\n\r\n", wantErr: ErrLineTooLong},
		{name: "too many headers", resp: "HTTP/1.1 200 OK\r\n" + many + "\r\n", wantErr: ErrTooManyHeaders},
		{name: "truncated body", resp: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", wantErr: ErrTruncated},
		{name: "truncated chunked body", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", wantErr: ErrTruncated},
		{name: "truncated head", resp: "HTTP/1.1 200 OK\r\nContent-Le", wantErr: ErrTruncated},
		{name: "chunk longer than its size", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n", wantErr: ErrMalformed},
		{name: "bad chunk size", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", wantErr: ErrMalformed},
		{name: "huge chunk size", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", wantErr: ErrMalformed},
		{name: "bad status line", resp: "HTTP/2 200 OK\r\n\r\n", wantErr: ErrMalformed},
		{name: "conflicting lengths", resp: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", wantErr: ErrMalformed},
		{name: "bad length", resp: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", wantErr: ErrMalformed},
		{name: "obsolete folding", resp: "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n", wantErr: ErrMalformed},
		{name: "space before colon", resp: "HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n", wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRawServer(t, replies(false, tc.resp))
			c := newConn(t, Options{Addr: srv.addr()})
			method := tc.method
			if method == "" {
				method = "GET"
			}
			var req Request
			req.Start(method, "/")
			req.Host("test")
			req.Finish(nil)
			resp := Response{MaxBody: 1 << 20}
			if tc.maxBody > 0 {
				resp.MaxBody = tc.maxBody
			}
			err := c.Do(ctxT(t), &req, &resp)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Do = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if resp.Status != tc.status || string(resp.Body) != tc.body || resp.BodyLen != tc.bodyLen || resp.Close != tc.wantClose {
				t.Errorf("got status %d body %q len %d close %v, want %d %q %d %v",
					resp.Status, resp.Body, resp.BodyLen, resp.Close, tc.status, tc.body, tc.bodyLen, tc.wantClose)
			}
			if resp.BytesReceived != int64(len(tc.resp)) {
				t.Errorf("BytesReceived = %d, want %d", resp.BytesReceived, len(tc.resp))
			}
			if resp.BytesSent != int64(len(req.Bytes())) {
				t.Errorf("BytesSent = %d, want %d", resp.BytesSent, len(req.Bytes()))
			}
		})
	}
}

// TestKeepAlive sends N requests, some with a body to skip, over one
// connection, and then shows a HEAD and a 204 leave it usable too.
func TestKeepAlive(t *testing.T) {
	t.Parallel()
	var news atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/chunked":
			_, _ = io.WriteString(w, "part one ")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "part two")
		default:
			_, _ = io.WriteString(w, "hello "+r.URL.RawQuery)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			news.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := newConn(t, Options{Addr: srv.Listener.Addr().String(), RequestTimeout: 5 * time.Second})
	var req Request
	resp := Response{MaxBody: 100}
	const n = 20
	for i := range n {
		req.Start("GET", "/?i=")
		req.Target(string(rune('a' + i)))
		req.Host("test")
		req.Finish(nil)
		if err := c.Do(ctxT(t), &req, &resp); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if want := "hello i=" + string(rune('a'+i)); string(resp.Body) != want {
			t.Fatalf("request %d: body %q, want %q", i, resp.Body, want)
		}
		if resp.Timings.Duration <= 0 || resp.Timings.Waiting <= 0 {
			t.Fatalf("request %d: timings %+v", i, resp.Timings)
		}
	}
	for _, tc := range []struct{ method, path, body string }{{"HEAD", "/", ""}, {"GET", "/empty", ""}, {"GET", "/chunked", "part one part two"}, {"GET", "/", "hello "}} {
		req.Start(tc.method, tc.path)
		req.Host("test")
		req.Finish(nil)
		if err := c.Do(ctxT(t), &req, &resp); err != nil || string(resp.Body) != tc.body {
			t.Fatalf("%s %s: %v, body %q, want %q", tc.method, tc.path, err, resp.Body, tc.body)
		}
	}
	if got := news.Load(); got != 1 {
		t.Errorf("%d connections for %d requests, want 1", got, n+4)
	}
}

// TestReconnect covers a server that closes the connection, with or
// without saying so.
func TestReconnect(t *testing.T) {
	t.Parallel()
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	tests := []struct {
		name        string
		resp        string
		method      string
		wantRetried bool
		wantErr     bool
	}{
		{name: "silent close, GET retried", resp: ok, method: "GET", wantRetried: true},
		{name: "silent close, POST not retried", resp: ok, method: "POST", wantErr: true},
		{name: "Connection: close, POST", resp: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", method: "POST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newRawServer(t, replies(false, tc.resp)) // one response a connection
			c := newConn(t, Options{Addr: srv.addr()})
			var req Request
			req.Start(tc.method, "/")
			req.Host("test")
			req.Finish(nil)
			var resp Response
			if err := c.Do(ctxT(t), &req, &resp); err != nil {
				t.Fatal(err)
			}
			err := c.Do(ctxT(t), &req, &resp)
			if tc.wantErr {
				if err == nil {
					t.Fatal("second Do succeeded on a connection the server closed")
				}
				return
			}
			if err != nil || resp.Status != 200 || resp.Retried != tc.wantRetried {
				t.Fatalf("second Do: %v, status %d, retried %v", err, resp.Status, resp.Retried)
			}
			if got := srv.accepts.Load(); got != 2 {
				t.Errorf("%d connections, want 2", got)
			}
		})
	}
}

func TestGzip(t *testing.T) {
	t.Parallel()
	const text = "a body that compresses, a body that compresses, a body that compresses"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = io.WriteString(zw, text)
		_ = zw.Close()
	}))
	t.Cleanup(srv.Close)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = io.WriteString(zw, text)
	_ = zw.Close()
	tests := []struct {
		name    string
		accept  bool
		decode  bool // DecodeGzip: the Accept-Encoding header is the caller's
		maxBody int
		want    string
		wantLen int
	}{
		{name: "decoded", accept: true, maxBody: 1000, want: text, wantLen: len(text)},
		{name: "decoded, not asked for", decode: true, maxBody: 1000, want: text, wantLen: len(text)},
		{name: "decoded, capped", accept: true, maxBody: 6, want: text[:6], wantLen: len(text)},
		{name: "decoded, discarded", accept: true, wantLen: len(text)},
		{name: "not asked for: raw", maxBody: 1000, want: zipped.String(), wantLen: zipped.Len()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newConn(t, Options{Addr: srv.Listener.Addr().String()})
			var req Request
			req.Start("GET", "/")
			req.Host("test")
			if tc.accept {
				req.AcceptGzip()
			}
			if tc.decode {
				req.DecodeGzip()
			}
			req.Finish(nil)
			if got := bytes.Contains(req.Bytes(), []byte("Accept-Encoding")); got != tc.accept {
				t.Errorf("Accept-Encoding sent: %v, want %v", got, tc.accept)
			}
			resp := Response{MaxBody: tc.maxBody}
			for i := range 2 { // the second one reuses the pooled gzip reader
				if err := c.Do(ctxT(t), &req, &resp); err != nil {
					t.Fatal(err)
				}
				if string(resp.Body) != tc.want || resp.BodyLen != int64(tc.wantLen) || resp.Decoded != (tc.accept || tc.decode) {
					t.Fatalf("try %d: body %q len %d decoded %v", i, resp.Body, resp.BodyLen, resp.Decoded)
				}
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	srv := newRawServer(t, replies(true, "HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nContent-Type:  text/plain \r\nSET-COOKIE: b=2; Path=/\r\nContent-Length: 0\r\n\r\n"))
	c := newConn(t, Options{Addr: srv.addr()})
	var resp Response
	if err := c.Do(ctxT(t), get("/"), &resp); err != nil {
		t.Fatal(err)
	}
	if got := string(resp.Header("content-TYPE")); got != "text/plain" {
		t.Errorf("Content-Type %q", got)
	}
	if resp.Header("X-None") != nil {
		t.Error("absent header not nil")
	}
	var got []string
	for _, v := range resp.Values("Set-Cookie", nil) {
		got = append(got, string(v))
	}
	if strings.Join(got, "|") != "a=1|b=2; Path=/" {
		t.Errorf("Set-Cookie values %q", got)
	}
	if n, _ := resp.Field(resp.NumHeaders() - 1); string(n) != "Content-Length" {
		t.Errorf("last field %q", n)
	}
}

func TestRequestBuild(t *testing.T) {
	t.Parallel()
	static, err := AppendHeader(nil, "User-Agent", "stampede")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		build   func(r *Request)
		want    string
		wantErr bool
	}{
		{name: "GET", build: func(r *Request) { r.Start("GET", "/a?b=c"); r.Host("h:8080"); r.Raw(static); r.Finish(nil) },
			want: "GET /a?b=c HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: stampede\r\n\r\n"},
		{name: "POST with body", build: func(r *Request) {
			r.Start("POST", "/x")
			r.Host("h")
			r.Header("Content-Type", "application/json")
			r.Finish([]byte(`{}`))
		}, want: "POST /x HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"},
		{name: "POST without body", build: func(r *Request) { r.Start("POST", "/"); r.Host("h"); r.Finish(nil) },
			want: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"},
		{name: "CRLF in value", build: func(r *Request) { r.Start("GET", "/"); r.Host("h"); r.Header("X", "a\r\nB: c"); r.Finish(nil) }, wantErr: true},
		{name: "space in target", build: func(r *Request) { r.Start("GET", "/a b"); r.Host("h"); r.Finish(nil) }, wantErr: true},
		{name: "bad method", build: func(r *Request) { r.Start("G T", "/"); r.Host("h"); r.Finish(nil) }, wantErr: true},
		{name: "not finished", build: func(r *Request) { r.Start("GET", "/"); r.Host("h") }, wantErr: true},
		{name: "header before Host", build: func(r *Request) { r.Start("GET", "/"); r.Header("X", "1"); r.Host("h"); r.Finish(nil) }, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var r Request
			tc.build(&r)
			if err := r.Err(); (err != nil) != tc.wantErr {
				t.Fatalf("Err() = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && string(r.Bytes()) != tc.want {
				t.Errorf("got %q, want %q", r.Bytes(), tc.want)
			}
			if tc.wantErr {
				c := newConn(t, Options{Addr: "127.0.0.1:1"})
				if err := c.Do(context.Background(), &r, &Response{}); !errors.Is(err, ErrRequest) {
					t.Errorf("Do = %v, want ErrRequest", err)
				}
			}
		})
	}
}

// TestSlowloris: a server that trickles its head never finishes within the
// request timeout.
func TestSlowloris(t *testing.T) {
	t.Parallel()
	srv := newRawServer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		pending := 0
		if !readRequest(c, buf, &pending) {
			return
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n")
		for range tick.C {
			if _, err := io.WriteString(c, "X"); err != nil {
				return
			}
		}
	})
	c := newConn(t, Options{Addr: srv.addr(), RequestTimeout: 200 * time.Millisecond})
	err := c.Do(ctxT(t), get("/"), &Response{})
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Do = %v, want a deadline error", err)
	}
}

// TestCancel stops a request the server never answers; the server must see
// the connection closed.
func TestCancel(t *testing.T) {
	t.Parallel()
	got := make(chan struct{})
	closed := make(chan struct{})
	var conns atomic.Int64
	srv := newRawServer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		pending := 0
		if !readRequest(c, buf, &pending) || conns.Add(1) > 1 {
			return // later connections: closed unanswered
		}
		close(got)
		_, _ = c.Read(buf) // until the client closes
		close(closed)
	})
	c := newConn(t, Options{Addr: srv.addr()})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Do(ctx, get("/"), &Response{}) }()
	<-got
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Do = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Do did not return after cancel")
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the server never saw the connection close")
	}
	// A new context gets a new connection.
	if err := c.Do(ctxT(t), get("/"), &Response{}); err == nil {
		t.Fatal("server answers nothing, yet Do succeeded")
	}
	if n := srv.accepts.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}))
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	tests := []struct {
		name    string
		opts    TLSOptions
		wantErr bool
	}{
		{name: "test CA", opts: TLSOptions{CAPEM: ca, ServerName: "example.com"}},
		{name: "system roots only", opts: TLSOptions{ServerName: "example.com"}, wantErr: true},
		{name: "insecure", opts: TLSOptions{InsecureSkipVerify: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := TLSConfig(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			c := newConn(t, Options{Addr: srv.Listener.Addr().String(), TLS: cfg})
			resp := Response{MaxBody: 100}
			err = c.Do(ctxT(t), get("/"), &resp)
			if tc.wantErr {
				var cv *tls.CertificateVerificationError
				if !errors.As(err, &cv) {
					t.Fatalf("Do = %v, want a verification error", err)
				}
				return
			}
			if err != nil || string(resp.Body) != "HTTP/1.1" {
				t.Fatalf("Do = %v, body %q", err, resp.Body)
			}
			if resp.Timings.TLSHandshaking <= 0 || resp.Timings.Connecting <= 0 {
				t.Errorf("timings %+v", resp.Timings)
			}
			if err := c.Do(ctxT(t), get("/"), &resp); err != nil || resp.Timings.TLSHandshaking != 0 {
				t.Fatalf("second Do = %v, timings %+v", err, resp.Timings)
			}
		})
	}
}

func TestDialHook(t *testing.T) {
	t.Parallel()
	denied := errors.New("host not allowed")
	c := newConn(t, Options{Addr: "example.invalid:80", Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, denied
	}})
	if err := c.Do(ctxT(t), get("/"), &Response{}); !errors.Is(err, denied) {
		t.Fatalf("Do = %v, want the dial hook's error", err)
	}
}

// TestUnwatch: a Conn handed from one goroutine to another between requests (shared
// connections) is not closed when the first one's context ends, and keeps its connection; without
// Unwatch, it is.
func TestUnwatch(t *testing.T) {
	t.Parallel()
	for _, unwatch := range []bool{true, false} {
		var news atomic.Int64
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "ok")
		}))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				news.Add(1)
			}
		}
		srv.Start()
		c := newConn(t, Options{Addr: srv.Listener.Addr().String()})
		first, cancel := context.WithCancel(context.Background())
		if err := c.Do(first, get("/"), &Response{}); err != nil {
			t.Fatal(err)
		}
		if unwatch {
			c.Unwatch()
		}
		cancel() // the first user ends after its request
		if unwatch {
			// Give a callback that Unwatch failed to stop the time to close the connection (a
			// slow machine can only hide a failure here, never cause one).
			time.Sleep(50 * time.Millisecond)
		} else {
			// The callback runs in its own goroutine: wait until it has closed the connection.
			waitUntil(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.killed })
		}
		if err := c.Do(ctxT(t), get("/"), &Response{}); err != nil {
			t.Fatalf("unwatch %v: second request: %v", unwatch, err)
		}
		want := int64(1)
		if !unwatch {
			want = 2
		}
		if got := news.Load(); got != want {
			t.Errorf("unwatch %v: %d connections, want %d", unwatch, got, want)
		}
		srv.Close()
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		time.Sleep(time.Millisecond)
	}
}

// TestGzipBomb: a small gzip body that decodes to far more than
// MaxDecodedBytes is an error once the cap is passed, not a body decoded to
// the end; the connection is not kept.
func TestGzipBomb(t *testing.T) {
	t.Parallel()
	var zipped bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zipped, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 64<<20)) // 64 MiB of zeros: about 64 KiB zipped
	_ = zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(zipped.Bytes())
	}))
	t.Cleanup(srv.Close)
	const max = 1 << 20
	c := newConn(t, Options{Addr: srv.Listener.Addr().String(), MaxDecodedBytes: max})
	var req Request
	req.Start("GET", "/")
	req.Host("test")
	req.AcceptGzip()
	req.Finish(nil)
	resp := Response{MaxBody: 100}
	err := c.Do(ctxT(t), &req, &resp)
	if !errors.Is(err, ErrDecodedTooLarge) {
		t.Fatalf("Do = %v, want ErrDecodedTooLarge", err)
	}
	if resp.BodyLen <= max || resp.BodyLen > max+8<<10 {
		t.Errorf("decoded %d bytes before stopping, want just over %d", resp.BodyLen, max)
	}
	if c.nc != nil {
		t.Error("the connection was kept after a body left half read")
	}
}

// TestTimeoutCoversConnect: the request's timeout bounds the TLS handshake
// too (k6's timeout is the whole request), with no ConnectTimeout set: a
// server that accepts and then says nothing makes Do fail at the deadline.
func TestTimeoutCoversConnect(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 4)
	t.Cleanup(func() {
		_ = ln.Close()
		for len(held) > 0 {
			_ = (<-held).Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c // held open, silent
		}
	}()
	tlsConf, _ := TLSConfig(TLSOptions{})
	c := newConn(t, Options{Addr: ln.Addr().String(), TLS: tlsConf})
	req := get("/")
	req.Timeout = 200 * time.Millisecond
	var resp Response
	err = c.Do(ctxT(t), req, &resp)
	if !IsTimeout(err) || !errors.Is(err, ErrHandshake) {
		t.Fatalf("Do = %v, want a timeout in the TLS handshake", err)
	}
	if resp.Timings.TLSHandshaking < req.Timeout/2 {
		t.Errorf("TLS handshaking %v, want about the timeout %v", resp.Timings.TLSHandshaking, req.Timeout)
	}
}
