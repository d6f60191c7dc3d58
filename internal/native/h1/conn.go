package h1

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Options configure the connections of many Conns; see NewConfig.
type Options struct {
	// Addr is the host:port every connection dials.
	Addr string
	// Dial opens a connection; the engine enforces its allow-list here,
	// DNS answers included. Nil uses a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLS, when not nil, wraps each connection (see TLSConfig). An empty
	// ServerName is taken from Addr; NextProtos is forced to http/1.1.
	TLS *tls.Config
	// ConnectTimeout bounds dialling and the TLS handshake; 0: only the context.
	ConnectTimeout time.Duration
	// RequestTimeout bounds one Do as k6's timeout does: dialling, the TLS
	// handshake, the write and the response to the end of its body, from one
	// deadline set when Do starts; 0: none.
	RequestTimeout time.Duration
	// MaxDecodedBytes bounds a body once decoded (gzip, deflate, br or
	// zstd; each layer of one in several codings), so a small compressed
	// body cannot make the user decode gigabytes (a "gzip bomb"): a longer
	// one is ErrDecodedTooLarge. 0 means DefaultMaxDecoded.
	MaxDecodedBytes int64
	// Limits on the status line and header block (and on trailers):
	// 0 means 64 KiB, 100 fields and 8 KiB a line.
	MaxHeaderBytes, MaxHeaders, MaxLineBytes int
}

// DefaultMaxDecoded is Options.MaxDecodedBytes when left 0.
const DefaultMaxDecoded = 64 << 20

// Config is a validated, immutable Options shared by Conns.
type Config struct {
	o Options
}

// NewConfig validates o and fills in defaults.
func NewConfig(o Options) (*Config, error) {
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("h1: Addr %q: %w", o.Addr, err)
	}
	if o.Dial == nil {
		var d net.Dialer
		o.Dial = d.DialContext
	}
	if o.ConnectTimeout < 0 || o.RequestTimeout < 0 || o.MaxHeaderBytes < 0 || o.MaxHeaders < 0 || o.MaxLineBytes < 0 || o.MaxDecodedBytes < 0 {
		return nil, errors.New("h1: timeouts and limits must not be negative")
	}
	if o.MaxDecodedBytes == 0 {
		o.MaxDecodedBytes = DefaultMaxDecoded
	}
	if o.MaxHeaderBytes == 0 {
		o.MaxHeaderBytes = 64 << 10
	}
	if o.MaxHeaders == 0 {
		o.MaxHeaders = 100
	}
	if o.MaxLineBytes == 0 {
		o.MaxLineBytes = 8 << 10
	}
	if o.TLS != nil {
		t := o.TLS.Clone()
		if t.ServerName == "" {
			t.ServerName = host
		}
		t.NextProtos = []string{"http/1.1"}
		o.TLS = t
	}
	return &Config{o: o}, nil
}

// NewConn returns a Conn that connects on its first Do.
func (cfg *Config) NewConn() *Conn {
	c := &Conn{cfg: cfg}
	c.body.c = c
	return c
}

// Conn is one user's connection; see the package doc for its rules.
type Conn struct {
	cfg *Config
	nc  net.Conn // what requests go through (a *tls.Conn with TLS)
	// raw is the TCP connection under nc, closed by the cancel callback.
	mu     sync.Mutex
	raw    net.Conn
	killed bool   // the callback closed raw: drop nc
	gen    uint64 // which watched context may close raw (see cancel)

	used     int  // responses read on nc
	deadline bool // a deadline is set on nc
	closed   bool

	done <-chan struct{} // Done of the context the callback watches
	stop func() bool

	bufp *[]byte // pooled read buffer, nil while idle or after growing
	buf  []byte
	r, w int

	recv  int64 // bytes read for the current response
	first int64 // clock when the first byte of the response arrived; 0: none yet
	body  bodyReader
}

