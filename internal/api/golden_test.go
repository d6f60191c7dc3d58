package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	t0     = time.Date(2026, 11, 23, 12, 24, 2, 0, time.UTC)
	t1     = t0.Add(10 * time.Second)
	t2     = t0.Add(time.Second)
	users  = int64(50)
	rate   = 10.0
	nWorks = 3
)

func ptr(v float64) *float64 { return &v }

func dist() Distribution {
	return Distribution{Min: 0.2, Avg: 1.1, Med: 0.9, P90: 1.8, P95: 2.4, P99: 5.1, P999: 11, Max: 40}
}

func stat() Stat {
	return Stat{Name: "home", Method: "GET", Requests: 36340, Failures: 2, FailureRate: 0.00005, RequestsPerS: 8703.9,
		DurationMs: dist(), Statuses: map[string]uint64{"200": 36338, "503": 2}, AvgSizeBytes: ptr(251)}
}

func workerResult() WorkerResult {
	return WorkerResult{Index: 1, ID: "vm_79ce3449", Host: "vm", Requests: 36340, ExitCode: 107, Error: "k6 exited 107",
		Lost: true, Segment: "1/2:1"}
}

func thresholdResult() ThresholdResult {
	return ThresholdResult{Metric: "http_req_duration{name:login}", Source: "p(95)<300", Observed: 412.3, HasData: true,
		OK: true, AbortOnFail: true, Aborted: true, Error: "p95 is 20% over the baseline's"}
}

func point() Point {
	return Point{Time: 1795436654, Requests: 9610, Failures: 1, P50: 0.9, P95: 2.3, P99: 4.8, Users: 30, Workers: 2,
		Extra: map[string]float64{"hpa_replicas{hpa:web}": 3}}
}

func userClasses() []UserClass {
	return []UserClass{{Name: "browse", Weight: 3, Tags: []string{"read"}, Users: 23}}
}

func shape() *Shape {
	return &Shape{Stages: []Stage{{Duration: "1m0s", Users: 30, SpawnRate: 5}}, Stage: 1, TakenOver: true}
}

func statsView() *StatsView {
	row := Row{Stat: stat(), CurrentRPS: 9572.4, CurrentFailuresPerS: 0.1}
	return &StatsView{Totals: row, Rows: []Row{row},
		Errors: []Error{{Name: "login", Method: "POST", Error: "HTTP 503", Count: 12}},
		Checks: []Check{{Group: "::login", Name: "status is 200", Passes: 100, Fails: 2, Rate: 0.98}}}
}

func workerInfo() WorkerInfo {
	return WorkerInfo{Index: 1, ID: "vm_79ce3449", Host: "vm", CPUs: 2, Connected: true, State: "running", Users: 15,
		CPUPercent: 41.5, Memory: 98304000, LastSeen: t1, AllowHosts: []string{"127.0.0.1"}}
}

