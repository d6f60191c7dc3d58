package native

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/internal/stats"
)

const twoClasses = `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
classes:
  a:
    weight: 3
    steps:
      - get: /a
        headers: { X-User: "${vu}" }
  b:
    weight: 1
    steps:
      - get: /b
        headers: { X-User: "${vu}" }
`

// TestExactCounts: what the target saw is exactly what the deltas say, request for request,
// and every one-request iteration is counted once.
func TestExactCounts(t *testing.T) {
	tests := []struct {
		name  string
		users int64
		want  int
	}{
		{"one user", 1, 50},
		{"eight users", 8, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := newTarget(t, nil)
			r := start(t, context.Background(), `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
classes:
  home:
    steps:
      - get: /
        name: home
        check: { status: 200 }
`, tg, nil, nil)
			ctx := context.Background()
			if err := r.WaitReady(ctx); err != nil {
				t.Fatal(err)
			}
			if err := r.Resume(ctx); err != nil {
				t.Fatal(err)
			}
			if err := r.SetVUs(ctx, tc.users, tc.users); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "requests", func() bool { return tg.total() >= tc.want })
			st, err := r.Status(ctx)
			if err != nil || st.VUs != tc.users || !st.Running {
				t.Fatalf("status %+v, %v", st, err)
			}
			r.end(t)
			d := r.snapshot()
			served := uint64(tg.total())
			k := stats.Key{Name: "home", Method: "GET", Status: "200"}
			if e := d.Entries[k]; e == nil || e.Requests != served || e.Failures != 0 || e.SizedRequests != served {
				t.Fatalf("entry %+v, the target served %d", e, served)
			}
			if len(d.Entries) != 1 {
				t.Errorf("entries %v", d.Entries)
			}
			for _, m := range []string{"http_reqs", "http_req_duration", "http_req_waiting", "http_req_failed", "iterations", "iteration_duration", "checks", "http_req_duration{expected_response:true}"} {
				if n := metricCount(d, m); n != served {
					t.Errorf("%s: %d samples, want %d", m, n, served)
				}
			}
			if m := d.Metrics["http_req_failed"]; m.Trues != 0 || m.Type != stats.Rate {
				t.Errorf("http_req_failed %+v", m)
			}
			if m := d.Metrics["http_req_duration"]; m.Contains != "time" || m.Type != stats.Trend {
				t.Errorf("http_req_duration %+v", m)
			}
			if c := d.Checks[stats.CheckKey{Name: "home: status is 200"}]; c == nil || c.Passes != served || c.Fails != 0 {
				t.Errorf("check %+v", c)
			}
			if m := d.Metrics["data_received"]; m == nil || m.Sum <= 0 || m.Contains != "data" {
				t.Errorf("data_received %+v", m)
			}
		})
	}
}

