// Package h1 is a small HTTP/1.1 client for the native engine: one Conn per
// virtual user, owning at most one keep-alive TCP or TLS connection, with
// requests serialised by the caller into a reusable buffer and responses
// parsed into a reusable Response. Its aim is a CPU cost per request close to
// wrk's; net/http costs about 1.5 times as much for the same loop.
//
// A typical user:
//
//	cfg, err := h1.NewConfig(h1.Options{Addr: "shop.test:443", TLS: tlsConf})
//	c := cfg.NewConn()
//	defer c.Close()
//	var req h1.Request
//	req.Start("GET", "/items")
//	req.Host("shop.test")
//	req.Raw(static) // header lines built once with AppendHeader
//	req.Finish(nil)
//	resp := h1.Response{MaxBody: 64 << 10}
//	for ctx.Err() == nil {
//		err := c.Do(ctx, &req, &resp) // resp.Status, resp.Body, resp.Timings
//		...think...
//	}
//
// A Request that does not change is built once and sent as often as wanted;
// one that does is rebuilt from Start, which reuses its buffer. In the
// steady state Do allocates nothing.
//
// What it does: Content-Length, chunked (extensions and trailers skipped) and
// close-delimited bodies; no body for HEAD, 1xx, 204 and 304; interim 1xx
// responses skipped (at most 5); HTTP/1.0 responses (keep-alive only when
// the server says so); Connection: close either way; decoding of gzip,
// deflate (zlib), br and zstd bodies, and of bodies in several of them, when
// the request asked for it with AcceptGzip or DecodeGzip (any coding,
// despite the names), up to Options.MaxDecodedBytes decoded, an unknown
// coding left as sent (only gzip alone is decoded without allocating; the
// others allocate their decoders for each response); one timeout per Do,
// from dialling to the end of the body (Request.Timeout or
// Options.RequestTimeout); strict limits on the status line and
// header block (bytes, count, line length), reported as errors. It does not
// do HTTP/2 (the engine uses net/http for that; ALPN offers only
// http/1.1), pipelining, proxies, redirects, cookies (Response exposes
// Set-Cookie values for the engine's jar), 101 upgrades or request bodies
// that are not in memory.
//
// Retry: a request that fails on a reused connection before any byte of its
// response arrived (the write failed, or the read saw EOF or a reset with
// nothing read) is sent once more on a fresh connection, if its method is
// GET, HEAD, OPTIONS or TRACE (as net/http) or the request was marked
// Replayable. Timeouts and cancellation are never retried.
//
// Concurrency: a Config is immutable and safe for concurrent use. A Conn
// and the Request and Response given to it belong to one goroutine at a
// time; Do and Close must not run concurrently. To stop a user in the middle
// of a request, cancel the context given to Do: the connection is closed at
// once (from the context's AfterFunc, no goroutine of ours waits) and Do
// returns the context's error.
package h1
