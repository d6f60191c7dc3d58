package h1

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/native/h1/h1test"
)

// encode applies the codings in order, as a server listing them in Content-Encoding would have.
func encode(t testing.TB, data []byte, codings ...string) []byte {
	t.Helper()
	b, err := h1test.Encode(data, codings...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encodedServer answers each request with the body and Content-Encoding
// registered for its path; lines of Content-Encoding are split on "|".
func encodedServer(t *testing.T, bodies map[string]struct {
	ce   string
	body []byte
}) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := bodies[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		for _, v := range strings.Split(b.ce, "|") {
			w.Header().Add("Content-Encoding", v)
		}
		_, _ = w.Write(b.body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func decodingGet(path string) *Request {
	var req Request
	req.Start("GET", path)
	req.Host("test")
	req.DecodeGzip()
	req.Finish(nil)
	return &req
}

// TestDecodings: each coding k6 decodes is decoded, alone, stacked ("gzip,
// br": gzip first, then br) or over several header lines, in any case, with
// identity skipped; BodyLen counts decoded bytes and BytesReceived the bytes
// on the wire; an unknown coding (alone or outermost) leaves the body as
// sent, as k6 does; the connection is kept throughout.
func TestDecodings(t *testing.T) {
	t.Parallel()
	text := []byte(strings.Repeat("a body that compresses well. ", 400)) // 11.6 KB: chunked
	type enc = struct {
		ce   string
		body []byte
	}
	tests := []struct {
		name    string
		ce      string
		body    []byte
		want    []byte
		decoded bool
	}{
		{name: "gzip", ce: "gzip", body: encode(t, text, "gzip"), want: text, decoded: true},
		{name: "deflate", ce: "deflate", body: encode(t, text, "deflate"), want: text, decoded: true},
		{name: "br", ce: "br", body: encode(t, text, "br"), want: text, decoded: true},
		{name: "zstd", ce: "zstd", body: encode(t, text, "zstd"), want: text, decoded: true},
		{name: "case-insensitive", ce: "ZStd", body: encode(t, text, "zstd"), want: text, decoded: true},
		{name: "stacked", ce: "gzip, br", body: encode(t, text, "gzip", "br"), want: text, decoded: true},
		{name: "stacked, three", ce: "deflate,zstd , gzip", body: encode(t, text, "deflate", "zstd", "gzip"), want: text, decoded: true},
		{name: "two header lines", ce: "br|zstd", body: encode(t, text, "br", "zstd"), want: text, decoded: true},
		{name: "identity skipped", ce: "identity, br", body: encode(t, text, "br"), want: text, decoded: true},
		{name: "unknown: as sent", ce: "compress", body: []byte("LZW bytes, say"), want: []byte("LZW bytes, say")},
		{name: "unknown outermost: as sent", ce: "br, x-custom", body: encode(t, text, "br"), want: encode(t, text, "br")},
		{name: "unknown innermost: the rest decoded", ce: "x-custom, br", body: encode(t, []byte("custom"), "br"), want: []byte("custom"), decoded: true},
		{name: "empty body", ce: "br", body: nil, want: nil, decoded: true},
	}
	bodies := map[string]enc{}
	for i, tc := range tests {
		bodies["/"+itoa(i)] = enc{tc.ce, tc.body}
	}
	srv := encodedServer(t, bodies)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newConn(t, Options{Addr: srv.Listener.Addr().String()})
			req := decodingGet("/" + itoa(i))
			resp := Response{MaxBody: 64 << 10}
			for try := range 2 {
				if err := c.Do(ctxT(t), req, &resp); err != nil {
					t.Fatalf("try %d: %v", try, err)
				}
				if !bytes.Equal(resp.Body, tc.want) || resp.BodyLen != int64(len(tc.want)) || resp.Decoded != tc.decoded {
					t.Fatalf("try %d: body %.40q (%d bytes), decoded %v; want %.40q (%d), %v",
						try, resp.Body, resp.BodyLen, resp.Decoded, tc.want, len(tc.want), tc.decoded)
				}
				if n := int64(len(tc.body)); resp.BytesReceived < n || resp.BytesReceived > n+300 {
					t.Errorf("try %d: %d bytes received, want the %d sent and a head", try, resp.BytesReceived, n)
				}
				if resp.Close || c.nc == nil {
					t.Fatalf("try %d: the connection was not kept", try)
				}
			}
		})
	}
	t.Run("not asked to decode: as sent", func(t *testing.T) {
		t.Parallel()
		c := newConn(t, Options{Addr: srv.Listener.Addr().String()})
		resp := Response{MaxBody: 64 << 10}
		if err := c.Do(ctxT(t), get("/2"), &resp); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.Body, tests[2].body) || resp.Decoded {
			t.Errorf("body %.40q decoded %v, want the br bytes as sent", resp.Body, resp.Decoded)
		}
	})
}

// TestDecodeBombs: a small body that decodes to far more than
// MaxDecodedBytes, in each coding, stops just over the cap with
// ErrDecodedTooLarge, and the connection, its body half read, is dropped.
func TestDecodeBombs(t *testing.T) {
	t.Parallel()
	const max = 1 << 20
	zeros := make([]byte, 8<<20)
	tests := []struct {
		name string
		ce   []string
	}{
		{"gzip", []string{"gzip"}},
		{"deflate", []string{"deflate"}},
		{"br", []string{"br"}},
		{"zstd", []string{"zstd"}},
		{"stacked", []string{"zstd", "br"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bomb := encode(t, zeros, tc.ce...)
			srv := encodedServer(t, map[string]struct {
				ce   string
				body []byte
			}{"/": {strings.Join(tc.ce, ", "), bomb}})
			c := newConn(t, Options{Addr: srv.Listener.Addr().String(), MaxDecodedBytes: max})
			resp := Response{MaxBody: 100}
			err := c.Do(ctxT(t), decodingGet("/"), &resp)
			if !errors.Is(err, ErrDecodedTooLarge) {
				t.Fatalf("Do = %v, want ErrDecodedTooLarge (bomb of %d bytes)", err, len(bomb))
			}
			if resp.BodyLen <= max || resp.BodyLen > max+8<<10 {
				t.Errorf("decoded %d bytes before stopping, want just over %d", resp.BodyLen, max)
			}
			if c.nc != nil {
				t.Error("the connection was kept after a body left half read")
			}
		})
	}
}