// TestSwarm: SetVUs and SetClasses give each class exactly its users, starting the short
// classes' and stopping the newest of the classes over.
func TestSwarm(t *testing.T) {
	tg := newTarget(t, nil)
	r := start(t, context.Background(), twoClasses, tg, nil, nil)
	ctx := context.Background()
	if err := r.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	expect := func(a, b int) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%d+%d users", a, b), func() bool { return r.liveUsers() == a+b })
		if r.classUsers("a") != a || r.classUsers("b") != b {
			t.Fatalf("classes a=%d b=%d, want %d and %d", r.classUsers("a"), r.classUsers("b"), a, b)
		}
		tg.reset()
		// Only live users request from now on: each class's distinct users are its count.
		waitFor(t, "every user to request", func() bool {
			return tg.distinctUsers("/a") == a && tg.distinctUsers("/b") == b
		})
		st, _ := r.Status(ctx)
		if st.VUs != int64(a+b) {
			t.Fatalf("status VUs %d, want %d", st.VUs, a+b)
		}
	}
	steps := []struct {
		name    string
		vus     int64
		classes map[string]int64
		a, b    int
	}{
		{name: "by weight", vus: 4, a: 3, b: 1},
		{name: "up by weight, largest remainder", vus: 6, a: 5, b: 1}, // 4.5 and 1.5: a first
		{name: "down", vus: 2, a: 2, b: 0},
		{name: "classes", vus: 5, classes: map[string]int64{"a": 1, "b": 4}, a: 1, b: 4},
		{name: "classes swapped", vus: 5, classes: map[string]int64{"a": 4, "b": 1}, a: 4, b: 1},
		{name: "none", vus: 0, classes: map[string]int64{"a": 0, "b": 0}, a: 0, b: 0},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.classes != nil {
				if err := r.SetClasses(s.classes); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.SetVUs(ctx, s.vus, s.vus); err != nil {
				t.Fatal(err)
			}
			if s.a+s.b > 0 {
				expect(s.a, s.b)
			} else {
				waitFor(t, "no users", func() bool { return r.liveUsers() == 0 })
			}
		})
	}
	if err := r.SetClasses(map[string]int64{"c": 1}); err == nil {
		t.Error("a class the run lacks was accepted")
	}
	r.end(t)
}

// TestUsersKeepTheirNumbers: users stopped and started again take the lowest free numbers,
// so each: user rows stay those of users 1..n.
func TestUsersKeepTheirNumbers(t *testing.T) {
	tg := newTarget(t, nil)
	r := start(t, context.Background(), twoClasses, tg, nil, func(o *Options) { o.Classes = []string{"a"} })
	ctx := context.Background()
	_ = r.Resume(ctx)
	for _, n := range []int64{3, 1, 3} {
		_ = r.SetVUs(ctx, n, n)
		waitFor(t, "users", func() bool { return r.liveUsers() == int(n) })
	}
	tg.reset()
	waitFor(t, "three users", func() bool { return tg.distinctUsers("/a") == 3 })
	tg.mu.Lock()
	got := tg.users["/a"]
	tg.mu.Unlock()
	for _, vu := range []string{"1", "2", "3"} {
		if !got[vu] {
			t.Errorf("users %v, want 1, 2 and 3", got)
		}
	}
	if tg.count("/b") != 0 {
		t.Error("class b ran, though the run uses a only")
	}
	r.end(t)
}

// demo is a shop-like target: /login returns a token and a session cookie, /data wants both.
func demo(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case "/login":
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return true
		}
		var body struct{ User string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s-" + body.User, Path: "/"})
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"token":"t-%s","count":10}`, body.User)
		return true
	case "/data":
		c, err := r.Cookie("sid")
		if err != nil || r.Header.Get("Authorization") != "Bearer t-"+strings.TrimPrefix(c.Value, "s-") {
			w.WriteHeader(http.StatusUnauthorized)
			return true
		}
		fmt.Fprintf(w, `{"items":[{"id":1,"name":"item-01"}],"user":%q}`, r.URL.Query().Get("u"))
		return true
	case "/empty":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
		return true
	}
	return false
}

// TestCapturesAndChecks: a token captured at onStart goes into a header, the session cookie is
// sent back, JSON checks pass; a capture that finds nothing fails a check and ends the
// iteration before its next step.
func TestCapturesAndChecks(t *testing.T) {
	tg := newTarget(t, demo)
	r := start(t, context.Background(), `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
classes:
  shopper:
    onStart:
      - post: /login
        name: login
        json: { user: "u${vu}" }
        capture: { token: { json: $.token }, sid: { cookie: sid }, type: { header: Content-Type } }
        check: { status: 200, json: { $.count: 10 } }
    steps:
      - group: browse
        steps:
          - get: /data
            name: data
            query: { u: "${vu}" }
            headers: { Authorization: "Bearer ${token}" }
            capture: { first: { regex: '"name":"([^"]+)"' } }
            check: { status: 200, body: { contains: item-01, notContains: error, matches: 'item-0[0-9]' }, json: { "$.items[0].id": 1 } }
      - get: /empty
        name: empty
        capture: { nope: { json: $.missing } }
      - get: /never?x=${first}
        name: never
