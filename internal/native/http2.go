package native

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stampede-load/stampede/internal/native/h1"
)

// h2user is one user's net/http transports, for a flow with http2: true. Each user has its own,
// as each k6 VU has, so users do not share connections: HTTP/2 over TLS (ALPN, falling back to
// HTTP/1.1 when the server does not offer h2) and HTTP/2 without TLS (h2c, prior knowledge).
// Both dial through the engine's dial hook. This path allocates per request and costs more CPU
// than h1's; the h1 fast path does not go through it.
type h2user struct {
	tls, clear *http.Transport
	sent, recv atomic.Int64 // bytes on the wire, both ways, of every connection of the user
	scratch    []byte
}

func (u *user) h2Transports() *h2user {
	if u.h2 != nil {
		return u.h2
	}
	h := &h2user{scratch: make([]byte, 16<<10)}
	dial := u.e.opts.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	counted := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, h: h}, nil
	}
	tc := u.e.tls.Clone()
	tc.NextProtos = []string{"h2", "http/1.1"}
	h.tls = &http.Transport{DialContext: counted, TLSClientConfig: tc, ForceAttemptHTTP2: true,
		DisableCompression: true, MaxIdleConnsPerHost: 1, Protocols: new(http.Protocols)}
	h.tls.Protocols.SetHTTP1(true)
	h.tls.Protocols.SetHTTP2(true)
	h.clear = &http.Transport{DialContext: counted, DisableCompression: true, MaxIdleConnsPerHost: 1,
		Protocols: new(http.Protocols)}
	h.clear.Protocols.SetUnencryptedHTTP2(true)
	u.h2 = h
	return h
}

func (h *h2user) close() {
	h.tls.CloseIdleConnections()
	h.clear.CloseIdleConnections()
}

type countingConn struct {
	net.Conn
	h *h2user
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.h.recv.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.h.sent.Add(int64(n))
	return n, err
}

// sendH2 sends u.req, built for HTTP/1.1, through net/http and fills u.resp as h1 would: the
// status, the headers, the body up to MaxBody (decoded as h1 decodes it, within
// h1.DefaultMaxDecoded), the bytes on the wire and k6's timings as far as httptrace gives them.
func (u *user) sendH2(h *hostConf) error {
	hu := u.h2Transports()
	resp := &u.resp
	resp.Reset()
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(u.req.Bytes())))
	if err != nil {
		return fmt.Errorf("http2: %w", err)
	}
	scheme, _, _ := strings.Cut(h.key, "://")
	req.URL.Scheme, req.URL.Host, req.RequestURI = scheme, h.header, ""
	tr := hu.clear
	if scheme == "https" {
		tr = hu.tls
	}
	ctx := u.ctx
	if u.req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, u.req.Timeout)
		defer cancel()
	}
	var t traceTimes
	t.start = time.Now()
	ctx = httptrace.WithClientTrace(ctx, t.trace())
	sent0, recv0 := hu.sent.Load(), hu.recv.Load()
	res, err := tr.RoundTrip(req.WithContext(ctx))
	if err == nil {
		resp.Major, resp.Minor = res.ProtoMajor, res.ProtoMinor // the proto tag, even if the body fails
		err = readH2Body(res, resp, hu.scratch)
		_ = res.Body.Close()
	}
	end := time.Now()
	resp.BytesSent = hu.sent.Load() - sent0
	resp.BytesReceived = hu.recv.Load() - recv0
	t.fill(&resp.Timings, end)
	if err != nil {
		if ctx.Err() != nil && u.ctx.Err() == nil { // the request's own timeout
			if t.dialing() {
				return fmt.Errorf("%w %s: %w", h1.ErrDial, h.header, context.DeadlineExceeded)
			}
			return fmt.Errorf("http2: %w", context.DeadlineExceeded)
		}
		return fmt.Errorf("http2: %w", err)
	}
	resp.Status = res.StatusCode
	for name, vs := range res.Header {
		for _, v := range vs {
			resp.AddField(name, v)
		}
	}
	return nil
}

// readH2Body reads res's body into resp, decoding gzip, deflate, br and zstd as h1 does, each
// within h1.DefaultMaxDecoded.
func readH2Body(res *http.Response, resp *h1.Response, buf []byte) error {
	return resp.ReadBody(res.Body, res.Header.Values("Content-Encoding"), h1.DefaultMaxDecoded, buf)
}

// traceTimes are the moments httptrace reports, for k6's http_req_* timings. The transport
// calls the hooks from its own goroutines, which may still run after RoundTrip returned (a
// timeout), hence the lock.
type traceTimes struct {
	mu                                                                   sync.Mutex
	start, connStart, connDone, tlsStart, tlsDone, gotConn, wrote, first time.Time
}

func (t *traceTimes) trace() *httptrace.ClientTrace {
	at := func(p *time.Time) {
		now := time.Now()
		t.mu.Lock()
		*p = now
		t.mu.Unlock()
	}
	return &httptrace.ClientTrace{
		ConnectStart:         func(string, string) { at(&t.connStart) },
		ConnectDone:          func(string, string, error) { at(&t.connDone) },
		TLSHandshakeStart:    func() { at(&t.tlsStart) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { at(&t.tlsDone) },
		GotConn:              func(httptrace.GotConnInfo) { at(&t.gotConn) },
		WroteRequest:         func(httptrace.WroteRequestInfo) { at(&t.wrote) },
		GotFirstResponseByte: func() { at(&t.first) },
	}
}

// dialing reports whether the request was still connecting: no connection, and no dial done
// (a TLS handshake in progress is not dialling, as in h1).
func (t *traceTimes) dialing() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gotConn.IsZero() && t.connDone.IsZero()
}

// fill sets k6's timings: blocked until the connection (less dialling and the handshake),
// connecting, TLS handshaking, sending until the request was written, waiting until the first
// byte, receiving until end; a phase that did not happen is 0.
func (t *traceTimes) fill(tm *h1.Timings, end time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	span := func(a, b time.Time) time.Duration {
		if a.IsZero() || b.IsZero() || b.Before(a) {
			return 0
		}
		return b.Sub(a)
	}
	tm.Connecting = span(t.connStart, t.connDone)
	tm.TLSHandshaking = span(t.tlsStart, t.tlsDone)
	tm.Blocked = max(0, span(t.start, t.gotConn)-tm.Connecting-tm.TLSHandshaking)
	tm.Sending = span(t.gotConn, t.wrote)
	tm.Waiting = span(t.wrote, t.first)
	tm.Receiving = span(t.first, end)
	tm.Duration = tm.Sending + tm.Waiting + tm.Receiving
}