const bufSize = 8 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// Do sends req and reads the response into resp. resp.Body keeps at most
// resp.MaxBody bytes; the rest of the body is read and counted. The
// connection stays open for the next Do unless the response or request
// said otherwise or something failed.
func (c *Conn) Do(ctx context.Context, req *Request, resp *Response) error {
	resp.reset()
	if c.closed {
		return ErrClosed
	}
	if !req.done || req.err != nil {
		return req.Err()
	}
	if err := c.watch(ctx); err != nil {
		return err
	}
	start := nanotime()
	var deadline time.Time // of the whole Do, retry included, as k6's timeout
	timeout := c.cfg.o.RequestTimeout
	if req.Timeout > 0 {
		timeout = req.Timeout
	}
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for attempt := 0; ; attempt++ {
		fresh := c.nc == nil
		t0 := start
		if fresh {
			if err := c.dial(ctx, resp, start, deadline); err != nil {
				return err
			}
			t0 = nanotime()
		}
		err, retry := c.roundTrip(req, resp, t0, deadline)
		if err == nil {
			break
		}
		c.drop()
		if ctx.Err() != nil {
			return fmt.Errorf("h1: %w", context.Cause(ctx))
		}
		if !retry || fresh || attempt > 0 || !req.Replayable {
			return err
		}
		resp.Retried = true
		start = nanotime()
	}
	if resp.Close || req.close || c.r != c.w {
		// Bytes after the response would be read as the next response.
		resp.Close = true
		c.drop()
	}
	c.idle()
	return nil
}

// watch has the connection closed when ctx ends. It registers a callback
// once per context (one allocation), not per request.
func (c *Conn) watch(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("h1: %w", context.Cause(ctx))
	}
	done := ctx.Done()
	c.mu.Lock()
	killed := c.killed
	c.killed = false
	c.mu.Unlock()
	if killed {
		c.drop()
	}
	if done == c.done {
		return nil
	}
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
	c.done = done
	if done != nil {
		c.mu.Lock()
		c.gen++
		gen := c.gen
		c.mu.Unlock()
		c.stop = context.AfterFunc(ctx, func() { c.cancel(gen) })
	}
	return nil
}

// cancel closes the connection for the context watched as gen, unless the Conn has watched
// another since (or been unwatched).
func (c *Conn) cancel(gen uint64) {
	c.mu.Lock()
	if c.gen == gen && c.raw != nil {
		_ = c.raw.Close()
		c.killed = true
	}
	c.mu.Unlock()
}

// Unwatch detaches the Conn from the context of its last Do, so that the end of that context no
// longer closes the connection. It is for a Conn handed from one goroutine to another between
// requests (shared connections); a Conn that stays with one goroutine never needs it.
func (c *Conn) Unwatch() {
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
	c.done = nil
	c.mu.Lock()
	c.gen++ // a callback already started finds another generation and leaves the connection be
	c.mu.Unlock()
}

func (c *Conn) dial(ctx context.Context, resp *Response, start int64, deadline time.Time) error {
	o := &c.cfg.o
	dctx := ctx
	if o.ConnectTimeout > 0 {
		if d := time.Now().Add(o.ConnectTimeout); deadline.IsZero() || d.Before(deadline) {
			deadline = d
		}
	}
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		dctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	t1 := nanotime()
	raw, err := o.Dial(dctx, "tcp", o.Addr)
	t2 := nanotime()
	resp.Timings.Blocked += time.Duration(t1 - start)
	resp.Timings.Connecting += time.Duration(t2 - t1)
	if err != nil {
		return c.ctxErr(ctx, fmt.Errorf("%w %s: %w", ErrDial, o.Addr, err))
	}
	c.mu.Lock()
	c.raw, c.killed = raw, false
	c.mu.Unlock()
	c.nc, c.used, c.deadline = raw, 0, false
	if ctx.Err() != nil { // cancelled before raw was visible to the callback
		c.drop()
		return fmt.Errorf("h1: %w", context.Cause(ctx))
	}
	if o.TLS != nil {
		tc := tls.Client(raw, o.TLS)
		c.nc = tc
		err := tc.HandshakeContext(dctx)
		resp.Timings.TLSHandshaking += time.Duration(nanotime() - t2)
		if err != nil {
			c.drop()
			return c.ctxErr(ctx, fmt.Errorf("%w with %s: %w", ErrHandshake, o.Addr, err))
		}
	}
	return nil
}

