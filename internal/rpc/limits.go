package rpc

import (
	"net"
	"time"

	"golang.org/x/net/netutil"
)

// DefaultMaxConnections is how many connections to the worker port the master holds open at once
// unless told otherwise (docs/limits.md): one per worker, with room for probes and reconnections,
// comfortably above the 2,000-worker fleets the master is measured with (docs/performance.md).
const DefaultMaxConnections = 5000

// handshakeTimeout bounds how long a new connection may take for its TLS handshake and HTTP/2's
// preface. Without it gRPC waits two minutes, so connections that never speak pile up against the
// connection limit (and, without the limit, against the process's file limit).
const handshakeTimeout = 10 * time.Second

// WithHandshakeTimeout closes a connection that has not completed its handshake (TLS, and HTTP/2's
// preface) within d; zero keeps the default of 10 s.
func WithHandshakeTimeout(d time.Duration) ServerOption {
	return func(c *serverConfig) { c.handshakeTimeout = d }
}

// LimitListener returns l holding at most n connections open at once. Over the limit, Accept waits
// for one to close: further clients wait in the kernel's accept queue (and past it, their SYNs are
// dropped and retried) instead of each taking one of the process's file descriptors, which the web
// server, k6 children and log files need too.
func LimitListener(l net.Listener, n int) net.Listener {
	return netutil.LimitListener(l, max(n, 1))
}

// ConnectionLimit is how many worker connections to allow when want are asked for and the process
// may open fdLimit file descriptors (RLIMIT_NOFILE's soft limit; Go raises it to the hard limit at
// start): it leaves a quarter of them, at least 256 (half of a tiny limit), to everything else.
func ConnectionLimit(want int, fdLimit uint64) int {
	if fdLimit == 0 || fdLimit > 1<<30 { // unknown, or effectively unlimited
		return want
	}
	reserve := max(fdLimit/4, min(256, fdLimit/2))
	return max(1, min(want, int(fdLimit-reserve)))
}
