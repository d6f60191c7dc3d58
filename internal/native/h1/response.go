package h1

import (
	"errors"
	"fmt"
	"time"
)

// Errors Do returns, wrapped with detail. Timeouts wrap os.ErrDeadlineExceeded
// and cancellation the context's error.
var (
	ErrMalformed      = errors.New("h1: malformed response")
	ErrHeaderTooLarge = errors.New("h1: response header block too large")
	ErrTooManyHeaders = errors.New("h1: too many response headers")
	ErrLineTooLong    = errors.New("h1: response line too long")
	ErrTruncated      = errors.New("h1: response truncated (connection ended early)")
	ErrClosed         = errors.New("h1: Conn closed")
	// ErrDecodedTooLarge: a body decoded to more than
	// Options.MaxDecodedBytes (in any of its codings); the connection is
	// closed.
	ErrDecodedTooLarge = errors.New("h1: decoded body too large")
	// ErrDial and ErrHandshake are wrapped by failures to connect, before
	// any byte of the request was sent.
	ErrDial      = errors.New("h1: dial")
	ErrHandshake = errors.New("h1: TLS handshake")
)

// Timings of one Do, named after k6's http_req_* metrics. Duration is
// Sending+Waiting+Receiving; Blocked, Connecting and TLSHandshaking come
// before it and are zero on a reused connection.
type Timings struct {
	Blocked        time.Duration // from Do to dialling or sending
	Connecting     time.Duration // in the dial function (name resolution included)
	TLSHandshaking time.Duration
	Sending        time.Duration // writing the request
	Waiting        time.Duration // from the end of the write to the first response byte (TTFB)
	Receiving      time.Duration // from the first response byte to the end of the body
	Duration       time.Duration
}

// Response receives one response. It is reused across Do calls: set MaxBody
// once; Body keeps its capacity. Header values are valid until the next Do.
type Response struct {
	// MaxBody is how many body bytes to keep in Body; the rest is read and
	// counted in BodyLen but dropped. 0 keeps nothing.
	MaxBody int

	Status  int
	Major   int    // 1; 2 in a response another client filled over HTTP/2 (0: none read)
	Minor   int    // 1 for HTTP/1.1, 0 for HTTP/1.0
	Body    []byte // the first MaxBody bytes of the (decoded) body
	BodyLen int64  // body bytes seen, after decoding

	Decoded bool // the body was decoded from its content coding(s): gzip, deflate, br or zstd
	Close   bool // the connection was closed after this response
	Retried bool // the request was sent again on a fresh connection

	BytesSent     int64 // bytes written for the request (both attempts when retried)
	BytesReceived int64 // bytes read: 1xx, head, body framing
	Timings       Timings

	head   []byte  // status line and header block, copied
	fields []field // offsets into head
}

type field struct{ ns, ne, vs, ve int32 }

// Header returns the first value of the header name (case-insensitive), or
// nil when there is none.
func (r *Response) Header(name string) []byte {
	for _, f := range r.fields {
		if equalFold(r.head[f.ns:f.ne], name) {
			return r.head[f.vs:f.ve]
		}
	}
	return nil
}

// Values appends every value of the header name (case-insensitive) to dst,
// e.g. each Set-Cookie, and returns it.
func (r *Response) Values(name string, dst [][]byte) [][]byte {
	for _, f := range r.fields {
		if equalFold(r.head[f.ns:f.ne], name) {
			dst = append(dst, r.head[f.vs:f.ve])
		}
	}
	return dst
}

// NumHeaders is the number of header fields; Field returns one by index.
func (r *Response) NumHeaders() int { return len(r.fields) }

// Field returns the name and value of header i, in the order received.
func (r *Response) Field(i int) (name, value []byte) {
	f := r.fields[i]
	return r.head[f.ns:f.ne], r.head[f.vs:f.ve]
}

// Reset empties r, keeping MaxBody and its buffers; Do calls it. With
// AddField and Keep it lets another client (the engine's HTTP/2 path) fill
// a Response for code that reads one.
func (r *Response) Reset() { r.reset() }

// AddField appends a header field, read back by Header, Values and Field.
func (r *Response) AddField(name, value string) {
	ns := len(r.head)
	r.head = append(r.head, name...)
	ne := len(r.head)
	r.head = append(r.head, ':', ' ')
	vs := len(r.head)
	r.head = append(r.head, value...)
	ve := len(r.head)
	r.head = append(r.head, '\n')
	r.fields = append(r.fields, field{ns: int32(ns), ne: int32(ne), vs: int32(vs), ve: int32(ve)})
}

// Keep adds p to the body: it counts in BodyLen and is kept up to MaxBody.
func (r *Response) Keep(p []byte) { r.keep(p) }

