package metrics

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// fixed returns the same snapshot on every scrape.
type fixed struct{ s *master.Snapshot }

func (f fixed) Snapshot() *master.Snapshot { return f.s }

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// request is one request a test records in a delta.
type request struct {
	name, method, status string
	ms                   float64
	failed               bool
}

func delta(reqs []request, checks map[stats.CheckKey][2]int) *stats.Delta {
	var d stats.Delta
	for _, r := range reqs {
		d.AddRequest(stats.Key{Name: r.name, Method: r.method, Status: r.status}, r.ms, r.failed, "")
	}
	for k, pf := range checks {
		for range pf[0] {
			d.AddCheck(k, true)
		}
		for range pf[1] {
			d.AddCheck(k, false)
		}
	}
	return &d
}

// runSnapshot is a swarm run 90 s in, with two connected workers and a third one lost. Its stats are
// two workers' deltas merged the way the master merges them; the expected values below are worked
// out by hand from these requests.
func runSnapshot() *master.Snapshot {
	var agg stats.Aggregate
	agg.Add(delta([]request{
		{"/home", "GET", "200", 3, false},
		{"/home", "GET", "200", 12, false},
		{"/home", "GET", "200", 40, false},
		{"/home", "GET", "500", 120, true},
		{"/login", "POST", "200", 700, false},
	}, map[stats.CheckKey][2]int{
		{Name: "status is 200"}:               {3, 1},
		{Group: "::login", Name: "logged in"}: {1, 0},
	}))
	agg.Add(delta([]request{
		{"/home", "GET", "200", 8, false},
		{"/home", "GET", "0", 3001, true},
		{"/login", "POST", "200", 2500, false}, // exactly on the 2.5 s bound
		{master.OtherName, "GET", "200", 30, false},
	}, map[stats.CheckKey][2]int{
		{Group: "::login::form", Name: "token"}: {0, 1},
	}))
	return &master.Snapshot{
		Time: t0.Add(90 * time.Second),
		Workers: []master.WorkerInfo{
			{Index: 0, ID: "w0", Connected: true, State: "running", Users: 6},
			{Index: 1, ID: "w1", Connected: true, State: "preparing"},
		},
		Run: &master.RunInfo{ID: "run-1", State: master.Running, Mode: scenario.Swarm, Script: "script.js",
			Users: 20, SpawnRate: 5, Started: t0, UsersRunning: 6, NameCap: 3, NamesFolded: 2,
			Workers: []master.WorkerResult{{Index: 0, ID: "w0"}, {Index: 1, ID: "w1"}, {Index: 2, ID: "w2", Lost: true}}},
		Stats: &agg,
		Logs:  []master.LogEntry{{Seq: 41}, {Seq: 42}},
	}
}

const help = `
# HELP stampede_requests_total Requests of the current run by name, method and status (status 0: no response).
# TYPE stampede_requests_total counter
# HELP stampede_request_failures_total Failed requests of the current run by name and method.
# TYPE stampede_request_failures_total counter
# HELP stampede_request_duration_seconds Request durations of the current run by name and method.
# TYPE stampede_request_duration_seconds histogram
# HELP stampede_checks_total Outcomes of the current run's k6 checks; check is the group path and name joined by ' › '.
# TYPE stampede_checks_total counter
# HELP stampede_users Users the workers report running.
# TYPE stampede_users gauge
# HELP stampede_users_target Users asked for (swarm mode; 0 in script mode).
# TYPE stampede_users_target gauge
# HELP stampede_workers Connected workers by state, plus the active run's lost workers as state="missing".
# TYPE stampede_workers gauge
# HELP stampede_run_state 1 for the state the current or last run is in, 0 for the others.
# TYPE stampede_run_state gauge
# HELP stampede_run_info The current or last run: always 1.
# TYPE stampede_run_info gauge
# HELP stampede_run_elapsed_seconds How long the current or last run's load has run.
# TYPE stampede_run_elapsed_seconds gauge
# HELP stampede_request_names_folded Request names over the master's name cap, counted under the name "(other)".
# TYPE stampede_request_names_folded gauge
# HELP stampede_log_lines_total Script log lines the master has received from workers.
# TYPE stampede_log_lines_total counter
`

