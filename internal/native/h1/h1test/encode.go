// Package h1test has what tests of h1 and of its users share.
package h1test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// Encode applies the content codings in order (gzip, deflate, br, zstd), as a server listing them
// in Content-Encoding would have.
func Encode(data []byte, codings ...string) ([]byte, error) {
	for _, c := range codings {
		var b bytes.Buffer
		var w io.WriteCloser
		switch c {
		case "gzip":
			w = gzip.NewWriter(&b)
		case "deflate":
			w = zlib.NewWriter(&b)
		case "br":
			w = brotli.NewWriterLevel(&b, brotli.DefaultCompression)
		case "zstd":
			zw, err := zstd.NewWriter(&b, zstd.WithWindowSize(1<<20), zstd.WithEncoderConcurrency(1))
			if err != nil {
				return nil, err
			}
			w = zw
		default:
			return nil, fmt.Errorf("h1test: no encoder for %q", c)
		}
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		data = b.Bytes()
	}
	return data, nil
}