`, tg, nil, nil)
	ctx := context.Background()
	_ = r.Resume(ctx)
	_ = r.SetVUs(ctx, 2, 2)
	waitFor(t, "iterations", func() bool { return tg.count("/empty") >= 20 })
	r.end(t)
	d := r.snapshot()
	if tg.count("/never") != 0 {
		t.Errorf("the step after a failed capture ran %d times", tg.count("/never"))
	}
	if n := tg.count("/login"); n != 2 {
		t.Errorf("%d logins, want one per user", n)
	}
	if e := d.Entries[stats.Key{Name: "data", Method: "GET", Status: "401"}]; e != nil {
		t.Fatalf("%d requests were refused: token or cookie missing", e.Requests)
	}
	data := d.Entries[stats.Key{Name: "data", Method: "GET", Status: "200"}]
	if data == nil || data.Requests != uint64(tg.count("/data")) {
		t.Fatalf("data row %+v, target saw %d", data, tg.count("/data"))
	}
	for _, name := range []string{"data: status is 200", `data: body contains "item-01"`, `data: body does not contain "error"`,
		"data: body matches /item-0[0-9]/", "data: $.items[0].id is 1"} {
		c := d.Checks[stats.CheckKey{Group: "::browse", Name: name}]
		if c == nil || c.Fails != 0 || c.Passes != data.Requests {
			t.Errorf("check %q: %+v, want %d passes", name, c, data.Requests)
		}
	}
	for _, name := range []string{"login: status is 200", "login: $.count is 10"} {
		if c := d.Checks[stats.CheckKey{Name: name}]; c == nil || c.Passes != 2 || c.Fails != 0 {
			t.Errorf("check %q: %+v", name, c)
		}
	}
	failed := d.Checks[stats.CheckKey{Name: "empty: capture nope"}]
	if failed == nil || failed.Passes != 0 || failed.Fails != uint64(tg.count("/empty")) {
		t.Errorf("failed capture check %+v, want %d fails", failed, tg.count("/empty"))
	}
	// Each iteration counts, though its capture failed.
	if n := metricCount(d, "iterations"); n != uint64(tg.count("/empty")) {
		t.Errorf("%d iterations, %d reached /empty", n, tg.count("/empty"))
	}
	if n := metricCount(d, "group_duration"); n != data.Requests {
		t.Errorf("%d group_duration samples, want one per group run (%d)", n, data.Requests)
	}
}

// TestSetupAndTeardown: setup's captures reach the users through SetSetupData, and teardown.
func TestSetupAndTeardown(t *testing.T) {
	tg := newTarget(t, demo)
	r := start(t, context.Background(), `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
setup:
  - post: /login
    json: { user: admin }
    capture: { adminToken: { json: $.token } }
teardown:
  - get: /bye
    headers: { X-Value: "${adminToken}" }
classes:
  u:
    steps:
      - get: /use
        headers: { X-Value: "${adminToken}" }
`, tg, nil, nil)
	ctx := context.Background()
	data, err := r.Setup(ctx)
	if err != nil || string(data) != `{"adminToken":"t-admin"}` {
		t.Fatalf("setup: %s, %v", data, err)
	}
	if err := r.SetSetupData(ctx, data); err != nil {
		t.Fatal(err)
	}
	_ = r.Resume(ctx)
	_ = r.SetVUs(ctx, 1, 1)
	waitFor(t, "a request", func() bool { return tg.count("/use") > 0 })
	_ = r.Stop(ctx)
	if err := r.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if v := tg.values("/use"); v[0] != "t-admin" {
		t.Errorf("users sent %q", v[0])
	}
	if v := tg.values("/bye"); len(v) != 1 || v[0] != "t-admin" {
		t.Errorf("teardown sent %q", v)
	}
	st, _ := r.Status(ctx)
	if !st.Ended() || !st.Interrupted() {
		t.Errorf("status after stop %+v", st)
	}
	r.Terminate(time.Second)
	<-r.done
	d := r.snapshot()
	if e := d.Entries[stats.Key{Name: "/login", Method: "POST", Status: "200"}]; e == nil || e.Requests != 1 {
		t.Errorf("setup's request: %+v", e)
	}
}

// TestThinkPacing: with pacing 100ms an iteration starts at most every 100ms; measured over ten
// iterations with a generous upper bound.
func TestThinkPacing(t *testing.T) {
	tg := newTarget(t, nil)
	r := start(t, context.Background(), `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
