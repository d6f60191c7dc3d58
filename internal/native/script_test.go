package native

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/scenario/flow"
	"go.k6.io/k6/lib"
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

// runToEnd runs src in script mode against tg (edit, if not nil, changes the options) until its
// scenarios end by themselves, and stops the engine.
func runToEnd(t *testing.T, src string, tg *target, edit func(*Options)) *run {
	t.Helper()
	r := start(t, context.Background(), src, tg, nil, func(o *Options) {
		o.Script = true
		if edit != nil {
			edit(o)
		}
	})
	ctx := context.Background()
	if err := r.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the end", func() bool { st, _ := r.Status(ctx); return st.Ended() })
	r.end(t)
	return r
}

// runScript runs src in script mode on segment seg of "0,1/2,1" ("" for the whole test) until
// it ends by itself, passing watch (if not nil) each status it polls meanwhile with the time
// since just before Resume, and returns the requests the target saw, the users that sent them, and
// the iterations and dropped iterations the deltas report for scenario main.
func runScript(t *testing.T, src, seg string, watch func(time.Duration, k6run.Status)) (served, users int, iters, dropped uint64) {
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
	resumed := time.Now()
	if err := r.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.SetVUs(ctx, 1, 1); err == nil {
		t.Error("SetVUs in script mode: no error")
	}
	deadline := time.Now().Add(time.Minute) // only a hang fails here
	for {
		st, err := r.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if watch != nil {
			watch(time.Since(resumed), st)
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
		// One VU: the second half has none and runs nothing, as k6's HasWork says (no error).
		{"shared-iterations, one VU", "    executor: shared-iterations\n    vus: 1\n    iterations: 5\n", 5, [2]int{5, 0}, [3]int{1, 1, 0}},
		{"constant-arrival-rate, one VU", "    executor: constant-arrival-rate\n    rate: 20\n    timeUnit: 1s\n    duration: 1s\n    preAllocatedVUs: 1\n", 20, [2]int{20, 0}, [3]int{-1, -1, -1}},
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
				served, users, iters, dropped := runScript(t, src, seg, nil)
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
			served, users, iters, _ := runScript(t, src, tc.seg, nil)
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
	runToEnd(t, src, tg, nil)
	if a, b := tg.count("/a"), tg.count("/b"); a != 3 || b != 5 {
		t.Errorf("/a %d, /b %d; want 3 and 5", a, b)
	}
}

// TestStripes: the halves of 0,1/2,1 take every other iteration number of the fleet.
func TestStripes(t *testing.T) {
	s := newStripes(1, []int64{2})
	for k, want := range []int64{1, 3, 5} {
		if got := s.next(); got != want {
			t.Errorf("number %d: %d, want %d", k, got, want)
		}
	}
}

// TestScriptRampingVUs: ramping-vus's users follow k6's plan for the segment: never more than
// the plan has had so far (the engine's clock starts after the test's, so it cannot be ahead),
// all of the peak on the plateau, then fewer but some as they ramp down, and the engine ends
// by itself. The halves' peaks, 3 and 2, add up to the whole's 5.
func TestScriptRampingVUs(t *testing.T) {
	src := scriptFlow("    executor: ramping-vus\n    startVUs: 0\n    stages:\n" +
		"      - { duration: 300ms, target: 5 }\n      - { duration: 600ms, target: 5 }\n      - { duration: 600ms, target: 0 }\n")
	sc, err := flow.Parse("flow.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	peaks := map[string]int64{"": 5, "0:1/2": 3, "1/2:1": 2}
	for _, seg := range []string{"", "0:1/2", "1/2:1"} {
		t.Run(fmt.Sprintf("segment %q", seg), func(t *testing.T) {
			plan := planRampingVUs(sc.Scenarios[0], tuple(t, seg))
			var peak int64
			down := false // a sample after the peak with fewer users, but some
			served, users, iters, _ := runScript(t, src, seg, func(since time.Duration, st k6run.Status) {
				if st.Ended() {
					return
				}
				var most uint64 // the most VUs the plan has had by now
				for _, s := range plan.graceful {
					if s.TimeOffset <= since {
						most = max(most, s.PlannedVUs)
					}
				}
				if st.VUs > int64(most) {
					t.Errorf("%s after Resume: %d users, the plan has had at most %d", since, st.VUs, most)
				}
				peak = max(peak, st.VUs)
				down = down || peak == peaks[seg] && 0 < st.VUs && st.VUs < peak
			})
			if peak != peaks[seg] || users != int(peaks[seg]) {
				t.Errorf("peak %d users, %d sent requests; want %d", peak, users, peaks[seg])
			}
			if !down {
				t.Error("the users did not ramp down: no sample after the peak had fewer, but some")
			}
			if served == 0 || iters != uint64(served) {
				t.Errorf("%d requests, %d iterations; want some, as many", served, iters)
			}
		})
	}
	if peaks["0:1/2"]+peaks["1/2:1"] != peaks[""] {
		t.Fatal("the halves' peaks do not add up to the whole's")
	}
}

// TestRampPlan: the raw steps (VUs running iterations) are k6's, for the whole test and for
// each half of 0,1/2,1, and the halves' VUs add up to the whole's at every moment.
func TestRampPlan(t *testing.T) {
	ex := &flow.Executor{Name: "main", Type: "ramping-vus", GracefulStop: 30 * time.Second, GracefulRampDown: 30 * time.Second,
		Stages: []flow.RampStage{{Duration: 300 * time.Millisecond, Target: 5}, {Duration: 600 * time.Millisecond, Target: 5}, {Duration: 300 * time.Millisecond, Target: 0}}}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := map[string][]lib.ExecutionStep{
		"": {{TimeOffset: 0, PlannedVUs: 0}, {TimeOffset: ms(60), PlannedVUs: 1}, {TimeOffset: ms(120), PlannedVUs: 2}, {TimeOffset: ms(180), PlannedVUs: 3},
			{TimeOffset: ms(240), PlannedVUs: 4}, {TimeOffset: ms(300), PlannedVUs: 5}, {TimeOffset: ms(960), PlannedVUs: 4}, {TimeOffset: ms(1020), PlannedVUs: 3},
			{TimeOffset: ms(1080), PlannedVUs: 2}, {TimeOffset: ms(1140), PlannedVUs: 1}, {TimeOffset: ms(1200), PlannedVUs: 0}},
		"0:1/2": {{TimeOffset: 0, PlannedVUs: 0}, {TimeOffset: ms(60), PlannedVUs: 1}, {TimeOffset: ms(180), PlannedVUs: 2}, {TimeOffset: ms(300), PlannedVUs: 3},
			{TimeOffset: ms(960), PlannedVUs: 2}, {TimeOffset: ms(1080), PlannedVUs: 1}, {TimeOffset: ms(1200), PlannedVUs: 0}},
		"1/2:1": {{TimeOffset: 0, PlannedVUs: 0}, {TimeOffset: ms(120), PlannedVUs: 1}, {TimeOffset: ms(240), PlannedVUs: 2},
			{TimeOffset: ms(1020), PlannedVUs: 1}, {TimeOffset: ms(1140), PlannedVUs: 0}},
	}
	at := func(steps []lib.ExecutionStep, d time.Duration) (n uint64) {
		for _, s := range steps {
			if s.TimeOffset <= d {
				n = s.PlannedVUs
			}
		}
		return n
	}
	plans := map[string]rampPlan{}
	for seg, want := range tests {
		p := planRampingVUs(ex, tuple(t, seg))
		if !slices.Equal(p.raw, want) {
			t.Errorf("segment %q: raw steps %v, want %v", seg, p.raw, want)
		}
		if end, final := lib.GetEndOffset(p.graceful); end != 31200*time.Millisecond && end != 31140*time.Millisecond || !final {
			t.Errorf("segment %q: graceful end %s (final %t), want the stages' end + gracefulStop", seg, end, final)
		}
		plans[seg] = p
	}
	for d := time.Duration(0); d <= ms(1300); d += ms(10) {
		if a, b, all := at(plans["0:1/2"].raw, d), at(plans["1/2:1"].raw, d), at(plans[""].raw, d); a+b != all {
			t.Errorf("at %s: %d + %d VUs, the whole test %d", d, a, b, all)
		}
	}
}

// tuple is the execution tuple of segment seg of 0,1/2,1 ("" for the whole test).
func tuple(t *testing.T, seg string) *lib.ExecutionTuple {
	t.Helper()
	if seg == "" {
		et, err := lib.NewExecutionTuple(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return et
	}
	s, err := lib.NewExecutionSegmentFromString(seg)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := lib.NewExecutionSegmentSequenceFromString("0,1/2,1")
	if err != nil {
		t.Fatal(err)
	}
	et, err := lib.NewExecutionTuple(s, &seq)
	if err != nil {
		t.Fatal(err)
	}
	return et
}

// TestScriptScenarioTags: an executor's tags are on every sample its scenario records, under the
// system tags, so thresholds on sub-metrics that select on them judge that scenario's samples
// only, as they would for a k6 script's scenarios: passing and failing ones, on requests,
// iterations and checks. A system tag (name) wins over an executor's tag of the same name.
func TestScriptScenarioTags(t *testing.T) {
	src := `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
classes:
  a:
    steps:
      - get: /a
        name: a
        check: { status: 200 }
  b:
    steps:
      - get: /b
        name: b
scenarios:
  api:
    executor: per-vu-iterations
    class: a
    vus: 1
    iterations: 3
    tags: { type: api, name: tagged }
  web:
    executor: shared-iterations
    class: b
    vus: 2
    iterations: 5
    tags: { type: web }
thresholds:
  http_reqs{type:api}: ["count==3"]
  http_reqs{type:web}: ["count<5"]
  iterations{type:web}: ["count==5"]
  checks{type:api}: ["rate==1"]
  http_req_duration{type:api,scenario:api}: ["max<60000"]
  http_reqs{name:tagged}: ["count>0"]
  iterations{name:tagged}: ["count==3"]
`
	tg := newTarget(t, nil)
	r := runToEnd(t, src, tg, nil)
	if a, b := tg.count("/a"), tg.count("/b"); a != 3 || b != 5 {
		t.Fatalf("/a %d, /b %d; want 3 and 5", a, b)
	}
	d := r.snapshot()
	type verdict struct {
		holds bool
		value float64 // -1: no data; NaN: any
	}
	want := map[string]verdict{
		"http_reqs{type:api}: count==3":                       {true, 3},
		"http_reqs{type:web}: count<5":                        {false, 5},
		"iterations{type:web}: count==5":                      {true, 5},
		"checks{type:api}: rate==1":                           {true, 1},
		"http_req_duration{scenario:api,type:api}: max<60000": {true, math.NaN()},
		"http_reqs{name:tagged}: count>0":                     {false, -1}, // requests carry their own name
		"iterations{name:tagged}: count==3":                   {true, 3},   // an iteration has no name tag: the executor's
	}
	sc := r.sc
	if len(sc.Thresholds) != len(want) {
		t.Fatalf("%d thresholds parsed, want %d", len(sc.Thresholds), len(want))
	}
	for _, th := range sc.Thresholds {
		key := th.Selector.Key() + ": " + th.Source
		v, ok := th.Observe(d.Metrics[th.Selector.Key()], time.Second)
		w, known := want[key]
		if !known {
			t.Fatalf("threshold %s: not expected", key)
		}
		got := ok && th.Holds(v)
		if got != w.holds || ok != (w.value != -1) || ok && !math.IsNaN(w.value) && v != w.value {
			t.Errorf("%s: holds %t (value %v, data %t), want %t (value %v)", key, got, v, ok, w.holds, w.value)
		}
	}
}