// The durations of /home GET are 3, 8, 12, 40, 120 and 3001 ms; of /login POST 700 and 2500 ms;
// of (other) GET 30 ms. None lies within 2% of a bound except 2500 ms, which is /login's maximum
// and so counted exactly.
const runRequests = `
stampede_requests_total{method="GET",name="/home",status="200"} 4
stampede_requests_total{method="GET",name="/home",status="500"} 1
stampede_requests_total{method="GET",name="/home",status="0"} 1
stampede_requests_total{method="POST",name="/login",status="200"} 2
stampede_requests_total{method="GET",name="(other)",status="200"} 1
stampede_request_failures_total{method="GET",name="/home"} 2
stampede_request_failures_total{method="POST",name="/login"} 0
stampede_request_failures_total{method="GET",name="(other)"} 0
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="0.001"} 0
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="0.0025"} 0
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="0.005"} 1
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="0.01"} 2
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="0.025"} 3
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="0.05"} 4
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="0.1"} 4
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="0.25"} 5
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="0.5"} 5
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="1"} 5
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="2.5"} 5
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="5"} 6
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="10"} 6
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="30"} 6
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="60"} 6
stampede_request_duration_seconds_bucket{method="GET",name="/home",le="+Inf"} 6
stampede_request_duration_seconds_sum{method="GET",name="/home"} 3.184
stampede_request_duration_seconds_count{method="GET",name="/home"} 6
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="0.001"} 0
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="0.0025"} 0
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="0.005"} 0
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="0.01"} 0
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="0.025"} 0
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="0.05"} 0
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="0.1"} 0
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="0.25"} 0
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="0.5"} 0
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="1"} 1
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="2.5"} 2
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="5"} 2
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="10"} 2
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="30"} 2
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="60"} 2
stampede_request_duration_seconds_bucket{method="POST",name="/login",le="+Inf"} 2
stampede_request_duration_seconds_sum{method="POST",name="/login"} 3.2
stampede_request_duration_seconds_count{method="POST",name="/login"} 2
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="0.001"} 0
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="0.0025"} 0
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="0.005"} 0
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="0.01"} 0
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="0.025"} 0
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="0.05"} 1
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="0.1"} 1
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="0.25"} 1
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="0.5"} 1
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="1"} 1
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="2.5"} 1
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="5"} 1
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="10"} 1
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="30"} 1
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="60"} 1
stampede_request_duration_seconds_bucket{method="GET",name="(other)",le="+Inf"} 1
stampede_request_duration_seconds_sum{method="GET",name="(other)"} 0.03
stampede_request_duration_seconds_count{method="GET",name="(other)"} 1
`

const runChecks = `
stampede_checks_total{check="status is 200",result="pass"} 3
stampede_checks_total{check="status is 200",result="fail"} 1
stampede_checks_total{check="login › logged in",result="pass"} 1
stampede_checks_total{check="login › logged in",result="fail"} 0
stampede_checks_total{check="login › form › token",result="pass"} 0
stampede_checks_total{check="login › form › token",result="fail"} 1
`

const runState = `
stampede_users 6
stampede_users_target 20
stampede_workers{state="idle"} 0
stampede_workers{state="preparing"} 1
stampede_workers{state="ready"} 0
stampede_workers{state="running"} 1
stampede_workers{state="done"} 0
stampede_workers{state="finished"} 0
stampede_workers{state="failed"} 0
stampede_workers{state="missing"} 1
stampede_run_state{state="idle"} 0
stampede_run_state{state="preparing"} 0
stampede_run_state{state="running"} 1
stampede_run_state{state="stopping"} 0
stampede_run_state{state="stopped"} 0
stampede_run_info{mode="swarm",run_id="run-1",script="script.js"} 1
stampede_run_elapsed_seconds 90
stampede_request_names_folded 2
stampede_log_lines_total 42
`

// idle is a master with no run so far.
const idle = `
stampede_users 0
stampede_users_target 0
stampede_workers{state="idle"} 0
stampede_workers{state="preparing"} 0
stampede_workers{state="ready"} 0
stampede_workers{state="running"} 0
stampede_workers{state="done"} 0
stampede_workers{state="finished"} 0
stampede_workers{state="failed"} 0
stampede_workers{state="missing"} 0
stampede_run_state{state="idle"} 1
stampede_run_state{state="preparing"} 0
stampede_run_state{state="running"} 0
stampede_run_state{state="stopping"} 0
stampede_run_state{state="stopped"} 0
stampede_log_lines_total 0
`

