// Package worker is the core of a Stampede worker: it keeps one session with its master, runs each
// assignment in a k6 child process, forwards the child's stats deltas, applies live control, and stops
// its load when the master is gone.
//
// The transport is not here: internal/rpc implements [Dialer] and [Session] over gRPC and converts
// between protobuf and the messages of internal/protocol ([protocol.Command], [protocol.Event]).
//
// Guarantees:
//   - Stats deltas carry a sequence number that grows for the worker's whole life; deltas stay in an
//     outbox until the master acknowledges them and are resent, in order, after a reconnect, so the
//     master can drop what it already merged: nothing lost, nothing counted twice.
//   - Liveness is separate from bulk stats: heartbeats go out every second from their own goroutine.
//   - When no message came from the master for Options.MasterTimeout, or the session breaks, the
//     running k6 child is stopped at once: a load generator never runs unsupervised.
//   - When Run's context ends (SIGTERM), the session stays open until the child is stopped, its last
//     deltas are sent and the master acknowledged them (bounded), so a stopping worker loses nothing.
//
// A Worker is used by calling Run once; it is safe for the session and run goroutines it starts.
package worker