func (c *Conn) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("h1: %w", context.Cause(ctx))
	}
	return err
}

// roundTrip writes req and reads one response. retry reports that nothing
// of the response arrived and the failure was not a timeout.
func (c *Conn) roundTrip(req *Request, resp *Response, t0 int64, deadline time.Time) (err error, retry bool) {
	if !deadline.IsZero() {
		_ = c.nc.SetDeadline(deadline)
		c.deadline = true
	} else if c.deadline {
		_ = c.nc.SetDeadline(time.Time{})
		c.deadline = false
	}
	c.recv, c.first = 0, 0
	n, err := c.nc.Write(req.b)
	resp.BytesSent += int64(n)
	tSent := nanotime()
	if err != nil {
		return fmt.Errorf("h1: write request: %w", err), !isTimeout(err)
	}
	c.used++
	c.take()
	err = c.readResponse(req, resp)
	resp.BytesReceived += c.recv
	if err != nil {
		if c.recv == 0 && !isTimeout(err) && !errors.Is(err, ErrRequest) {
			return fmt.Errorf("h1: read response: %w", err), true
		}
		// A compressed stream cut short inside a complete body is ErrMalformed
		// wrapping io.ErrUnexpectedEOF: corrupt data, not a truncated response.
		if (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) && !errors.Is(err, ErrMalformed) {
			err = fmt.Errorf("%w: %w", ErrTruncated, err)
		}
		return err, false
	}
	tEnd := nanotime()
	t := &resp.Timings
	t.Sending = time.Duration(tSent - t0)
	t.Waiting = time.Duration(c.first - tSent)
	t.Receiving = time.Duration(tEnd - c.first)
	t.Duration = time.Duration(tEnd - t0)
	return nil, false
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// IsTimeout reports whether err, from Do, is a timeout: the request's
// deadline passed while dialling, in the handshake or in the exchange.
// Cancellation by the caller's context is not one.
func IsTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
}

// readResponse reads a response head (skipping 1xx) and its body.
func (c *Conn) readResponse(req *Request, resp *Response) error {
	o := &c.cfg.o
	var fr framing
	for n1xx := 0; ; n1xx++ {
		head, err := c.readHead(o.MaxHeaderBytes, o.MaxLineBytes)
		if err != nil {
			return err
		}
		fr, err = resp.parseHead(head, o.MaxHeaders)
		if err != nil {
			return err
		}
		if resp.Status >= 200 {
			break
		}
		if resp.Status == 101 {
			return fmt.Errorf("%w: 101 Switching Protocols to a request that asked for no upgrade", ErrMalformed)
		}
		if n1xx == 4 {
			return fmt.Errorf("%w: more than 5 interim 1xx responses", ErrMalformed)
		}
	}
	resp.Close = fr.close || (resp.Minor == 0 && !fr.keep)
	b := &c.body
	b.done, b.inChunk, b.left, b.trailer = false, false, 0, 0
	switch {
	case req.head || resp.Status == 204 || resp.Status == 304:
		b.mode = bodyNone
	case fr.chunked:
		b.mode = bodyChunked
	case fr.te:
		// A transfer coding other than chunked last: the body runs to
		// the end of the connection (RFC 9112 6.3).
		b.mode, resp.Close = bodyEOF, true
	case fr.length >= 0:
		b.mode, b.left = bodyFixed, fr.length
	default:
		b.mode, resp.Close = bodyEOF, true
	}
	if b.mode == bodyNone {
		return nil
	}
	if req.gzip && (fr.enc.n > 0 || fr.enc.over) {
		k, err := fr.enc.known()
		if err != nil {
			return err
		}
		if k == 1 && fr.enc.list[fr.enc.n-1] == codingGzip {
			resp.Decoded = true
			return c.readGzip(resp, o.MaxDecodedBytes)
		}
		if k > 0 {
			resp.Decoded = true
			return c.readDecoded(resp, &fr.enc, k, o.MaxDecodedBytes)
		}
	}
	for {
		p, err := b.next(1 << 30)
		resp.keep(p)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readDecoded undoes the last k codings of enc, for what readGzip does not
// take: deflate, br, zstd and bodies in several codings.
func (c *Conn) readDecoded(resp *Response, enc *codings, k int, max int64) error {
	sp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(sp)
	err := resp.decode(&c.body, enc, k, max, *sp)
	if errors.Is(err, ErrDecodedTooLarge) {
		err = fmt.Errorf("%w from %d received", err, c.recv)
	}
	return err
}

func (r *Response) keep(p []byte) {
	r.BodyLen += int64(len(p))
	if room := r.MaxBody - len(r.Body); room > 0 {
		r.Body = append(r.Body, p[:min(room, len(p))]...)
	}
}

// readHead returns the status line and header lines up to and including the
// empty line, as a slice of the read buffer valid until the next read.
func (c *Conn) readHead(maxBytes, maxLine int) ([]byte, error) {
	pos := 0 // relative to c.r: the start of the line being scanned
	for {
		i := indexLF(c.buf[c.r+pos:c.w], 0)
		if c.r+pos+i == c.w { // no complete line yet
			if c.w-c.r-pos > maxLine {
				return nil, fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, maxLine)
			}
			if c.w-c.r > maxBytes {
				return nil, fmt.Errorf("%w: more than %d bytes", ErrHeaderTooLarge, maxBytes)
			}
			if err := c.more(); err != nil {
				if err == io.EOF && c.w > c.r {
					err = io.ErrUnexpectedEOF
				}
				return nil, err
			}
			continue
		}
		line := trimCR(c.buf[c.r+pos : c.r+pos+i])
		if len(line) > maxLine {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, maxLine)
		}
		end := pos + i + 1
		if end > maxBytes {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrHeaderTooLarge, maxBytes)
		}
		if len(line) == 0 {
			if pos == 0 {
				return nil, fmt.Errorf("%w: empty line where a status line was expected", ErrMalformed)
			}
			head := c.buf[c.r : c.r+end]
			c.r += end
			return head, nil
		}
		pos = end
	}
}