// stoppedState is runSnapshot after its end: the lost worker is no longer missing, and the
// elapsed time stops at the end.
const stoppedState = `
stampede_users 0
stampede_users_target 20
stampede_workers{state="idle"} 2
stampede_workers{state="preparing"} 0
stampede_workers{state="ready"} 0
stampede_workers{state="running"} 0
stampede_workers{state="done"} 0
stampede_workers{state="finished"} 0
stampede_workers{state="failed"} 0
stampede_workers{state="missing"} 0
stampede_run_state{state="idle"} 0
stampede_run_state{state="preparing"} 0
stampede_run_state{state="running"} 0
stampede_run_state{state="stopping"} 0
stampede_run_state{state="stopped"} 1
stampede_run_info{mode="swarm",run_id="run-1",script="script.js"} 1
stampede_run_elapsed_seconds 120
stampede_request_names_folded 2
stampede_log_lines_total 42
`

func stoppedSnapshot() *master.Snapshot {
	s := runSnapshot()
	s.Time = t0.Add(10 * time.Minute)
	s.Run.State, s.Run.Ended, s.Run.UsersRunning = master.Stopped, t0.Add(2*time.Minute), 0
	for i := range s.Workers {
		s.Workers[i].State, s.Workers[i].Users = "idle", 0
	}
	return s
}

// rejoined is runSnapshot after its lost worker reconnected: preparing again, no longer missing.
func rejoined() *master.Snapshot {
	s := runSnapshot()
	s.Workers = append(s.Workers, master.WorkerInfo{Index: 2, ID: "w2", Connected: true, State: "preparing"})
	return s
}

const rejoinedWorkers = `
stampede_workers{state="idle"} 0
stampede_workers{state="preparing"} 2
stampede_workers{state="ready"} 0
stampede_workers{state="running"} 1
stampede_workers{state="done"} 0
stampede_workers{state="finished"} 0
stampede_workers{state="failed"} 0
stampede_workers{state="missing"} 0
`

// badNames has request names that are not valid UTF-8; two of them read the same once made valid.
func badNames() *master.Snapshot {
	var agg stats.Aggregate
	agg.Add(delta([]request{
		{"/a\xff", "GET", "200", 10, false},
		{"/a\xfe", "GET", "200", 20, true},
		{"/ok", "GET", "200", 30, false},
	}, nil))
	return &master.Snapshot{Time: t0, Run: &master.RunInfo{ID: "r", State: master.Running, Mode: scenario.Script},
		Stats: &agg}
}

const badNamesRequests = `
stampede_requests_total{method="GET",name="/a\uFFFD",status="200"} 2
stampede_requests_total{method="GET",name="/ok",status="200"} 1
stampede_request_failures_total{method="GET",name="/a\uFFFD"} 1
stampede_request_failures_total{method="GET",name="/ok"} 0
`

var (
	requestNames = []string{"stampede_requests_total", "stampede_request_failures_total", "stampede_request_duration_seconds"}
	stateNames   = []string{"stampede_users", "stampede_users_target", "stampede_workers", "stampede_run_state",
		"stampede_run_info", "stampede_run_elapsed_seconds", "stampede_request_names_folded", "stampede_log_lines_total"}
	checkNames = []string{"stampede_checks_total"}
)

func TestCollector(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		snap  *master.Snapshot
		want  string
		names []string
	}{
		{"requests", runSnapshot(), runRequests, requestNames},
		{"checks", runSnapshot(), runChecks, checkNames},
		{"run and workers", runSnapshot(), runState, stateNames},
		{"everything at once", runSnapshot(), runRequests + runChecks + runState, nil},
		{"stopped run", stoppedSnapshot(), stoppedState, stateNames},
		{"a lost worker back", rejoined(), rejoinedWorkers, []string{"stampede_workers"}},
		{"idle: no run yet", &master.Snapshot{Time: t0}, idle, nil},
		{"idle: a worker not heard from yet", &master.Snapshot{Time: t0,
			Workers: []master.WorkerInfo{{ID: "w0", Connected: true}}}, idle + "stampede_workers{state=\"unknown\"} 1\n", nil},
		{"nil snapshot reads as idle", nil, idle, nil},
		{"invalid UTF-8 names", badNames(), strings.ReplaceAll(badNamesRequests, `\uFFFD`, "\uFFFD"),
			requestNames[:2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := New(fixed{tt.snap})
			if err := testutil.CollectAndCompare(c, strings.NewReader(help+tt.want), tt.names...); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestCollectorOtherName checks that the name cap's row is exported like any other name, with
// nothing special about its labels.
func TestCollectorOtherName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		metric string
		want   int
	}{
		{"requests", "stampede_requests_total", 1},
		{"failures", "stampede_request_failures_total", 1},
		{"durations", "stampede_request_duration_seconds", 1},
	}
	snap := runSnapshot()
	var other stats.Aggregate
	for k, e := range snap.Stats.Entries {
		if k.Name == master.OtherName {
			other.Entries = map[stats.Key]*stats.Entry{k: e}
		}
	}
	snap.Stats = &other
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := testutil.CollectAndCount(New(fixed{snap}), tt.metric); got != tt.want {
				t.Errorf("%s: %d series, want %d", tt.metric, got, tt.want)
			}
		})
	}
}