func (r *Response) reset() {
	r.Status, r.Major, r.Minor = 0, 0, 0
	r.Body = r.Body[:0]
	r.BodyLen = 0
	r.Decoded, r.Close, r.Retried = false, false, false
	r.BytesSent, r.BytesReceived = 0, 0
	r.Timings = Timings{}
	r.head = r.head[:0]
	r.fields = r.fields[:0]
}

// framing is what the header block says about the body and the connection.
type framing struct {
	length   int64 // -1: none given
	chunked  bool
	te       bool // some Transfer-Encoding was given
	close    bool
	keep     bool    // Connection: keep-alive
	enc      codings // Content-Encoding, every line of it
	numLines int
}

// parseHead parses a status line and header block (without the final empty
// line) from b into r, copying b. limits.maxHeaders bounds the field count.
func (r *Response) parseHead(b []byte, maxHeaders int) (framing, error) {
	fr := framing{length: -1}
	r.head = append(r.head[:0], b...)
	r.fields = r.fields[:0]
	h := r.head
	eol := indexLF(h, 0)
	line := trimCR(h[:eol])
	if err := r.parseStatus(line); err != nil {
		return fr, err
	}
	for pos := eol + 1; pos < len(h); {
		end := indexLF(h, pos)
		line := trimCR(h[pos:end])
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return fr, fmt.Errorf("%w: obsolete header line folding", ErrMalformed)
		}
		if len(r.fields) == maxHeaders {
			return fr, fmt.Errorf("%w: more than %d", ErrTooManyHeaders, maxHeaders)
		}
		colon := -1
		for i, c := range line {
			if c == ':' {
				colon = i
				break
			}
			if !isTokenChar(c) {
				return fr, fmt.Errorf("%w: bad header name %q", ErrMalformed, clip(line))
			}
		}
		if colon <= 0 {
			return fr, fmt.Errorf("%w: header line without a name and colon %q", ErrMalformed, clip(line))
		}
		vs, ve := colon+1, len(line)
		for vs < ve && (line[vs] == ' ' || line[vs] == '\t') {
			vs++
		}
		for ve > vs && (line[ve-1] == ' ' || line[ve-1] == '\t') {
			ve--
		}
		f := field{ns: int32(pos), ne: int32(pos + colon), vs: int32(pos + vs), ve: int32(pos + ve)}
		r.fields = append(r.fields, f)
		if err := fr.note(h[f.ns:f.ne], h[f.vs:f.ve]); err != nil {
			return fr, err
		}
		pos = end + 1
	}
	return fr, nil
}

func (r *Response) parseStatus(line []byte) error {
	// HTTP/1.x SSS[ reason]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' ||
		line[7] < '0' || line[7] > '9' || (len(line) > 12 && line[12] != ' ') {
		return fmt.Errorf("%w: bad status line %q", ErrMalformed, clip(line))
	}
	s := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return fmt.Errorf("%w: bad status code in %q", ErrMalformed, clip(line))
		}
		s = s*10 + int(c-'0')
	}
	if s < 100 {
		return fmt.Errorf("%w: status code %d", ErrMalformed, s)
	}
	r.Status = s
	r.Major, r.Minor = 1, int(line[7]-'0')
	return nil
}

func (fr *framing) note(name, value []byte) error {
	switch {
	case equalFold(name, "content-length"):
		n, ok := parseLength(value)
		if !ok {
			return fmt.Errorf("%w: bad Content-Length %q", ErrMalformed, clip(value))
		}
		if fr.length >= 0 && fr.length != n {
			return fmt.Errorf("%w: conflicting Content-Length headers", ErrMalformed)
		}
		fr.length = n
	case equalFold(name, "transfer-encoding"):
		fr.te = true
		fr.chunked = lastTokenIs(value, "chunked")
	case equalFold(name, "connection"):
		if hasToken(value, "close") {
			fr.close = true
		}
		if hasToken(value, "keep-alive") {
			fr.keep = true
		}
	case equalFold(name, "content-encoding"):
		addCodings(&fr.enc, value)
	}
	return nil
}

func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func indexLF(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		if b[i] == '\n' {
			return i
		}
	}
	return len(b)
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// clip shortens what goes into an error message.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold reports whether a equals b ignoring ASCII case; b is lower case
// when called with a constant.
func equalFold[A, B string | []byte](a A, b B) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v holds token tok.
func hasToken[T string | []byte](v T, tok string) bool {
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		if equalFold(trimSpace(v[:i]), tok) {
			return true
		}
		if i == len(v) {
			break
		}
		v = v[i+1:]
	}
	return false
}

func lastTokenIs(v []byte, tok string) bool {
	i := len(v)
	for i > 0 && v[i-1] != ',' {
		i--
	}
	return equalFold(trimSpace(v[i:]), tok)
}

func trimSpace[T string | []byte](v T) T {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}
