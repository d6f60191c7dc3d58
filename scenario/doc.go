// Package scenario says what a Stampede test is, independent of how it is
// transported or run.
//
// A test is a k6 archive (Archive), as `k6 archive` writes it and `k6 run`
// runs it: the master makes one of the user's script with its embedded k6,
// which runs the script's init code and records every module and file it
// loads, whatever their paths are computed from, or takes the archive the user
// gave. ReadArchive reads one and Check holds it to the master's Limits. Its
// Bundle (one file, ArchiveName) goes over the network as it is, and each
// worker checks it (Validate) and writes it to a directory of its own (Write)
// before starting k6 on it.
//
// A test runs in one of two modes.
//
// In swarm mode (Locust style) the master owns the number of users. k6 runs an
// archive with the options recorded in it, so SwarmArchive replaces them: one
// externally-controlled scenario running the script's default function, whose
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
