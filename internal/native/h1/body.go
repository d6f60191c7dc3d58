package h1

import (
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"sync"
)

const (
	bodyNone = iota
	bodyFixed
	bodyChunked
	bodyEOF
)

// chunkLineMax bounds a chunk-size line with its extensions.
const chunkLineMax = 4 << 10

// bodyReader hands out the body of the current response in pieces of the
// read buffer, undoing the framing.
type bodyReader struct {
	c       *Conn
	mode    uint8
	done    bool
	inChunk bool  // chunked: a chunk's data (and its CRLF) is being read
	left    int64 // fixed: bytes left; chunked: bytes left in the chunk
	trailer int   // chunked: bytes of trailer lines read
}

// next returns up to max bytes of body, a slice of the read buffer valid
// until the next call, or io.EOF at the end of the body.
func (b *bodyReader) next(max int) ([]byte, error) {
	c := b.c
	for {
		if b.done {
			return nil, io.EOF
		}
		switch b.mode {
		case bodyNone:
			b.done = true
		case bodyEOF:
			if c.r == c.w {
				if err := c.more(); err == io.EOF {
					b.done = true
					return nil, io.EOF
				} else if err != nil {
					return nil, err
				}
			}
			n := min(c.w-c.r, max)
			p := c.buf[c.r : c.r+n]
			c.r += n
			return p, nil
		case bodyFixed, bodyChunked:
			if b.left == 0 {
				if b.mode == bodyFixed {
					b.done = true
					continue
				}
				if err := b.nextChunk(); err != nil {
					return nil, err
				}
				continue
			}
			if c.r == c.w {
				if err := c.more(); err != nil {
					if err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return nil, err
				}
			}
			n := int(min(int64(c.w-c.r), int64(max), b.left))
			p := c.buf[c.r : c.r+n]
			c.r += n
			b.left -= int64(n)
			return p, nil
		}
	}
}

// nextChunk reads the CRLF ending the previous chunk and the next size
// line; after the last chunk it skips the trailer section.
func (b *bodyReader) nextChunk() error {
	c := b.c
	if b.inChunk {
		line, err := c.readLine(chunkLineMax)
		if err != nil {
			return err
		}
		if len(line) != 0 {
			return fmt.Errorf("%w: chunk data longer than its size", ErrMalformed)
		}
		b.inChunk = false
	}
	line, err := c.readLine(chunkLineMax)
	if err != nil {
		return err
	}
	size, err := parseChunkSize(line)
	if err != nil {
		return err
	}
	if size > 0 {
		b.left, b.inChunk = size, true
		return nil
	}
	o := &c.cfg.o
	for n := 0; ; n++ {
		line, err := c.readLine(o.MaxLineBytes)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			b.done = true
			return nil
		}
		b.trailer += len(line) + 2
		if b.trailer > o.MaxHeaderBytes {
			return fmt.Errorf("%w: trailers over %d bytes", ErrHeaderTooLarge, o.MaxHeaderBytes)
		}
		if n == o.MaxHeaders {
			return fmt.Errorf("%w: more than %d trailers", ErrTooManyHeaders, o.MaxHeaders)
		}
	}
}

// parseChunkSize reads the hex size before any ";extension".
func parseChunkSize(line []byte) (int64, error) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			goto end
		}
		if i >= 15 {
			return 0, fmt.Errorf("%w: chunk size too large", ErrMalformed)
		}
		n = n<<4 | int64(d)
	}
end:
	if i == 0 {
		return 0, fmt.Errorf("%w: bad chunk size line %q", ErrMalformed, clip(line))
	}
	rest := trimSpace(line[i:])
	if len(rest) > 0 && rest[0] != ';' {
		return 0, fmt.Errorf("%w: bad chunk size line %q", ErrMalformed, clip(line))
	}
	return n, nil
}

// Read and ReadByte make the body an io.ByteReader for gzip, so that
// gzip.Reader.Reset adds no bufio.Reader.
func (b *bodyReader) Read(p []byte) (int, error) {
	q, err := b.next(len(p))
	return copy(p, q), err
}

func (b *bodyReader) ReadByte() (byte, error) {
	q, err := b.next(1)
	if len(q) == 1 {
		return q[0], nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return 0, err
}

var (
	gzipPool    sync.Pool // *gzip.Reader
	scratchPool = sync.Pool{New: func() any { b := make([]byte, 4<<10); return &b }}
)

// readGzip decodes the body into resp, up to max decoded bytes, and then
// reads what framing is left.
func (c *Conn) readGzip(resp *Response, max int64) error {
	b := &c.body
	zr, _ := gzipPool.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(b)
	} else {
		err = zr.Reset(b)
	}
	if err != nil {
		if err == io.EOF && b.done { // an empty body
			return nil
		}
		if gzipErr(err, b.done) {
			return fmt.Errorf("%w: gzip: %w", ErrMalformed, err)
		}
		return err
	}
	defer gzipPool.Put(zr)
	sp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(sp)
	for {
		n, err := zr.Read(*sp)
		resp.keep((*sp)[:n])
		if resp.BodyLen > max {
			return fmt.Errorf("%w: over %d bytes decoded from %d received", ErrDecodedTooLarge, max, c.recv)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if gzipErr(err, b.done) {
				return fmt.Errorf("%w: gzip: %w", ErrMalformed, err)
			}
			return err
		}
	}
	for {
		_, err := b.next(1 << 30)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// gzipErr reports whether err is gzip's complaint about the data rather
// than the body's own error passed through: a stream cut short where the
// body ended as its framing said is corrupt data, not a truncated response.
func gzipErr(err error, bodyDone bool) bool {
	var ce flate.CorruptInputError
	return errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.As(err, &ce) ||
		(bodyDone && errors.Is(err, io.ErrUnexpectedEOF))
}
