package flow

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/scenario"
)

// planFlow has one scenario of each executor k6 plans.
const planFlow = `kind: stampede/flow/v1
baseUrl: http://127.0.0.1:8080
classes:
  a:
    weight: 2
    tags: [read]
    steps: [ { get: / } ]
  b:
    steps: [ { get: /json } ]
shape: [ { duration: 10s, users: 4, spawnRate: 2 } ]
scenarios:
  cv: { executor: constant-vus, class: a, vus: 5, duration: 30s }
  rv: { executor: ramping-vus, class: a, startVUs: 0, stages: [ { duration: 10s, target: 10 }, { duration: 20s, target: 0 } ], gracefulRampDown: 5s, startTime: 5s }
  si: { executor: shared-iterations, class: a, vus: 3, iterations: 10, maxDuration: 1m }
  pv: { executor: per-vu-iterations, class: b, vus: 2, iterations: 4, maxDuration: 20s, gracefulStop: 10s }
  car: { executor: constant-arrival-rate, class: a, rate: 200, timeUnit: 1s, duration: 10s, preAllocatedVUs: 50, maxVUs: 200 }
  rar: { executor: ramping-arrival-rate, class: b, startRate: 10, timeUnit: 1s, stages: [ { duration: 10s, target: 100 } ], preAllocatedVUs: 20, maxVUs: 40, startTime: 1m }
thresholds:
  http_req_duration: ["p(95)<300", "max<1000"]
  http_req_failed: [ { threshold: "rate<0.01", abortOnFail: true, delayAbortEval: 10s } ]
`

// A flow's Options are what k6 inspect gives for a script with the same scenarios: the longest the
// test can run and the most users it needs are k6's own plan. The figures are what
// `stampede-master k6 inspect --execution-requirements` (k6 v1.8.1) printed for a script whose
// options.scenarios are these six, each alone and all together.
func TestOptionsArePlannedAsK6Plans(t *testing.T) {
	t.Parallel()
	lines := strings.Split(planFlow, "\n")
	start := slices.Index(lines, "scenarios:")
	end := slices.Index(lines, "thresholds:")
	cases := []struct {
		scenario string
		total    time.Duration
		maxVUs   int
	}{
		{"cv", time.Minute, 5},
		{"rv", 40 * time.Second, 10},
		{"si", 90 * time.Second, 3},
		{"pv", 30 * time.Second, 2},
		{"car", 40 * time.Second, 200},
		{"rar", 100 * time.Second, 40},
		{"", 100 * time.Second, 220}, // all six
	}
	for _, tc := range cases {
		t.Run("scenario "+tc.scenario, func(t *testing.T) {
			t.Parallel()
			var src []string
			for i, l := range lines {
				if i <= start || i >= end || tc.scenario == "" || strings.HasPrefix(l, "  "+tc.scenario+":") {
					src = append(src, l)
				}
			}
			s, err := Parse("plan.yaml", []byte(strings.Join(src, "\n")))
			if err != nil {
				t.Fatal(err)
			}
			o, err := s.Options()
			if err != nil {
				t.Fatal(err)
			}
			if o.TotalDuration != tc.total || o.MaxVUs != tc.maxVUs || !o.HasScenarios {
				t.Errorf("total duration %s, max VUs %d, has scenarios %v; k6 plans %s and %d",
					o.TotalDuration, o.MaxVUs, o.HasScenarios, tc.total, tc.maxVUs)
			}
		})
	}
}

// The rest of a flow's Options: its scenarios by executor and class, its thresholds with their
// abort settings, its classes and shape.
func TestOptions(t *testing.T) {
	t.Parallel()
	s, err := Parse("plan.yaml", []byte(planFlow))
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.Options()
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Scenarios["pv"]; got != (scenario.ScenarioInfo{Executor: "per-vu-iterations", Exec: "b"}) || len(o.Scenarios) != 6 {
		t.Errorf("scenarios %v", o.Scenarios)
	}
	if got := o.Thresholds["http_req_duration"]; !slices.Equal(got, []string{"p(95)<300", "max<1000"}) {
		t.Errorf("http_req_duration's thresholds %q", got)
	}
	want := scenario.ThresholdConfig{Source: "rate<0.01", AbortOnFail: true, DelayAbortEval: 10 * time.Second}
	if got := o.ThresholdConfigs["http_req_failed"]; len(got) != 1 || got[0] != want {
		t.Errorf("http_req_failed's threshold %+v, want %+v", got, want)
	}
	if sw := o.Swarm; sw == nil || len(sw.Classes) != 2 || sw.Classes[0].Name != "a" || sw.Classes[0].Weight != 2 ||
		!slices.Equal(sw.Classes[0].Tags, []string{"read"}) || sw.Classes[1].Weight != 1 || len(sw.Shape) != 1 || sw.Shape[0].Users != 4 {
		t.Errorf("swarm %+v", o.Swarm)
	}
	if o.SetupTimeout != scenario.DefaultPhaseTimeout {
		t.Errorf("setup timeout %s", o.SetupTimeout)
	}
}

// Every example's Options can be made: k6 accepts its scenarios as the parser did.
func TestExampleOptions(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob("../../examples/flow/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("examples: %v %v", paths, err)
	}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(filepath.Base(p), src)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if _, err := s.Options(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
