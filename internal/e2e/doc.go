// Package e2e holds Stampede's end-to-end tests: real stampede-master, stampede-worker and demo
// target processes over loopback, running the real k6 engine. The target's own request count is the
// ground truth the tests compare Stampede's numbers with. It has no non-test code.
package e2e