func TestCollectorLint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		snap *master.Snapshot
	}{
		{"running", runSnapshot()},
		{"stopped", stoppedSnapshot()},
		{"idle", &master.Snapshot{Time: t0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems, err := testutil.CollectAndLint(New(fixed{tt.snap}))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("%s: %s", p.Metric, p.Text)
			}
		})
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	src := fixed{runSnapshot()}
	if err := Register(reg, src); err != nil {
		t.Fatal(err)
	}
	var already prometheus.AlreadyRegisteredError
	if err := Register(reg, src); !errors.As(err, &already) {
		t.Errorf("registering twice: %v, want AlreadyRegisteredError", err)
	}
	// Scrapes may run at once; each reads its own snapshot (go test -race checks the rest).
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			mfs, err := reg.Gather()
			if err == nil && len(mfs) != 12 {
				err = errors.New("not every metric family was gathered")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestCollectorThresholds(t *testing.T) {
	t.Parallel()
	snap := runSnapshot()
	snap.Run.Thresholds = []master.ThresholdResult{
		{Metric: "http_req_duration", Source: "p(95)<300", Observed: 412.5, HasData: true, OK: false},
		{Metric: "checks", Source: "rate>0.99", OK: true}, // no samples: a verdict, no observed value
	}
	want := `
# HELP stampede_threshold_ok 1 while a threshold of the current or last run holds on the fleet's merged data, 0 when it fails.
# TYPE stampede_threshold_ok gauge
stampede_threshold_ok{metric="checks",threshold="rate>0.99"} 1
stampede_threshold_ok{metric="http_req_duration",threshold="p(95)<300"} 0
# HELP stampede_threshold_observed_value The value a threshold judges (e.g. the p95 in ms), while its metric has samples.
# TYPE stampede_threshold_observed_value gauge
stampede_threshold_observed_value{metric="http_req_duration",threshold="p(95)<300"} 412.5
`
	if err := testutil.CollectAndCompare(New(fixed{snap}), strings.NewReader(want),
		"stampede_threshold_ok", "stampede_threshold_observed_value"); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.CollectAndLint(New(fixed{snap})); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
}

// TestCollectorClassesAndShape: users per class, and where a load shape stands; absent for a run
// without them.
func TestCollectorClassesAndShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		shape *master.ShapeInfo
		want  string
	}{
		{"playing", &master.ShapeInfo{Stages: make(scenario.Shape, 3), Stage: 1}, `
stampede_shape_stage 2
stampede_shape_stages 3
stampede_shape_taken_over 0
`},
		{"before the load", &master.ShapeInfo{Stages: make(scenario.Shape, 3), Stage: -1}, `
stampede_shape_stage 0
stampede_shape_stages 3
stampede_shape_taken_over 0
`},
		{"ended", &master.ShapeInfo{Stages: make(scenario.Shape, 3), Stage: 3}, `
stampede_shape_stage 4
stampede_shape_stages 3
stampede_shape_taken_over 0
`},
		{"taken over", &master.ShapeInfo{Stages: make(scenario.Shape, 2), Stage: 0, TakenOver: true}, `
stampede_shape_stage 1
stampede_shape_stages 2
stampede_shape_taken_over 1
`},
		{"no shape", nil, ""},
	}
	header := `
# HELP stampede_class_users_target Users of each user class asked of the workers now (a swarm of classes): the users split by the classes' weights.
# TYPE stampede_class_users_target gauge
stampede_class_users_target{class="browse"} 15
stampede_class_users_target{class="buy"} 5
`
	shapeHelp := `
# HELP stampede_shape_stage The load shape's stage playing, from 1; 0 before the load starts, the number of stages + 1 once every stage has run.
# TYPE stampede_shape_stage gauge
# HELP stampede_shape_stages The stages of the run's load shape.
# TYPE stampede_shape_stages gauge
# HELP stampede_shape_taken_over 1 once a live change of users or spawn rate took over from the load shape, else 0.
# TYPE stampede_shape_taken_over gauge
`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := runSnapshot()
			snap.Run.Classes = []master.ClassInfo{{Name: "browse", Weight: 3, Users: 15}, {Name: "buy", Weight: 1, Users: 5}}
			snap.Run.Shape = tt.shape
			want := header
			if tt.want != "" {
				want += shapeHelp + tt.want
			}
			if err := testutil.CollectAndCompare(New(fixed{snap}), strings.NewReader(want), "stampede_class_users_target",
				"stampede_shape_stage", "stampede_shape_stages", "stampede_shape_taken_over"); err != nil {
				t.Fatal(err)
			}
			if problems, err := testutil.CollectAndLint(New(fixed{snap})); err != nil || len(problems) > 0 {
				t.Fatalf("lint: %v %v", err, problems)
			}
		})
	}
	// A run without classes has no class series.
	if n := testutil.CollectAndCount(New(fixed{runSnapshot()}), "stampede_class_users_target"); n != 0 {
		t.Errorf("a run without classes: %d class series", n)
	}
}