// readLine returns the next line without its CRLF, valid until the next read.
func (c *Conn) readLine(maxLine int) ([]byte, error) {
	for {
		if i := indexLF(c.buf[c.r:c.w], 0); c.r+i < c.w {
			line := trimCR(c.buf[c.r : c.r+i])
			c.r += i + 1
			if len(line) > maxLine {
				return nil, fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, maxLine)
			}
			return line, nil
		}
		if c.w-c.r > maxLine {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, maxLine)
		}
		if err := c.more(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// more reads at least one byte into the buffer, compacting or growing it
// when full. Callers bound how far it grows by their own limits.
func (c *Conn) more() error {
	if c.r == c.w {
		c.r, c.w = 0, 0
	} else if c.w == len(c.buf) && c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	if c.w == len(c.buf) {
		nb := make([]byte, 2*len(c.buf))
		copy(nb, c.buf[:c.w])
		if c.bufp != nil {
			bufPool.Put(c.bufp)
			c.bufp = nil
		}
		c.buf = nb
	}
	for {
		n, err := c.nc.Read(c.buf[c.w:])
		if n > 0 {
			if c.first == 0 {
				c.first = nanotime()
			}
			c.w += n
			c.recv += int64(n)
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// take gets a read buffer for a request.
func (c *Conn) take() {
	if c.buf == nil {
		c.bufp = bufPool.Get().(*[]byte)
		c.buf = *c.bufp
		c.r, c.w = 0, 0
	}
}

// idle gives the read buffer back while the user thinks, so an idle Conn
// holds only its connection.
func (c *Conn) idle() {
	if c.r != c.w {
		return
	}
	if c.bufp != nil {
		bufPool.Put(c.bufp)
	}
	c.bufp, c.buf, c.r, c.w = nil, nil, 0, 0
}

// drop closes the connection; the next Do dials a new one.
func (c *Conn) drop() {
	c.mu.Lock()
	c.raw = nil
	c.killed = false
	c.mu.Unlock()
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc = nil
	}
	c.r, c.w = 0, 0
}

// Close closes the connection and stops watching the last context. The Conn
// cannot be used again.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
	c.drop()
	c.idle()
	return nil
}
