// Package scenario says what a Stampede test is, independent of how it is
// transported or run.
//
// A test starts as a k6 script on the master's disk. LoadBundle turns it into
// a Bundle: the entry script plus every local module and data file it
// imports, requires or opens, keyed by slash-separated paths under their
// deepest common directory. The bundle goes over the network as it is, and
// each worker checks it (Validate) and writes it to a directory of its own
// (Write) before starting k6 on the entry:
//
//	b, err := scenario.LoadBundle("examples/quickstart.js")
//	...
//	entry, err := b.Write(dir) // on the worker; refuses paths that leave dir
//
// A test runs in one of two modes.
//
// In swarm mode (Locust style) the master owns the number of users.
// WithSwarmWrapper adds a generated entry module that re-exports the script
// but replaces its scenarios with one externally-controlled scenario, whose
// VUs the worker then changes through k6's REST API.
//
// In script mode the script's own k6 scenarios run as written, split across
// N workers with k6 execution segments: worker i of n runs with
// --execution-segment Segment(i, n) and --execution-segment-sequence
// SegmentSequence(n). The segments are exact rationals, so the shares add up
// to the whole test with nothing lost to rounding.
//
// ParseInspect reads what the master needs (scenarios, thresholds, total
// duration, peak VUs) from `k6 inspect --execution-requirements`, which k6
// runs elsewhere: this package imports only the standard library.
//
// Concurrency: every function is safe to call concurrently. A Bundle is a
// plain value; it may be read from many goroutines, but not while one of them
// changes it.
package scenario
