// Package report turns a finished run (master.Result) into what people and tools read: the
// Locust-style text summary with k6-style checks, and the versioned JSON summary. Every writer is a
// pure function of the result; none keeps state, so all are safe for concurrent use.
package report