// goldens are fully populated values of every published document (fullyPopulated checks that),
// so that each field's name and form is in testdata/.
var goldens = []struct {
	name string
	v    any
}{
	{"frame", Frame{Type: "update", Time: t1,
		Defaults: Defaults{Script: "quickstart.js", Users: 10, SpawnRate: 2, RunTime: "30s",
			Env: map[string]string{"TARGET": "http://127.0.0.1:8080"}, Scaling: true, Workers: 3, MaxWorkers: 20,
			Tags: []string{"read"}, ExcludeTags: []string{"slow"}, ClassWeights: map[string]int64{"browse": 3, "buy": 1}},
		Run: &RunView{ID: "25f8014d2cfd", State: "stopped", Mode: "swarm", Script: "quickstart.js", Engine: "k6", Users: 30,
			SpawnRate: 30, RunTime: "5m0s", Env: map[string]string{"TARGET": "http://127.0.0.1:8080"}, Started: &t0,
			Ended: &t1, ElapsedSeconds: 10, UsersRunning: 29, Error: "every worker was lost", NameCap: 2000,
			NamesFolded: 3, StatsReset: &t2, Workers: []WorkerResult{workerResult()},
			Thresholds: []ThresholdResult{thresholdResult()}, WorkersAsked: 3, Classes: userClasses(),
			Tags: []string{"read"}, ExcludeTags: []string{"slow"}, Shape: shape()},
		Stats: statsView(), Workers: []WorkerInfo{workerInfo()}, Series: []Point{point()},
		Logs: []LogEntry{{Seq: 17, Time: t2, Worker: 1, Level: "info", Source: "console", Message: "logged in"}},
		Fleet: &FleetStatus{Name: "deployment lt/lt-stampede-worker", Desired: 3, Spec: 3, Ready: 2,
			Error: "deployments.apps is forbidden"},
		Gauges: map[string]float64{"hpa_replicas{hpa:web}": 3}}},
	{"stats", StatsResponse{RunID: "25f8014d2cfd", StatsView: statsView()}},
	{"workers", WorkersResponse{Workers: []WorkerInfo{workerInfo()}}},
	{"start", StartRequest{Mode: "swarm", Users: &users, SpawnRate: &rate, RunTime: "5m",
		Env: map[string]string{"TARGET": "http://127.0.0.1:8080"}, Workers: &nWorks, Tags: []string{"read"},
		ExcludeTags: []string{"slow"}, ClassWeights: map[string]int64{"browse": 3, "buy": 1}}},
	{"update", UpdateRequest{Users: &users, SpawnRate: &rate}},
	{"error", ErrorResponse{Error: "no run yet: start one with POST /api/v1/runs"}},
	{"summary", Summary{Schema: SchemaVersion, RunID: "25f8014d2cfd", Mode: "swarm", Script: "quickstart.js", Engine: "k6",
		Started: t0, Ended: t1, DurationSeconds: 10,
		Outcome: Outcome{OK: true, Error: "worker w1 lost at 2s", Notes: []string{"worker w0 delivered its stats late"}},
		Users:   30, SpawnRate: 2.5, Classes: userClasses(), Shape: shape(), Thresholds: []ThresholdResult{thresholdResult()}, Totals: stat(),
		Requests: []Stat{stat()}, Errors: []Error{{Name: "login", Method: "POST", Error: "HTTP 503", Count: 12}},
		Checks: []Check{{Group: "::login", Name: "status is 200", Passes: 100, Fails: 2, Rate: 0.98}},
		Metrics: map[string]Metric{
			"http_reqs":         {Type: "counter", Contains: "default", Count: 36340, Sum: ptr(36340)},
			"http_req_failed":   {Type: "rate", Contains: "default", Count: 36340, Rate: ptr(0.00005)},
			"vus_waiting":       {Type: "gauge", Contains: "default", Count: 12, Value: ptr(7), Min: ptr(1), Max: ptr(9)},
			"http_req_duration": {Type: "trend", Contains: "time", Count: 36340, Dist: &Distribution{Min: 0.2, Avg: 1.1, Med: 0.9, P90: 1.8, P95: 2.4, P99: 5.1, P999: 11, Max: 40}},
		},
		Workers: []WorkerResult{workerResult()}, Series: []Point{point()}}},
}

// TestGolden marshals each document as the API and --summary-json do (indented, HTML escaped) and
// compares it with testdata/<name>.json: renaming a field, or changing its omitempty, fails here.
func TestGolden(t *testing.T) {
	t.Parallel()
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetIndent("", "  ")
			if err := enc.Encode(g.v); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", g.name+".json")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/api/ -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from %s; if the change is meant, it is an API change (docs/api.md) or a new "+
					"summary schema version (docs/summary-json.md):\ngot:\n%s\nwant:\n%s", g.name, golden, buf.Bytes(), want)
			}
		})
	}
}

// TestGoldensFullyPopulated checks that the golden values leave no field zero (in at least one
// element of a list or map), so that a field added to a published type shows up in its golden file.
func TestGoldensFullyPopulated(t *testing.T) {
	t.Parallel()
	for _, g := range goldens {
		set := map[string]bool{}
		populated(reflect.ValueOf(g.v), g.name, set)
		for _, path := range slices.Sorted(maps.Keys(set)) {
			if !set[path] {
				t.Errorf("%s is zero in the golden value: give it a value", path)
			}
		}
	}
}

// populated records under set[path] whether v, or a field under it, is not zero; it descends into
// structs, pointers, and the elements of slices and maps (an empty slice or map is zero).
func populated(v reflect.Value, path string, set map[string]bool) {
	set[path] = set[path] || !v.IsZero() && !((v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() == 0)
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			populated(v.Elem(), path, set)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return
		}
		for i := range v.NumField() {
			populated(v.Field(i), path+"."+v.Type().Field(i).Name, set)
		}
	case reflect.Slice:
		for i := range v.Len() {
			populated(v.Index(i), path+"[]", set)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			populated(it.Value(), path+"{}", set)
		}
	}
}
