package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/stampede-load/stampede/internal/native"
	"github.com/stampede-load/stampede/scenario/flow"
)

// idleFlow is a user that makes one request and then thinks for 10 s (the idle user).
const idleFlow = `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
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
	s, err := flow.Parse("idle.yaml", []byte(idleFlow))
	if err != nil {
		return err
	}
	before := memNow()
	ctx := context.Background()
	e, err := native.Start(ctx, native.Options{Scenario: s, Env: map[string]string{"TARGET": base}, FlushInterval: time.Second})
	if err != nil {
		return err
	}
	go func() {
		for range e.Deltas() { // the stats, dropped
		}
	}()
	defer func() {
		e.Kill()
		<-e.Exited()
	}()
	if err := e.Resume(ctx); err != nil {
		return err
	}
	n := int64(c.engineIdle)
	if err := e.SetVUs(ctx, n, n); err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for served(base) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d users made their first request", served(base), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	after := memNow()
	per := float64(n)
	fmt.Printf("%d idle users of the native engine (one request each, then thinking 10 s on an open connection)\n", n)
	fmt.Printf("  Go heap in use      %8.0f bytes a user\n", float64(after.heap-before.heap)/per)
	fmt.Printf("  goroutine stacks    %8.0f bytes a user\n", float64(after.stack-before.stack)/per)
	fmt.Printf("  Go runtime total    %8.0f bytes a user (Sys)\n", float64(after.sys-before.sys)/per)
	fmt.Printf("  process RSS         %8.0f bytes a user\n", float64(after.rss-before.rss)/per)
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
