//go:build linux

package kubedemo

import (
	"strings"
	"testing"

	"github.com/stampede-load/stampede/internal/api"
)

// The summary JSON is found in a master's log between the text summary and log lines the master
// wrote to stderr meanwhile.
func TestParseSummary(t *testing.T) {
	log := strings.Join([]string{
		`time=2026-12-06T09:45:27.454Z level=INFO msg="scaling workers"`,
		`Name   # reqs   # fails`,
		`cpu    2102     0`,
		`{`,
		`  "schema": "stampede.summary/v1",`,
		`time=2026-12-06T09:46:00.000Z level=INFO msg="scaled workers back" replicas=1`,
		`  "totals": {"requests": 2102, "failures": 0},`,
		`  "workers": [{"index": 0, "requests": 2102}],`,
		`  "series": [{"time": 1, "extra": {"hpa_replicas{hpa:t}": 1}}, {"time": 2, "extra": {"hpa_replicas{hpa:t}": 4, "hpa_cpu_utilization{hpa:t}": 412}}]`,
		`}`,
		`time=2026-12-06T09:46:01.000Z level=INFO msg="bye"`,
	}, "\n")
	var s api.Summary
	if err := ParseSummary(log, &s); err != nil {
		t.Fatal(err)
	}
	if s.Totals.Requests != 2102 || len(s.Workers) != 1 || len(s.Series) != 2 {
		t.Errorf("parsed %+v", s)
	}
	r := Result{Summary: s}
	reps, cpu := r.HPASeries("t")
	if len(reps) != 2 || reps[0] != 1 || reps[1] != 4 || len(cpu) != 1 || cpu[0] != 412 {
		t.Errorf("HPASeries: replicas %v, cpu %v", reps, cpu)
	}

	for _, bad := range []string{
		"no JSON at all",
		"{\n  \"schema\": \"other/v1\"\n}",
		"{\n  \"schema\": \"stampede.summary/v1\",\n", // cut off
	} {
		if err := ParseSummary(bad, &api.Summary{}); err == nil {
			t.Errorf("ParseSummary(%q) succeeded", bad)
		}
	}
}

func TestHPANameFollowsTheChart(t *testing.T) {
	for _, tc := range []struct{ release, want string }{
		{"", "stampede-demo-target"},
		{"gate", "gate-stampede-target"},
		{"my-stampede", "my-stampede-target"},
	} {
		o := Options{Release: tc.release}
		if got := o.HPAName(); got != tc.want {
			t.Errorf("release %q: HPA %q, want %q", tc.release, got, tc.want)
		}
	}
}