// TestDecodeErrors: corrupt data in each coding is ErrMalformed and drops
// the connection; a body cut short by the connection's end is ErrTruncated,
// not corrupt data, though the decoder saw it end too.
func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	text := []byte(strings.Repeat("some text to encode, ", 500))
	half := func(b []byte) []byte { return b[:len(b)/2] }
	flip := func(b []byte) []byte {
		b = bytes.Clone(b)
		for i := len(b) / 3; i < len(b)/3+8; i++ {
			b[i] ^= 0x55
		}
		return b
	}
	type enc = struct {
		ce   string
		body []byte
	}
	tests := []struct {
		name string
		ce   string
		body []byte
	}{
		{"gzip, stream cut short", "gzip", half(encode(t, text, "gzip"))},
		{"deflate, stream cut short", "deflate", half(encode(t, text, "deflate"))},
		{"deflate, raw (no zlib header)", "deflate", []byte("\x4b\x4c\x4a\x06\x00")},
		{"deflate, checksum", "deflate", flip(encode(t, text, "deflate"))},
		{"br, stream cut short", "br", half(encode(t, text, "br"))},
		{"br, garbage after the stream", "br", append(encode(t, text, "br"), "trailing"...)},
		{"zstd, stream cut short", "zstd", half(encode(t, text, "zstd"))},
		{"zstd, not zstd", "zstd", []byte("plain text, not a zstd frame")},
		{"zstd, corrupt", "zstd", flip(encode(t, text, "zstd"))},
		{"stacked, inner corrupt", "zstd, gzip", encode(t, half(encode(t, text, "zstd")), "gzip")},
	}
	bodies := map[string]enc{}
	for i, tc := range tests {
		bodies["/"+itoa(i)] = enc{tc.ce, tc.body}
	}
	srv := encodedServer(t, bodies)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newConn(t, Options{Addr: srv.Listener.Addr().String()})
			var resp Response
			err := c.Do(ctxT(t), decodingGet("/"+itoa(i)), &resp)
			if !errors.Is(err, ErrMalformed) || errors.Is(err, ErrTruncated) {
				t.Fatalf("Do = %v, want ErrMalformed", err)
			}
			if c.nc != nil {
				t.Error("the connection was kept after a failed body")
			}
		})
	}
	for _, ce := range []string{"gzip", "br"} {
		t.Run("truncated by the server, "+ce, func(t *testing.T) {
			t.Parallel()
			body := encode(t, text, ce)
			raw := newRawServer(t, replies(false, "HTTP/1.1 200 OK\r\nContent-Encoding: "+ce+"\r\nContent-Length: "+
				itoa(len(body))+"\r\n\r\n"+string(body[:len(body)/2])))
			c := newConn(t, Options{Addr: raw.addr()})
			var resp Response
			err := c.Do(ctxT(t), decodingGet("/"), &resp)
			if !errors.Is(err, ErrTruncated) || errors.Is(err, ErrMalformed) {
				t.Fatalf("Do = %v, want ErrTruncated", err)
			}
		})
	}
	t.Run("too many codings", func(t *testing.T) {
		t.Parallel()
		raw := newRawServer(t, replies(false, "HTTP/1.1 200 OK\r\nContent-Encoding: br, br, br, br, br\r\nContent-Length: 0\r\n\r\n"))
		c := newConn(t, Options{Addr: raw.addr()})
		var resp Response
		if err := c.Do(ctxT(t), decodingGet("/"), &resp); !errors.Is(err, ErrMalformed) {
			t.Fatalf("Do = %v, want ErrMalformed", err)
		}
	})
}

// TestZstdStartsNoGoroutine: a zstd body is decoded without goroutines of
// the decoder's own (concurrency 1, closed after each body), so none is
// left behind however many bodies a user reads, to the end or abandoned
// half read (a bomb). Not parallel: other tests' goroutines would be counted.
func TestZstdStartsNoGoroutine(t *testing.T) {
	text := []byte(strings.Repeat("zstd text ", 10000))
	srv := encodedServer(t, map[string]struct {
		ce   string
		body []byte
	}{"/": {"zstd", encode(t, text, "zstd")}, "/bomb": {"zstd", encode(t, make([]byte, 4<<20), "zstd")}})
	c := newConn(t, Options{Addr: srv.Listener.Addr().String(), MaxDecodedBytes: 1 << 20})
	req, bomb := decodingGet("/"), decodingGet("/bomb")
	var resp Response
	if err := c.Do(ctxT(t), req, &resp); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine() // the server's goroutine for the connection included
	for range 10 {
		if err := c.Do(ctxT(t), bomb, &resp); !errors.Is(err, ErrDecodedTooLarge) {
			t.Fatalf("Do = %v, want ErrDecodedTooLarge", err)
		}
		if err := c.Do(ctxT(t), req, &resp); err != nil || resp.BodyLen != int64(len(text)) {
			t.Fatalf("Do = %v, %d bytes decoded", err, resp.BodyLen)
		}
	}
	// The server's goroutines for the dropped connections end on their own.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after 20 zstd bodies, 10 of them left half read; %d before", n, before)
	}
}
