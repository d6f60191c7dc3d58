//go:build linux

package e2e

import (
	"encoding/json"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// handleSummary() runs once, on the master, on the fleet's merged data in k6's shape: compared
// field by field with what plain k6 (the master's embedded `k6 run`) gives the same script, the
// metrics have the same names, types and value keys, the counts agree, the custom trend's
// percentiles (the same samples in both runs) are within 1%, thresholds, groups, checks (with k6's
// ids) and setup() data are the same; and what it returns is written as k6 writes it.
func TestHandleSummaryOnFleetData(t *testing.T) {
	t.Parallel()
	script := "internal/e2e/testdata/handlesummary/main.js"
	tg := startTarget(t)
	k6Dir, fleetDir := t.TempDir(), t.TempDir()

	k6 := exec.Command(filepath.Join(bin, "stampede-master"), "k6", "run", "-q", "-e", "TARGET="+tg.URL, "-e", "OUT="+k6Dir, script)
	k6.Dir = root
	k6Out, err := k6.Output()
	if err != nil {
		t.Fatalf("plain k6: %v\n%s", err, k6Out)
	}
	r := runMaster(t, 90*time.Second, "-f", script, "--headless", "--local-workers", "3", "-e", "TARGET="+tg.URL, "-e", "OUT="+fleetDir)
	logOnFailure(t, r)
	if r.code != 0 {
		t.Fatalf("exit code %d", r.code)
	}
	if !strings.Contains(r.stdout, "handleSummary: 60 requests\n") || strings.Contains(r.stdout, "Aggregated") {
		t.Errorf("stdout is not handleSummary()'s alone:\n%s", r.stdout)
	}
	if r.summary == nil || r.summary.Totals.Requests != 60 {
		t.Errorf("--summary-json was not written alongside: %+v", r.summary)
	}
	compareK6Data(t, readSummaryData(t, fleetDir), readSummaryData(t, k6Dir), map[string][]string{
		"http_reqs": {"count"}, "iterations": {"count"}, "items": {"count"}, "checks": {"passes", "fails", "rate"},
		"good": {"passes", "fails", "rate"}, "level": {"value", "min", "max"}, "http_req_failed": {"passes", "fails"},
		"size": {"count", "min", "max", "avg"},
	}, map[string][]string{"size": {"med", "p(90)", "p(95)", "p(99)"}})
}

// compareK6Data compares handleSummary()'s data on a fleet (got) with plain k6's (want) for the same
// script: options, setup data, groups and checks equal; the same metrics, with the same types,
// value kinds, value keys and thresholds; the values named in exact equal, and those in close
// within 1% (trends whose samples are the same in both runs).
func compareK6Data(t *testing.T, got, want map[string]any, exact, close map[string][]string) {
	t.Helper()
	for _, k := range []string{"options", "setup_data", "root_group"} {
		if !reflect.DeepEqual(got[k], want[k]) {
			t.Errorf("%s: %v\nk6 gives %v", k, got[k], want[k])
		}
	}
	gm, wm := got["metrics"].(map[string]any), want["metrics"].(map[string]any)
	for name, w := range wm {
		g, ok := gm[name].(map[string]any)
		if !ok {
			if name != "vus" && name != "vus_max" { // a short run may end before k6 samples them
				t.Errorf("metric %s: missing (k6 has it)", name)
			}
			continue
		}
		w := w.(map[string]any)
		if g["type"] != w["type"] || g["contains"] != w["contains"] || !reflect.DeepEqual(g["thresholds"], w["thresholds"]) {
			t.Errorf("metric %s: %v %v %v; k6 gives %v %v %v", name, g["type"], g["contains"], g["thresholds"], w["type"], w["contains"], w["thresholds"])
		}
		gv, wv := g["values"].(map[string]any), w["values"].(map[string]any)
		if !slices.Equal(slices.Sorted(maps.Keys(gv)), slices.Sorted(maps.Keys(wv))) {
			t.Errorf("metric %s: values %v; k6 gives %v", name, slices.Sorted(maps.Keys(gv)), slices.Sorted(maps.Keys(wv)))
		}
		for _, k := range exact[name] {
			if gv[k] != wv[k] {
				t.Errorf("metric %s: %s = %v; k6 gives %v", name, k, gv[k], wv[k])
			}
		}
		for _, k := range close[name] {
			if g, w := gv[k].(float64), wv[k].(float64); math.Abs(g-w) > 0.01*math.Abs(w) {
				t.Errorf("metric %s: %s = %v; k6 gives %v (more than 1%% apart)", name, k, g, w)
			}
		}
	}
	for name := range gm {
		if _, ok := wm[name]; !ok && name != "vus" && name != "vus_max" {
			t.Errorf("metric %s: k6 does not have it", name)
		}
	}
}

// When handleSummary() throws, k6 logs the error and prints its own summary: so does the master,
// with a clear message, and the exit code stays the run's.
func TestHandleSummaryThatThrows(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	out := t.TempDir()
	r := runMaster(t, 90*time.Second, "-f", "internal/e2e/testdata/handlesummary/main.js", "--headless", "--local-workers", "2",
		"-e", "TARGET="+tg.URL, "-e", "OUT="+out, "-e", "THROW=1")
	if r.code != 0 {
		t.Errorf("exit code %d, want the run's 0", r.code)
	}
	if !strings.Contains(r.stderr, "handleSummary() failed: Error: the summary handler broke") || !strings.Contains(r.stderr, "the summary below is Stampede's own") {
		t.Errorf("stderr does not say handleSummary() failed:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "Aggregated") {
		t.Errorf("stdout lacks Stampede's own summary:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "summary.json")); err == nil {
		t.Error("the failed handler's file was written")
	}
}

func readSummaryData(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m["state"].(map[string]any), "testRunDurationMs")
	return m
}
