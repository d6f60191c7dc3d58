// Package rpc is Stampede's only gRPC code: the master's Coordinator service ([NewServer]), the
// worker's side of the stream ([Dialer]), and the conversion between protobuf messages and the
// messages of internal/protocol and internal/stats.
//
// One stream per worker carries everything. On each side a single goroutine sends, fed by a bounded
// queue, so callers never block on the network (the master's loop queues a message or, when the
// queue is full, learns the connection is gone), and heartbeats travel on their own ticker,
// independent of stats traffic.
//
// [WithJoinToken] and [WithServerTLS] ([DialJoinToken], [DialTLS] on the worker's side) secure the
// stream: the join token rides on every call as a per-call credential that an interceptor checks
// before the Coordinator service sees it, and [ServerTLS] and [ClientTLS] build TLS and mutual TLS
// configurations from PEM files that follow certificate renewals.
//
// Server and Dialer are safe for concurrent use.
package rpc