think: { pacing: 100ms }
classes:
  u:
    steps: [ { get: / } ]
`, tg, nil, nil)
	ctx := context.Background()
	_ = r.Resume(ctx)
	_ = r.SetVUs(ctx, 1, 1)
	waitFor(t, "the first", func() bool { return tg.total() >= 1 })
	begin := time.Now()
	waitFor(t, "ten more", func() bool { return tg.total() >= 11 })
	took := time.Since(begin)
	if took < 900*time.Millisecond || took > 5*time.Second {
		t.Errorf("ten paced iterations took %s, want about 1s", took)
	}
	r.end(t)
}

// TestThinkTime is the pure function.
func TestThinkTime(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		elapsed time.Duration
		u, x    float64
		want    time.Duration
	}{
		{"constant", "1s", 0, 0.5, 1, time.Second},
		{"uniform low", "{uniform: [1s, 3s]}", 0, 0, 1, time.Second},
		{"uniform mid", "{uniform: [1s, 3s]}", 0, 0.5, 1, 2 * time.Second},
		{"pacing left", "{pacing: 2s}", 500 * time.Millisecond, 0, 1, 1500 * time.Millisecond},
		{"pacing none", "{pacing: 2s}", 3 * time.Second, 0, 1, 0},
		{"exponential", "{exponential: 2s}", 0, 0, 0.5, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, _ := parse(t, "kind: stampede/flow/v1\nthink: "+tc.src+"\nclasses:\n  u:\n    steps: [ { get: http://h/ } ]\n", nil)
			if got := thinkTime(sc.Think, tc.elapsed, tc.u, tc.x); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestStopFinishesRequestInFlight: Stop waits for the request in flight, which is recorded as
// answered, not cut off.
func TestStopFinishesRequestInFlight(t *testing.T) {
	release := make(chan struct{})
	var arrived atomic.Int64
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) bool {
		arrived.Add(1)
		<-release
		return false
	})
	r := start(t, context.Background(), `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
classes:
  u:
    steps: [ { get: /slow, name: slow } ]
`, tg, nil, nil)
	ctx := context.Background()
	_ = r.Resume(ctx)
	_ = r.SetVUs(ctx, 1, 1)
	waitFor(t, "the request", func() bool { return arrived.Load() == 1 })
	stopped := make(chan struct{})
	go func() {
		_ = r.Stop(ctx)
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a request was in flight")
	case <-time.After(50 * time.Millisecond): // a negative check: nothing to wait on
	}
	close(release)
	<-stopped
	r.Terminate(time.Second)
	<-r.done
	d := r.snapshot()
	if e := d.Entries[stats.Key{Name: "slow", Method: "GET", Status: "200"}]; e == nil || e.Requests != 1 {
		t.Fatalf("entries %v", d.Entries)
	}
	if len(d.Errors) != 0 || arrived.Load() != 1 {
		t.Errorf("errors %v, %d requests", d.Errors, arrived.Load())
	}
	if code, _ := r.ExitCode(); code != 0 {
		t.Errorf("exit code %d after a stop", code)
	}
}

// TestKillLeavesNoGoroutines: Kill, and the end of Start's context, cut requests off and every
// goroutine the engine started returns.
func TestKillLeavesNoGoroutines(t *testing.T) {
	for _, how := range []string{"kill", "context"} {
		t.Run(how, func(t *testing.T) {
			tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path == "/hang" {
					<-r.Context().Done()
					return true
				}
				return false
			})
			before := runtime.NumGoroutine()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := start(t, ctx, `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
