package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// The fixtures in testdata/inspect are the output of
// `k6 inspect --execution-requirements` (k6 v1.8.1) on the scripts described
// in each case.
func TestParseInspectFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want Options
	}{
		{
			// export default function () { http.get(...) }
			file: "default.json",
			want: Options{
				Scenarios:        map[string]ScenarioInfo{"default": {Executor: "per-vu-iterations", Exec: "default"}},
				Thresholds:       map[string][]string{},
				ThresholdConfigs: map[string][]ThresholdConfig{},
				TotalDuration:    10*time.Minute + 30*time.Second,
				MaxVUs:           1,
				HasScenarios:     false,
			},
		},
		{
			// constant- and ramping-arrival-rate scenarios, thresholds as
			// strings and as an object with abortOnFail.
			file: "arrival.json",
			want: Options{
				Scenarios: map[string]ScenarioInfo{
					"browse":   {Executor: "constant-arrival-rate", Exec: "browse"},
					"checkout": {Executor: "ramping-arrival-rate", Exec: "checkout"},
				},
				Thresholds: map[string][]string{
					"checks":                             {"rate>0.99"},
					"http_req_duration":                  {"p(95)<300", "p(99)<1000"},
					"http_req_failed{scenario:checkout}": {"rate<0.01"},
				},
				ThresholdConfigs: map[string][]ThresholdConfig{
					"checks": {{Source: "rate>0.99"}},
					"http_req_duration": {
						{Source: "p(95)<300"},
						{Source: "p(99)<1000", AbortOnFail: true, DelayAbortEval: 10 * time.Second},
					},
					"http_req_failed{scenario:checkout}": {{Source: "rate<0.01"}},
				},
				TotalDuration: 2*time.Minute + 30*time.Second,
				MaxVUs:        150,
				HasScenarios:  true,
			},
		},
		{
			// options: { stages: [...] }
			file: "stages.json",
			want: Options{
				Scenarios:        map[string]ScenarioInfo{"default": {Executor: "ramping-vus", Exec: "default"}},
				Thresholds:       map[string][]string{"http_req_duration": {"p(95)<500"}},
				ThresholdConfigs: map[string][]ThresholdConfig{"http_req_duration": {{Source: "p(95)<500"}}},
				TotalDuration:    2 * time.Minute,
				MaxVUs:           10,
				HasScenarios:     true,
			},
		},
		{
			// options: { vus: 10, duration: '30s' }
			file: "vusdur.json",
			want: Options{
				Scenarios:        map[string]ScenarioInfo{"default": {Executor: "constant-vus", Exec: "default"}},
				Thresholds:       map[string][]string{},
				ThresholdConfigs: map[string][]ThresholdConfig{},
				TotalDuration:    time.Minute,
				MaxVUs:           10,
				HasScenarios:     true,
			},
		},
		{
			// A swarm run's options (SwarmArchive, 50 VUs, 2 s) of a script
			// with vus, duration and thresholds.
			file: "swarm.json",
			want: Options{
				Scenarios: map[string]ScenarioInfo{"swarm": {Executor: "externally-controlled", Exec: "default"}},
				Thresholds: map[string][]string{
					"checks":            {"rate>0.99"},
					"http_req_duration": {"p(95)<300"},
				},
				ThresholdConfigs: map[string][]ThresholdConfig{
					"checks":            {{Source: "rate>0.99"}},
					"http_req_duration": {{Source: "p(95)<300", AbortOnFail: true, DelayAbortEval: 10 * time.Second}},
				},
				TotalDuration: 2 * time.Second,
				MaxVUs:        50,
				HasScenarios:  true,
			},
		},
		{
			// options: { setupTimeout: '120s', teardownTimeout: '2m' }
			file: "timeouts.json",
			want: Options{
				Scenarios:        map[string]ScenarioInfo{"default": {Executor: "per-vu-iterations", Exec: "default"}},
				Thresholds:       map[string][]string{},
				ThresholdConfigs: map[string][]ThresholdConfig{},
				TotalDuration:    10*time.Minute + 30*time.Second,
				MaxVUs:           1,
				SetupTimeout:     2 * time.Minute,
				TeardownTimeout:  2 * time.Minute,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("testdata", "inspect", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseInspect(data)
			if err != nil {
				t.Fatalf("ParseInspect: %v", err)
			}
			if tt.want.SetupTimeout == 0 { // the script does not set them: k6's defaults
				tt.want.SetupTimeout, tt.want.TeardownTimeout = DefaultPhaseTimeout, DefaultPhaseTimeout
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("ParseInspect =\n%+v\nwant\n%+v", *got, tt.want)
			}
		})
	}
}

func TestParseInspectCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		json    string
		wantErr bool
		check   func(t *testing.T, o *Options)
	}{
		{name: "malformed", json: `{"scenarios": {`, wantErr: true},
		{name: "not an object", json: `[1, 2]`, wantErr: true},
		{name: "without --execution-requirements", json: `{"scenarios": null, "thresholds": null}`, wantErr: true},
		{name: "scenario without executor", json: `{"scenarios": {"a": {"exec": "a"}}, "totalDuration": "1s", "maxVUs": 1}`, wantErr: true},
		{name: "bad threshold", json: `{"thresholds": {"checks": [42]}, "totalDuration": "1s", "maxVUs": 1}`, wantErr: true},
		{name: "threshold object without source", json: `{"thresholds": {"checks": [{"abortOnFail": true}]}, "totalDuration": "1s", "maxVUs": 1}`, wantErr: true},
		{name: "bad duration", json: `{"totalDuration": "soon", "maxVUs": 1}`, wantErr: true},
		{name: "negative maxVUs", json: `{"totalDuration": "1s", "maxVUs": -1}`, wantErr: true},
		{
			name: "threshold object with abortOnFail false, days, milliseconds",
			json: `{"thresholds": {"checks": [{"threshold": "rate>0.9", "abortOnFail": false, "delayAbortEval": 1500}]},
				"totalDuration": "1d2h", "maxVUs": 3}`,
			check: func(t *testing.T, o *Options) {
				want := []ThresholdConfig{{Source: "rate>0.9", DelayAbortEval: 1500 * time.Millisecond}}
				if !reflect.DeepEqual(o.ThresholdConfigs["checks"], want) {
					t.Errorf("ThresholdConfigs = %+v, want %+v", o.ThresholdConfigs["checks"], want)
				}
				if o.TotalDuration != 26*time.Hour {
					t.Errorf("TotalDuration = %v, want 26h", o.TotalDuration)
				}
			},
		},
		{
			name: "explicit default scenario is k6's default",
			json: `{"scenarios": {"default": {"executor": "per-vu-iterations", "vus": 1, "iterations": 1, "exec": "default"}},
				"totalDuration": "10m30s", "maxVUs": 1}`,
			check: func(t *testing.T, o *Options) {
				if o.HasScenarios {
					t.Error("HasScenarios = true for 1 VU, 1 iteration")
				}
			},
		},
		{
			name: "default scenario with more iterations",
			json: `{"scenarios": {"default": {"executor": "per-vu-iterations", "vus": 1, "iterations": 5}},
				"totalDuration": "10m30s", "maxVUs": 1}`,
			check: func(t *testing.T, o *Options) {
				if !o.HasScenarios {
					t.Error("HasScenarios = false for 5 iterations")
				}
			},
		},
		{
			name: "iterations shortcut",
			json: `{"iterations": 100, "vus": 10, "scenarios": {"default": {"executor": "shared-iterations", "vus": 10, "iterations": 100}},
				"totalDuration": "10m30s", "maxVUs": 10}`,
			check: func(t *testing.T, o *Options) {
				if !o.HasScenarios || o.Scenarios["default"].Executor != "shared-iterations" {
					t.Errorf("got %+v", o)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, err := ParseInspect([]byte(tt.json))
			if tt.wantErr {
				if !errors.Is(err, ErrBadInspect) {
					t.Errorf("ParseInspect = %+v, %v; want ErrBadInspect", o, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseInspect: %v", err)
			}
			tt.check(t, o)
		})
	}
}
