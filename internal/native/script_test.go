package native

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// scriptFlow is a one-request class run by one scenario, main, whose executor lines are ex.
func scriptFlow(ex string) string {
	return `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
classes:
  home:
    steps:
      - get: /
        name: home
        headers: { X-User: "${vu}" }
scenarios:
  main:
    class: home
` + ex
}

// runScript runs src in script mode on segment seg of "0,1/2,1" ("" for the whole test) until
// it ends by itself, and returns the requests the target saw, the users that sent them, and
// the iterations and dropped iterations the deltas report for scenario main.
func runScript(t *testing.T, src, seg string) (served, users int, iters, dropped uint64) {
	t.Helper()
	tg := newTarget(t, nil)
	r := start(t, context.Background(), src, tg, nil, func(o *Options) {
		o.Script = true
		if seg != "" {
			o.Segment, o.SegmentSequence = seg, "0,1/2,1"
		}
		o.Submetrics = []string{"http_reqs{scenario:main}", "iterations{scenario:main}", "dropped_iterations{scenario:main}"}
	})
	ctx := context.Background()
	if err := r.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.SetVUs(ctx, 1, 1); err == nil {
		t.Error("SetVUs in script mode: no error")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := r.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Ended() {
			if st.Interrupted() {
				t.Fatalf("status %+v: interrupted, want ended", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scenarios did not end: status %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := r.liveUsers(); n != 0 {
		t.Errorf("%d users still live after the end", n)
	}
	r.end(t)
	d := r.snapshot()
	if got, want := metricCount(d, "http_reqs{scenario:main}"), uint64(tg.count("/")); got != want {
		t.Errorf("http_reqs{scenario:main}: %d, the target served %d", got, want)
	}
	var drops uint64
	if m := d.Metrics["dropped_iterations{scenario:main}"]; m != nil {
		drops = uint64(m.Sum)
	}
	return tg.count("/"), tg.distinctUsers("/"), metricCount(d, "iterations{scenario:main}"), drops
}

// TestScriptExecutorsSplit: each executor runs exactly k6's figures for the whole test, and the
// two halves of the sequence 0,1/2,1 run shares that add up to it, split as k6 splits them.
func TestScriptExecutorsSplit(t *testing.T) {
	tests := []struct {
		name   string
		ex     string
		whole  int
		halves [2]int
		users  [3]int // whole, first half, second half
	}{
		{"shared-iterations", "    executor: shared-iterations\n    vus: 10\n    iterations: 10001\n", 10001, [2]int{5001, 5000}, [3]int{10, 5, 5}},
		{"per-vu-iterations", "    executor: per-vu-iterations\n    vus: 3\n    iterations: 7\n", 21, [2]int{14, 7}, [3]int{3, 2, 1}},
		// 50 a second for 1s: the fleet's starts at 0, 20ms, ... 980ms, interleaved over the halves.
		{"constant-arrival-rate", "    executor: constant-arrival-rate\n    rate: 50\n    timeUnit: 1s\n    duration: 1s\n    preAllocatedVUs: 4\n    maxVUs: 4\n", 50, [2]int{25, 25}, [3]int{-1, -1, -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := scriptFlow(tc.ex)
			for i, seg := range []string{"", "0:1/2", "1/2:1"} {
				want := tc.whole
				if i > 0 {
					want = tc.halves[i-1]
				}
				served, users, iters, dropped := runScript(t, src, seg)
				// An arrival-rate start with no free user is dropped, not run: both count.
				if got := served + int(dropped); got != want || iters != uint64(served) {
					t.Errorf("segment %q: %d requests + %d dropped, %d iterations; want %d in all", seg, served, dropped, iters, want)
				}
				if tc.users[i] >= 0 && users != tc.users[i] {
					t.Errorf("segment %q: %d users, want %d", seg, users, tc.users[i])
				}
			}
			if tc.halves[0]+tc.halves[1] != tc.whole {
				t.Fatalf("the halves %v do not add up to %d", tc.halves, tc.whole)
			}
		})
	}
}

// TestScriptConstantVUs: constant-vus runs its (segment's) users for its duration and ends by
// itself; the users are split 2 + 1 as k6 splits 3.
func TestScriptConstantVUs(t *testing.T) {
	src := scriptFlow("    executor: constant-vus\n    vus: 3\n    duration: 1s\n")
	for _, tc := range []struct {
		seg   string
		users int
	}{{"", 3}, {"0:1/2", 2}, {"1/2:1", 1}} {
		t.Run(fmt.Sprintf("segment %q", tc.seg), func(t *testing.T) {
			served, users, iters, _ := runScript(t, src, tc.seg)
			if served == 0 || iters != uint64(served) || users != tc.users {
				t.Errorf("%d requests, %d iterations, %d users; want some, as many, %d", served, iters, users, tc.users)
			}
		})
	}
}

// TestScriptStop: Stop ends a long scenario early; the engine then exits with code 0.
func TestScriptStop(t *testing.T) {
	tg := newTarget(t, nil)
	r := start(t, context.Background(), scriptFlow("    executor: constant-vus\n    vus: 2\n    duration: 1h\n"), tg, nil,
		func(o *Options) { o.Script = true })
	ctx := context.Background()
	if err := r.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "requests", func() bool { return tg.total() >= 10 })
	r.end(t)
	if n := r.liveUsers(); n != 0 {
		t.Errorf("%d users live after Stop", n)
	}
	served := tg.total()
	if got := metricCount(r.snapshot(), "http_reqs"); got != uint64(served) {
		t.Errorf("http_reqs %d, the target served %d", got, served)
	}
}

// TestScriptStartTime: a scenario waits for its startTime; the engine ends once both have run.
func TestScriptStartTime(t *testing.T) {
	src := `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
classes:
  a:
    steps:
      - get: /a
  b:
    steps:
      - get: /b
scenarios:
  first:
    executor: per-vu-iterations
    class: a
    vus: 1
    iterations: 3
  later:
    executor: shared-iterations
    class: b
    startTime: 200ms
    vus: 2
    iterations: 5
`
	tg := newTarget(t, nil)
	r := start(t, context.Background(), src, tg, nil, func(o *Options) { o.Script = true })
	ctx := context.Background()
	if err := r.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the end", func() bool { st, _ := r.Status(ctx); return st.Ended() })
	r.end(t)
	if a, b := tg.count("/a"), tg.count("/b"); a != 3 || b != 5 {
		t.Errorf("/a %d, /b %d; want 3 and 5", a, b)
	}
}

// TestStripes: the halves of 0,1/2,1 take every other start of the fleet.
func TestStripes(t *testing.T) {
	s := newStripes(10*time.Millisecond, 1, []int64{2})
	for i, want := range []time.Duration{10, 30, 50} {
		if got := s.next(); got != want*time.Millisecond {
			t.Errorf("start %d: %s, want %dms", i, got, want)
		}
	}
}
