package web

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stampede-load/stampede/internal/api"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedCore always shows the same snapshot.
type fixedCore struct {
	fakeCore
	snap *master.Snapshot
}

func (f *fixedCore) Snapshot() *master.Snapshot { return f.snap }

// fullSnapshot sets every field the views show, the optional ones too, so that the golden files
// show each of them and a field a view drops changes them.
func fullSnapshot() *master.Snapshot {
	start := time.Date(2026, 11, 23, 12, 24, 2, 0, time.UTC)
	agg := &stats.Aggregate{}
	d := &stats.Delta{Start: start, End: start.Add(time.Second)}
	home := stats.Key{Name: "home", Method: "GET", Status: "200"}
	for i := range 10 {
		d.AddRequest(home, float64(i+1), false, "")
	}
	d.AddReceived(home, 10, 10*251)
	d.AddRequest(stats.Key{Name: "login", Method: "POST", Status: "503"}, 30, true, "")
	d.AddCheck(stats.CheckKey{Group: "::login", Name: "status is 200"}, true)
	d.AddCheck(stats.CheckKey{Group: "::login", Name: "status is 200"}, false)
	d.AddSample("data_received", stats.Counter, "data", 11*251, start.UnixNano())
	agg.Add(d)
	return &master.Snapshot{
		Time: start.Add(12 * time.Second),
		Workers: []master.WorkerInfo{{Index: 0, ID: "vm_79ce3449", Host: "vm", CPUs: 2, Connected: true, State: "running",
			Users: 15, CPUPercent: 41.5, Memory: 98304000, LastSeen: start.Add(11 * time.Second), AllowHosts: []string{"127.0.0.1"}}},
		Run: &master.RunInfo{ID: "25f8014d2cfd", State: master.Stopped, Mode: scenario.Swarm, Script: "quickstart.js", Engine: master.EngineK6,
			Users: 30, SpawnRate: 30, RunTime: 5 * time.Minute, Env: map[string]string{"TARGET": "http://127.0.0.1:8080"},
			Started: start, Ended: start.Add(10 * time.Second), UsersRunning: 29, Err: "worker w1 lost",
			Workers: []master.WorkerResult{{Index: 0, ID: "vm_79ce3449", Host: "vm", Requests: 11, ExitCode: 107,
				Error: "k6 exited 107", Lost: true, Segment: "0:1"}},
			NameCap: 2000, NamesFolded: 3, StatsReset: start.Add(time.Second),
			Thresholds: []master.ThresholdResult{{Metric: "http_req_duration", Source: "p(95)<300", Observed: 29,
				HasData: true, OK: true, AbortOnFail: true, Aborted: true, Error: "p95 is 20% over the baseline's"}},
			WorkersAsked: 3,
			Classes: []master.ClassInfo{{Name: "browse", Weight: 3, Tags: []string{"read"}, Users: 23},
				{Name: "buy", Weight: 1, Tags: []string{"write"}, Users: 7}},
			Tags: []string{"read", "write"}, ExcludeTags: []string{"slow"},
			Shape: &master.ShapeInfo{Stages: scenario.Shape{{Duration: time.Minute, Users: 10, SpawnRate: 2},
				{Duration: 90 * time.Second, Users: 30, SpawnRate: 5}}, Stage: 1, TakenOver: true}},
		Stats:   agg,
		Points:  []stats.Point{{Time: start.Unix() + 1, Requests: 11, Failures: 1, P50: 5, P95: 10, P99: 30, Users: 30, Workers: 1, Extra: map[string]float64{"hpa_replicas{hpa:web}": 3}}},
		Current: map[master.NameMethod]master.Current{{Name: "home", Method: "GET"}: {RPS: 9.5, FailuresPerSecond: 0.5}},
		Logs:    []master.LogEntry{{Seq: 17, Time: start.Add(3 * time.Second), Worker: 1, Level: "info", Source: "console", Message: "logged in"}},
		Fleet:   &master.FleetStatus{Name: "deployment lt/lt-stampede-worker", Desired: 3, Spec: 3, Ready: 2, Error: "forbidden"},
		Gauges:  map[stats.GaugeKey]float64{{Metric: "hpa_replicas", Tag: "hpa", Value: "web"}: 3},
	}
}

var fullDefaults = api.Defaults{Script: "quickstart.js", Users: 10, SpawnRate: 2, RunTime: "30s",
	Env: map[string]string{"TARGET": "http://127.0.0.1:8080"}, Scaling: true, Workers: 3, MaxWorkers: 20,
	Tags: []string{"read"}, ExcludeTags: []string{"slow"}, ClassWeights: map[string]int64{"browse": 3, "buy": 1}}

// TestViewsGolden compares what the API and the websocket serve for a full snapshot with testdata/.
func TestViewsGolden(t *testing.T) {
	t.Parallel()
	s, err := New(Options{Core: &fixedCore{snap: fullSnapshot()}, Template: master.RunConfig{Script: "test.js"},
		Defaults: fullDefaults, Assets: fstest.MapFS{}, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	for _, c := range []struct{ name, path string }{
		{"run", "/api/v1/runs/current"},
		{"stats", "/api/v1/stats"},
		{"workers", "/api/v1/workers"},
		{"config", "/api/v1/config"},
		{"error", "/api/v1/reports/nothing.txt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1"+c.path, nil))
			checkGolden(t, c.name+".json", rec.Body.Bytes())
		})
	}
	t.Run("frame", func(t *testing.T) {
		b := s.hub.encode(s.hub.frame("snapshot", fullSnapshot(), 0, 0))
		var out bytes.Buffer
		if err := json.Indent(&out, b, "", "  "); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "frame.json", out.Bytes())
	})
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./web/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\ngot:\n%s\nwant:\n%s", name, golden, got, want)
	}
}
