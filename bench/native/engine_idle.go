package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/stampede-load/stampede/internal/native"
	"github.com/stampede-load/stampede/scenario/flow"
)

// idleFlow is a user that makes one request and then thinks for 10 s (the idle user),
// with or without shared connections (%v).
const idleFlow = `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
shareConnections: %v
think: { constant: 10s }
classes:
  idle:
    steps: [ { get: / } ]
`

// runEngineIdle holds c.engineIdle users of the native engine itself, each having made its first
// request and thinking for 10 s with its connection open, and reports the memory per user: what
// the engine adds over the bare h1 users of runIdle (a user's goroutine, program state, cookie
// jar, stats shard).
func runEngineIdle(c config) error {
	base, stop, err := startTarget(c.targetBin, "")
	if err != nil {
		return err
	}
	defer stop()
	s, err := flow.Parse("idle.yaml", fmt.Appendf(nil, idleFlow, c.share))
	if err != nil {
		return err
	}
	before := memNow()
	ctx := context.Background()
	e, err := native.Start(ctx, native.Options{Scenario: s, Env: map[string]string{"TARGET": base}, FlushInterval: time.Second})
	if err != nil {
		return err
	}
	var failed atomic.Int64
	go func() {
		for d := range e.Deltas() {
			for _, en := range d.Entries {
				failed.Add(int64(en.Failures))
			}
		}
	}()
	defer func() {
		e.Kill()
		<-e.Exited()
	}()
	if err := e.Resume(ctx); err != nil {
		return err
	}
	// Users join as a swarm spawns them, 20,000 a second, and not all in one instant: at once,
	// 100,000 first requests would be in flight together, each on a connection of its own.
	n := int64(c.engineIdle)
	for have := int64(0); have < n; {
		have = min(n, have+1000)
		if err := e.SetVUs(ctx, have, n); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for served(base) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d users made their first request", served(base), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	after := memNow()
	files := openFiles()
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d requests failed: the figures would not be of idle users", f)
	}
	per := float64(n)
	if c.share {
		fmt.Printf("%d idle users of the native engine (one request each, then thinking 10 s; shared connections)\n", n)
	} else {
		fmt.Printf("%d idle users of the native engine (one request each, then thinking 10 s on an open connection)\n", n)
	}
	fmt.Printf("  open files          %8d in the process\n", files)
	fmt.Printf("  Go heap in use      %8.0f bytes a user\n", float64(after.heap-before.heap)/per)
	fmt.Printf("  goroutine stacks    %8.0f bytes a user\n", float64(after.stack-before.stack)/per)
	fmt.Printf("  Go runtime total    %8.0f bytes a user (Sys)\n", float64(after.sys-before.sys)/per)
	fmt.Printf("  process RSS         %8.0f bytes a user (%.0f MiB before the users, %.0f MiB with them)\n",
		float64(after.rss-before.rss)/per, float64(before.rss)/(1<<20), float64(after.rss)/(1<<20))
	return nil
}

// served is the requests the target counted (GET /stats), 0 when it cannot tell.
func served(base string) int64 {
	resp, err := http.Get(base + "/stats")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var st struct {
		Total int64 `json:"total"`
	}
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return 0
	}
	return st.Total
}

// openFiles is the number of file descriptors the process has open, -1 when unknown.
func openFiles() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(fds)
}
