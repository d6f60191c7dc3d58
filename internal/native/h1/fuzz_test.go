package h1

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"
)

// fakeConn serves a fixed byte stream in reads of at most chunk bytes and
// swallows writes.
type fakeConn struct {
	r     *bytes.Reader
	chunk int
}

func (f *fakeConn) Read(p []byte) (int, error) {
	if f.chunk > 0 && len(p) > f.chunk {
		p = p[:f.chunk]
	}
	return f.r.Read(p)
}
func (f *fakeConn) Write(p []byte) (int, error)      { return len(p), nil }
func (f *fakeConn) Close() error                     { return nil }
func (f *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (f *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (f *fakeConn) SetDeadline(time.Time) error      { return nil }
func (f *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzReadResponse feeds arbitrary bytes as a response (split into reads of
// varying size, to a GET or a HEAD, gzip asked for or not): Do must never
// panic, and what it keeps stays within the limits.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nrest",
		"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 23\r\n\r\n\x1f\x8b\b\x00\x00\x00\x00\x00\x00\xff\x01\x00\x00\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00",
		"HTTP/1.1 304 Not Modified\r\nSet-Cookie: a=b\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Encoding: zstd, br\r\nContent-Length: 9\r\n\r\n(\xb5/\xfd\x00\x00\x01\x00\x00",
		"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nx\x9c\x03\x00\x00\x00\x00\x01\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s), uint8(0))
	}
	cfg, err := NewConfig(Options{Addr: "fuzz:80", MaxHeaderBytes: 4096, MaxHeaders: 20, MaxLineBytes: 1024})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		fc := &fakeConn{r: bytes.NewReader(data), chunk: int(mode>>2) + 1}
		cfg := *cfg
		cfg.o.Dial = func(context.Context, string, string) (net.Conn, error) { return fc, nil }
		c := cfg.NewConn()
		defer c.Close()
		var req Request
		if mode&1 == 1 {
			req.Start("HEAD", "/")
		} else {
			req.Start("GET", "/")
		}
		req.Host("fuzz")
		if mode&2 == 2 {
			req.AcceptGzip()
		}
		req.Finish(nil)
		resp := Response{MaxBody: 100}
		err := c.Do(context.Background(), &req, &resp)
		if len(resp.Body) > resp.MaxBody || len(resp.head) > 4096 || len(resp.fields) > 20 {
			t.Fatalf("kept %d body bytes, %d head bytes, %d fields", len(resp.Body), len(resp.head), len(resp.fields))
		}
		if err == nil && (resp.Status < 200 || resp.Status > 999) {
			t.Fatalf("status %d without error", resp.Status)
		}
		if resp.BytesReceived > int64(len(data)) {
			t.Fatalf("received %d of %d bytes", resp.BytesReceived, len(data))
		}
	})
}
