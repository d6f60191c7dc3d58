//go:build linux

// Package e2e holds Stampede's end-to-end tests: real stampede-master, stampede-worker and demo
// target processes over loopback, running the real k6 engine. The target's own request count is the
// ground truth the tests compare Stampede's numbers with. It has no non-test code, and builds on Linux
// only: the tests read /proc and signal process groups. Other OSes get `make cross` and, for
// linux/arm64, a swarm under qemu-user (arm64_test.go).
package e2e