// TestCollectorKubernetes: the worker Deployment's counts and the watched HPAs, between runs too;
// a gauge the collector does not know is left out rather than exported under a guessed name.
func hpa(metric, tag, value string) stats.GaugeKey {
	return stats.GaugeKey{Metric: metric, Tag: tag, Value: value}
}

func TestCollectorKubernetes(t *testing.T) {
	t.Parallel()
	snap := &master.Snapshot{
		Fleet: &master.FleetStatus{Name: "deployment lt/lt-stampede-worker", Desired: 5, Spec: 5, Ready: 3},
		Gauges: map[stats.GaugeKey]float64{
			hpa("hpa_replicas", "hpa", "web"): 2, hpa("hpa_desired_replicas", "hpa", "web"): 4, hpa("hpa_cpu_utilization", "hpa", "web"): 87.5,
			hpa("hpa_replicas", "hpa", "api"): 1, hpa("something_else", "hpa", "web"): 9, hpa("hpa_replicas", "node", "n1"): 7,
		},
	}
	want := `
# HELP stampede_worker_deployment_replicas The worker Deployment the master scales: replicas it asks for (desired), in its spec and ready.
# TYPE stampede_worker_deployment_replicas gauge
stampede_worker_deployment_replicas{deployment="deployment lt/lt-stampede-worker",kind="desired"} 5
stampede_worker_deployment_replicas{deployment="deployment lt/lt-stampede-worker",kind="ready"} 3
stampede_worker_deployment_replicas{deployment="deployment lt/lt-stampede-worker",kind="spec"} 5
# HELP stampede_hpa_replicas A watched HorizontalPodAutoscaler's current replicas.
# TYPE stampede_hpa_replicas gauge
stampede_hpa_replicas{hpa="api"} 1
stampede_hpa_replicas{hpa="web"} 2
# HELP stampede_hpa_desired_replicas A watched HorizontalPodAutoscaler's desired replicas.
# TYPE stampede_hpa_desired_replicas gauge
stampede_hpa_desired_replicas{hpa="web"} 4
# HELP stampede_hpa_cpu_utilization_percent A watched HorizontalPodAutoscaler's average CPU utilisation, in percent of the pods' requests.
# TYPE stampede_hpa_cpu_utilization_percent gauge
stampede_hpa_cpu_utilization_percent{hpa="web"} 87.5
`
	if err := testutil.CollectAndCompare(New(fixed{snap}), strings.NewReader(want), "stampede_worker_deployment_replicas",
		"stampede_hpa_replicas", "stampede_hpa_desired_replicas", "stampede_hpa_cpu_utilization_percent"); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.CollectAndLint(New(fixed{snap})); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
}