think: 1ms
classes:
  a: { steps: [ { get: /hang } ] }
  b: { steps: [ { get: / }, { think: 1h } ] }
`, tg, nil, nil)
			_ = r.Resume(ctx)
			_ = r.SetVUs(ctx, 20, 20)
			waitFor(t, "requests", func() bool { return tg.count("/hang") >= 10 && tg.count("/") >= 10 })
			if how == "kill" {
				r.Kill()
			} else {
				cancel()
			}
			<-r.Exited()
			<-r.done
			if code, _ := r.ExitCode(); code != -1 {
				t.Errorf("exit code %d, want -1", code)
			}
			waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
			if _, err := r.Status(ctx); err == nil {
				t.Error("Status after the end")
			}
		})
	}
}

// TestPanicEndsTheEngine: a panic in a user (here in the dial function it calls) ends the
// engine with k6's script-error code and the panic's message.
func TestPanicEndsTheEngine(t *testing.T) {
	tg := newTarget(t, nil)
	r := start(t, context.Background(), `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
classes:
  u: { steps: [ { get: / } ] }
`, tg, nil, func(o *Options) {
		o.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) { panic("boom") }
	})
	ctx := context.Background()
	_ = r.Resume(ctx)
	_ = r.SetVUs(ctx, 3, 3)
	select {
	case <-r.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("the engine did not end")
	}
	code, msg := r.ExitCode()
	if code != k6run.ExitScriptError || !strings.Contains(msg, "boom") {
		t.Errorf("exit %d %q", code, msg)
	}
	if err := r.WaitReady(ctx); err == nil {
		t.Error("WaitReady after the end")
	}
}

// TestData: each: user gives user n row n, each: iteration walks a shared cursor, each: random
// stays within the rows.
func TestData(t *testing.T) {
	files := fstest.MapFS{"rows.csv": {Data: []byte("v\nr0\nr1\nr2\n")}}
	tests := []struct {
		name  string
		each  string
		users int64
		check func(t *testing.T, got []string, tg *target)
	}{
		{"user", "user", 3, func(t *testing.T, got []string, tg *target) {
			tg.mu.Lock()
			defer tg.mu.Unlock()
			// X-User carries "vu=row": user n reads row n-1.
			for u := range tg.users["/"] {
				if u != "1=r0" && u != "2=r1" && u != "3=r2" {
					t.Errorf("user and row %q", u)
				}
			}
			if len(tg.users["/"]) != 3 {
				t.Errorf("users %v", tg.users["/"])
			}
		}},
		{"iteration", "iteration", 1, func(t *testing.T, got []string, tg *target) {
			for i, v := range got[:9] {
				if want := fmt.Sprintf("r%d", i%3); v != want {
					t.Fatalf("row %d read %q, want %q: %v", i, v, want, got)
				}
			}
		}},
		{"random", "random", 1, func(t *testing.T, got []string, tg *target) {
			seen := map[string]bool{}
			for _, v := range got {
				if v != "r0" && v != "r1" && v != "r2" {
					t.Fatalf("row %q", v)
				}
				seen[v] = true
			}
			if len(seen) < 2 { // 30 draws of 3 rows all alike: 3^-29
				t.Errorf("30 random rows were all %v", seen)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := newTarget(t, nil)
			r := start(t, context.Background(), `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
data:
  rows: { file: rows.csv, each: `+tc.each+` }
classes:
  u:
    steps:
      - get: /
        headers: { X-Value: "${rows.v}", X-User: "${vu}=${rows.v}" }
