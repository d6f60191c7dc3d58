package h1

import (
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// Content codings Do decodes, as k6 does: gzip (and x-gzip), deflate (the
// zlib format, as k6 and Go read it), br and zstd.
const (
	codingOther uint8 = iota // unknown: left as is
	codingGzip
	codingDeflate
	codingBr
	codingZstd
)

var codingNames = [...]string{"unknown", "gzip", "deflate", "br", "zstd"}

// maxCodings bounds the codings of one body: each layer may decode up to
// MaxDecodedBytes, so their number bounds the work a small body can cause.
const maxCodings = 4

// zstdMaxWindow bounds a zstd decoder's memory: RFC 9659 has HTTP's zstd
// coding use windows of at most 8 MiB.
const zstdMaxWindow = 8 << 20

// codings are the content codings of a body, in the order applied (the
// order of the Content-Encoding list), identity left out.
type codings struct {
	list [maxCodings]uint8
	n    int
	over bool // more than maxCodings were listed
}

// add appends the codings of one Content-Encoding value.
func (cs *codings) add(v string) { addCodings(cs, v) }

func addCodings[T string | []byte](cs *codings, v T) {
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		tok := trimSpace(v[:i])
		if i < len(v) {
			i++
		}
		v = v[i:]
		var c uint8
		switch {
		case len(tok) == 0 || equalFold(tok, "identity"):
			continue
		case equalFold(tok, "gzip") || equalFold(tok, "x-gzip"):
			c = codingGzip
		case equalFold(tok, "deflate"):
			c = codingDeflate
		case equalFold(tok, "br"):
			c = codingBr
		case equalFold(tok, "zstd"):
			c = codingZstd
		}
		if cs.n == maxCodings {
			cs.over = true
			return
		}
		cs.list[cs.n] = c
		cs.n++
	}
}

// known returns how many codings, from the last applied back, can be
// undone: up to the first unknown one, which leaves the body as is from
// there (k6 skips an unknown coding and decodes what is under it, which
// cannot be right: the bytes under it are still in that coding).
func (cs *codings) known() (int, error) {
	if cs.over {
		return 0, fmt.Errorf("%w: more than %d content codings", ErrMalformed, maxCodings)
	}
	k := 0
	for k < cs.n && cs.list[cs.n-1-k] != codingOther {
		k++
	}
	return k, nil
}

// ReadBody reads body into r, as Do reads one, for another client (the
// engine's HTTP/2 path): it undoes the content codings listed in
// contentEncoding (the values of the Content-Encoding header), each layer
// up to max decoded bytes (ErrDecodedTooLarge past it), sets Decoded, and
// reads body to its end, through scratch (a buffer of a few KiB, not kept).
// Corrupt data is ErrMalformed; body's own errors are returned as they are.
// Unlike Do with gzip, it allocates for every response it decodes.
func (r *Response) ReadBody(body io.Reader, contentEncoding []string, max int64, scratch []byte) error {
	if len(scratch) == 0 {
		scratch = make([]byte, 4<<10)
	}
	var cs codings
	for _, v := range contentEncoding {
		cs.add(v)
	}
	k, err := cs.known()
	if err != nil {
		return err
	}
	if k > 0 {
		r.Decoded = true
		return r.decode(body, &cs, k, max, scratch)
	}
	for {
		n, err := body.Read(scratch)
		r.keep(scratch[:n])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// decode undoes the last k codings of cs over src into r. Unlike gzip
// alone on h1 (readGzip, pooled), it allocates its decoders for each
// response: deflate, br, zstd and stacked codings are rare enough.
func (r *Response) decode(src io.Reader, cs *codings, k int, max int64, scratch []byte) error {
	s := &source{r: src}
	var top io.Reader = s
	layers := make([]*layer, k)
	for i := range layers {
		l := &layer{coding: cs.list[cs.n-1-i], below: top, left: max}
		layers[i] = l
		top = l
	}
	defer func() {
		for _, l := range layers {
			if l.zd != nil {
				l.zd.Close() // with concurrency 1 it runs no goroutine, but holds buffers
			}
		}
	}()
	fail := func(err error) error {
		switch {
		case s.err != nil: // the body's own failure: truncated, timed out, malformed framing
			return s.err
		case s.n == 0: // an empty body decodes to nothing, as with gzip
			return nil
		}
		for _, l := range layers {
			if l.over {
				return fmt.Errorf("%w: over %d bytes decoded", ErrDecodedTooLarge, max)
			}
			if l.err != nil {
				return fmt.Errorf("%w: %s: %w", ErrMalformed, codingNames[l.coding], l.err)
			}
		}
		return err
	}
	for {
		n, err := top.Read(scratch)
		r.keep(scratch[:n])
		if r.BodyLen > max {
			return fmt.Errorf("%w: over %d bytes decoded", ErrDecodedTooLarge, max)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
	}
	// The codings ended; what is left of the body (after a zlib stream, say)
	// is read and dropped, as k6 does, so the connection can be reused.
	for {
		_, err := s.Read(scratch)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// source is the encoded body; it keeps the first error other than io.EOF
// it returned, so that a decoder's complaint is not taken for corrupt data
// when the body itself failed.
type source struct {
	r   io.Reader
	n   int64
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// layer undoes one coding, building its decoder on the first Read so that
// all errors come from Read.
type layer struct {
	coding uint8
	below  io.Reader
	dec    io.Reader
	zd     *zstd.Decoder
	left   int64 // decoded bytes allowed
	over   bool
	err    error // the decoder's first error other than io.EOF
}

func (l *layer) Read(p []byte) (int, error) {
	if l.over {
		return 0, ErrDecodedTooLarge
	}
	if l.dec == nil {
		if err := l.open(); err != nil {
			l.err = err
			return 0, err
		}
	}
	n, err := l.dec.Read(p)
	if l.left -= int64(n); l.left < 0 {
		l.over = true
		return n, ErrDecodedTooLarge
	}
	if err != nil && err != io.EOF && l.err == nil {
		l.err = err
	}
	return n, err
}

func (l *layer) open() error {
	var err error
	switch l.coding {
	case codingGzip:
		l.dec, err = gzip.NewReader(l.below)
	case codingDeflate:
		l.dec, err = zlib.NewReader(l.below)
	case codingBr:
		l.dec = brotli.NewReader(l.below)
	case codingZstd:
		l.zd, err = zstd.NewReader(l.below, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderMaxMemory(zstdMaxWindow))
		l.dec = l.zd
	default:
		err = errors.New("h1: no decoder") // known() never lets one through
	}
	return err
}
