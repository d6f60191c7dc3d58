package h1

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Request is one serialised HTTP/1.1 request. Build it with Start, Target,
// Host, Header, Raw, AcceptGzip and Finish, in that order; Start resets it
// and reuses its buffer. A finished Request is not changed by Do and may be
// sent any number of times, by one Conn at a time.
type Request struct {
	b    []byte
	err  error
	line bool // request line still open (Target may append)
	done bool

	head       bool // HEAD: the response has no body
	gzip       bool // AcceptGzip or DecodeGzip was called: decode the body's content codings
	close      bool // the request says Connection: close
	Replayable bool // may be retried on a fresh connection; Start sets it for GET, HEAD, OPTIONS, TRACE
	// Timeout, when above 0, bounds this request instead of Options.RequestTimeout (a flow's
	// per-request timeout). Start leaves it as it is.
	Timeout time.Duration
}

// Start resets r and begins the request line with method and target (the
// path and query, sent as given: the caller escapes it).
func (r *Request) Start(method, target string) {
	r.b = r.b[:0]
	r.err = nil
	r.done = false
	r.line = true
	r.gzip = false
	r.close = false
	r.head = method == "HEAD"
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		r.Replayable = true
	default:
		r.Replayable = false
	}
	if !validToken(method) {
		r.fail("method %q is not a token", method)
	}
	r.b = append(r.b, method...)
	r.b = append(r.b, ' ')
	r.Target(target)
}

// Target appends s to the request target; call it after Start to add the
// dynamic parts of a path or query without building a string.
func (r *Request) Target(s string) {
	if !r.line {
		r.fail("Target after Host")
		return
	}
	if !validTarget(s) {
		r.fail("target %q has a space or control character", s)
	}
	r.b = append(r.b, s...)
}

// TargetBytes is Target for a byte slice.
func (r *Request) TargetBytes(b []byte) {
	if !r.line {
		r.fail("Target after Host")
		return
	}
	if !validTarget(b) {
		r.fail("target %q has a space or control character", b)
	}
	r.b = append(r.b, b...)
}

// Host ends the request line and writes the Host header (host or host:port).
func (r *Request) Host(host string) {
	if !r.line {
		r.fail("Host given twice")
		return
	}
	r.line = false
	r.b = append(r.b, " HTTP/1.1\r\nHost: "...)
	if !validValue(host) || host == "" {
		r.fail("host %q is empty or has a control character", host)
	}
	r.b = append(r.b, host...)
	r.b = append(r.b, '\r', '\n')
}

// Header appends one header line. A Connection: close header makes the Conn
// close the connection after the response.
func (r *Request) Header(name, value string) { appendHeader(r, name, value) }

// HeaderBytes is Header with a byte-slice value.
func (r *Request) HeaderBytes(name string, value []byte) { appendHeader(r, name, value) }

func appendHeader[T string | []byte](r *Request, name string, value T) {
	r.headerStart(name)
	if !validValue(value) {
		r.fail("header %s: value has a control character", name)
	}
	if equalFold(name, "connection") && hasToken(value, "close") {
		r.close = true
	}
	r.b = append(r.b, value...)
	r.b = append(r.b, '\r', '\n')
}

func (r *Request) headerStart(name string) {
	if r.line || r.done {
		r.fail("header %s outside the header block (call Host first, Finish last)", name)
	}
	if !validToken(name) {
		r.fail("header name %q is not a token", name)
	}
	r.b = append(r.b, name...)
	r.b = append(r.b, ':', ' ')
}

// Raw appends pre-serialised header lines, each ending in CRLF, as built once
// by AppendHeader. They are not checked again.
func (r *Request) Raw(lines []byte) {
	if r.line || r.done {
		r.fail("Raw outside the header block")
	}
	r.b = append(r.b, lines...)
}

// AcceptGzip sends Accept-Encoding: gzip and has Do decode the response
// body, as DecodeGzip does; Response.BodyLen then counts decoded bytes.
func (r *Request) AcceptGzip() {
	r.Header("Accept-Encoding", "gzip")
	r.gzip = true
}

// DecodeGzip has Do decode the response body from the content codings it
// knows (gzip, deflate, br and zstd, despite the name), without sending
// Accept-Encoding: k6 decodes what the server encoded, whatever the request
// said.
func (r *Request) DecodeGzip() { r.gzip = true }

// Finish ends the header block and appends body. Content-Length is sent when
// body is not nil, or for POST, PUT and PATCH (as 0).
func (r *Request) Finish(body []byte) {
	if r.line || r.done {
		r.fail("Finish before Host or twice")
	}
	if body != nil || r.needsLength() {
		r.b = append(r.b, "Content-Length: "...)
		r.b = strconv.AppendInt(r.b, int64(len(body)), 10)
		r.b = append(r.b, '\r', '\n')
	}
	r.b = append(r.b, '\r', '\n')
	r.b = append(r.b, body...)
	r.done = true
}

func (r *Request) needsLength() bool {
	i := 0
	for i < len(r.b) && r.b[i] != ' ' {
		i++
	}
	m := string(r.b[:i]) // no allocation: compared only
	return m == "POST" || m == "PUT" || m == "PATCH"
}

// Bytes returns the serialised request, valid until r changes.
func (r *Request) Bytes() []byte { return r.b }

// Err returns the first mistake made building r, or nil.
func (r *Request) Err() error {
	if r.err == nil && !r.done {
		return fmt.Errorf("%w: not finished (call Finish)", ErrRequest)
	}
	return r.err
}

func (r *Request) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrRequest}, args...)...)
	}
}

// AppendHeader appends the header line "name: value\r\n" to dst, for a block
// of static headers given to Request.Raw.
func AppendHeader(dst []byte, name, value string) ([]byte, error) {
	if !validToken(name) {
		return dst, fmt.Errorf("%w: header name %q is not a token", ErrRequest, name)
	}
	if !validValue(value) {
		return dst, fmt.Errorf("%w: header %s: value has a control character", ErrRequest, name)
	}
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n'), nil
}

// ErrRequest is wrapped by errors about how a Request was built.
var ErrRequest = errors.New("h1: invalid request")

func validToken[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validValue refuses control characters other than HTAB, so a value cannot
// end the line and smuggle a header or request.
func validValue[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func validTarget[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}