`, tg, files, nil)
			ctx := context.Background()
			_ = r.Resume(ctx)
			_ = r.SetVUs(ctx, tc.users, tc.users)
			// each: user: every user has sent one (30 requests alone may all come from the first
			// users started); X-User then takes one value a user.
			waitFor(t, "requests", func() bool {
				return tg.total() >= 30 && (tc.each != "user" || tg.distinctUsers("/") == int(tc.users))
			})
			r.end(t)
			tc.check(t, tg.values("/"), tg)
		})
	}
}

// TestUnsupervisedLoadStops: when the worker stops supervising the engine (Alive says no) for
// k6run.LivenessTimeout, the engine stops its load by itself and ends with an error that says
// why; the target hears nothing more. As long as Alive says yes, the load goes on.
func TestUnsupervisedLoadStops(t *testing.T) {
	tg := newTarget(t, nil)
	var alive atomic.Bool
	alive.Store(true)
	r := start(t, context.Background(), `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
think: { constant: 10ms }
classes:
  u: { steps: [ { get: / } ] }
`, tg, nil, func(o *Options) { o.Alive = alive.Load })
	ctx := context.Background()
	_ = r.Resume(ctx)
	_ = r.SetVUs(ctx, 2, 2)
	waitFor(t, "requests while supervised", func() bool { return tg.count("/") >= 20 })
	alive.Store(false)
	<-r.Exited()
	code, msg := r.ExitCode()
	if code != k6run.ExitScriptError || !strings.Contains(msg, "the worker has not supervised it for") {
		t.Errorf("exit code %d, %q; want %d and why", code, msg, k6run.ExitScriptError)
	}
	// A request sent before the stop may still be counted by the server just after: let the count
	// settle, then no request may come for a while (an absence takes a window of time to show).
	after := tg.count("/")
	for {
		time.Sleep(100 * time.Millisecond)
		n := tg.count("/")
		if n == after {
			break
		}
		after = n
	}
	time.Sleep(300 * time.Millisecond)
	if n := tg.count("/"); n != after {
		t.Errorf("%d requests after the engine ended and the count settled", n-after)
	}
}

// TestBodiesFromVarsAndEnv: a body whose strings read only vars and the environment is rendered
// once, with them resolved (it was sent with empty strings: the first end-to-end run of
// examples/flow/tour.yaml found it), as is a form's; one with a run-time reference is rendered
// per request.
func TestBodiesFromVarsAndEnv(t *testing.T) {
	var (
		mu     sync.Mutex
		bodies = map[string]string{}
	)
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) bool {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies[r.URL.Path] = string(b)
		mu.Unlock()
		return false
	})
	r := start(t, context.Background(), `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
vars:
  admin: ${__ENV.ADMIN_USER:-root}
classes:
  u:
    steps:
      - post: /static
        json: { user: "${admin}", password: "${__ENV.PASSWORD}", n: 1, list: ["${admin}", true] }
      - post: /form
        form: { user: "${admin}", password: "${__ENV.PASSWORD}" }
      - post: /dynamic
        json: { vu: "${vu}", user: "${admin}" }
`, tg, nil, func(o *Options) { o.Env["PASSWORD"] = "s3cret" })
	ctx := context.Background()
	_ = r.Resume(ctx)
	_ = r.SetVUs(ctx, 1, 1)
	waitFor(t, "every request", func() bool { return tg.count("/dynamic") >= 1 })
	r.Kill()
	<-r.Exited()
	mu.Lock()
	defer mu.Unlock()
	for path, want := range map[string]string{
		"/static":  `{"user":"root","password":"s3cret","n":1,"list":["root",true]}`,
		"/form":    `user=root&password=s3cret`,
		"/dynamic": `{"vu":"1","user":"root"}`,
	} {
		if got := bodies[path]; got != want {
			t.Errorf("%s: body %s, want %s", path, got, want)
		}
	}
}
