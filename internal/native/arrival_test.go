package native

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/scenario/flow"
	"go.k6.io/k6/lib"
)

func stages(s ...any) []flow.RampStage {
	var out []flow.RampStage
	for i := 0; i+1 < len(s); i += 2 {
		out = append(out, flow.RampStage{Duration: s[i].(time.Duration), Target: int64(s[i+1].(int))})
	}
	return out
}

func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// count is how many of the fleet's iterations starts makes.
func count(starts startTimes) int64 {
	var n int64
	for {
		if _, ok := starts(n); !ok {
			return n
		}
		n++
	}
}

// TestRampingStarts: iteration i starts where the rate's integral reaches i+1, against closed
// forms, and the scenario makes exactly the iterations that start before its end.
func TestRampingStarts(t *testing.T) {
	tests := []struct {
		name      string
		startRate int64
		unit      time.Duration
		stages    []flow.RampStage
		want      func(n float64) float64 // seconds at which the area reaches n
		count     int64
	}{
		// 10/s for 1s: n at n/10 s; the 10th would start at the end, so it never does.
		{"constant", 10, time.Second, stages(time.Second, 10), func(n float64) float64 { return n / 10 }, 9},
		// per minute: 120/min is 2/s for 3s.
		{"time unit", 120, time.Minute, stages(3*time.Second, 120), func(n float64) float64 { return n / 2 }, 5},
		// 0 to 10/s over 2s: area 2.5t², the 10th at the end.
		{"ramp up", 0, time.Second, stages(2*time.Second, 10), func(n float64) float64 { return math.Sqrt(n / 2.5) }, 9},
		// 10/s to 0 over 2s: area 10t-2.5t², t = 2-sqrt(4-0.4n); the 10th at the end.
		{"ramp to 0", 10, time.Second, stages(2*time.Second, 0), func(n float64) float64 { return 2 - math.Sqrt(4-0.4*n) }, 9},
		// a 0s stage jumps to its target: 0, then at once 10/s for 1s.
		{"zero-duration stage", 0, time.Second, stages(0*time.Second, 10, time.Second, 10), func(n float64) float64 { return n / 10 }, 9},
		// 3/s for 0.5s (1.5 iterations), then 3 to 1/s over 1s (area 3x-x²): the fraction
		// carries, so the 2nd starts 0.5s + (3-sqrt(7))/2 s in; 1.5 + 2 = 3.5 in all.
		{"carry", 3, time.Second, stages(500*time.Millisecond, 3, time.Second, 1), func(n float64) float64 {
			if n <= 1.5 {
				return n / 3
			}
			r := n - 1.5
			return 0.5 + (3-math.Sqrt(9-4*r))/2
		}, 3},
		// 10/s for 1s, then nothing for 1s: the 10th lands at 1s, before the end, and starts.
		{"zero rate after", 10, time.Second, stages(time.Second, 10, 0*time.Second, 0, time.Second, 0), func(n float64) float64 { return n / 10 }, 10},
		{"nothing", 0, time.Second, stages(time.Second, 0), nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			starts := rampingStarts(tc.startRate, tc.unit, tc.stages)
			if got := count(starts); got != tc.count {
				t.Errorf("%d iterations, want %d", got, tc.count)
			}
			prev := time.Duration(-1)
			for i := range tc.count {
				at, _ := starts(i)
				want := secs(tc.want(float64(i + 1)))
				if d := at - want; d < -time.Microsecond || d > time.Microsecond {
					t.Errorf("iteration %d at %s, want %s", i, at, want)
				}
				if at < prev {
					t.Errorf("iteration %d at %s, before the one before it (%s)", i, at, prev)
				}
				prev = at
			}
		})
	}
}

// TestConstantStarts: constant-arrival-rate starts at 0, then every period, before the end.
func TestConstantStarts(t *testing.T) {
	starts := constantStarts(50, time.Second, time.Second)
	if got := count(starts); got != 50 {
		t.Errorf("%d iterations, want 50", got)
	}
	if at, _ := starts(7); at != 140*time.Millisecond {
		t.Errorf("iteration 7 at %s, want 140ms", at)
	}
}

// segmentStarts are the fleet's iteration numbers that segment seg of seq starts, with k6's
// striped offsets of the tuple from maxVUs ("" and "": the whole test).
func segmentStarts(t *testing.T, seg, seq string, maxVUs int64, starts startTimes) []int64 {
	t.Helper()
	et := segTuple(t, seg, seq)
	if et.ScaleInt64(maxVUs) == 0 {
		return nil
	}
	byMax, err := et.GetNewExecutionTupleFromValue(maxVUs)
	if err != nil {
		t.Fatal(err)
	}
	first, offsets, _ := byMax.GetStripedOffsets()
	s := newStripes(first, offsets)
	var out []int64
	for {
		i := s.next()
		if _, ok := starts(i); !ok {
			return out
		}
		out = append(out, i)
	}
}

func segTuple(t *testing.T, seg, seq string) *lib.ExecutionTuple {
	t.Helper()
	var s *lib.ExecutionSegment
	var q *lib.ExecutionSegmentSequence
	if seg != "" {
		x, err := lib.NewExecutionSegmentFromString(seg)
		if err != nil {
			t.Fatal(err)
		}
		s = x
		y, err := lib.NewExecutionSegmentSequenceFromString(seq)
		if err != nil {
			t.Fatal(err)
		}
		q = &y
	}
	et, err := lib.NewExecutionTuple(s, q)
	if err != nil {
		t.Fatal(err)
	}
	return et
}

var sequences = map[string][]string{
	"0,1/2,1":     {"0:1/2", "1/2:1"},
	"0,1/3,2/3,1": {"0:1/3", "1/3:2/3", "2/3:1"},
	"0,1/4,1/3,1": {"0:1/4", "1/4:1/3", "1/3:1"},
}

// TestArrivalSegments: over the halves, thirds and an uneven sequence, the segments start
// disjoint sets of the fleet's iterations that together are exactly the whole test's, whatever
// maxVUs the stripes come from (1: one segment does it all).
func TestArrivalSegments(t *testing.T) {
	plans := map[string]startTimes{
		"ramping":  rampingStarts(50, time.Second, stages(500*time.Millisecond, 300, 0*time.Second, 100, 500*time.Millisecond, 100, 500*time.Millisecond, 0)),
		"per 7s":   rampingStarts(3, 7*time.Second, stages(10*time.Second, 1000, 3*time.Second, 1000, 5*time.Second, 11)),
		"constant": constantStarts(333, time.Second, 2*time.Second),
	}
	for name, starts := range plans {
		whole := count(starts)
		for seq, segs := range sequences {
			for _, maxVUs := range []int64{1, 7, 12, 100} {
				seen := make([]bool, whole)
				var sum int64
				for _, seg := range segs {
					for _, i := range segmentStarts(t, seg, seq, maxVUs, starts) {
						if i >= whole || seen[i] {
							t.Fatalf("%s over %s (maxVUs %d): %s starts iteration %d, outside the whole's %d or twice", name, seq, maxVUs, seg, i, whole)
						}
						seen[i] = true
						sum++
					}
				}
				if sum != whole {
					t.Errorf("%s over %s (maxVUs %d): the segments start %d, the whole test %d", name, seq, maxVUs, sum, whole)
				}
			}
		}
	}
}

// rampingScript is rampingFlowLines's scenario as a k6 script whose iterations do nothing; its
// summary is one JSON line of the iterations and dropped iterations.
const rampingScript = `
export const options = { scenarios: { main: {
	executor: 'ramping-arrival-rate', startRate: 50, timeUnit: '1s', preAllocatedVUs: 7, maxVUs: 7,
	stages: [ { duration: '500ms', target: 300 }, { duration: '0s', target: 100 },
	          { duration: '500ms', target: 100 }, { duration: '500ms', target: 0 } ],
} } };
export default function () {}
export function handleSummary(data) {
	const n = (m) => (data.metrics[m] ? data.metrics[m].values.count : 0);
	return { stdout: JSON.stringify({ iterations: n('iterations'), dropped: n('dropped_iterations') }) + '\n' };
}
`

// rampingFlowLines is the same scenario as a flow's executor lines.
const rampingFlowLines = "    executor: ramping-arrival-rate\n    startRate: 50\n    timeUnit: 1s\n    preAllocatedVUs: 7\n    maxVUs: 7\n" +
	"    stages:\n      - { duration: 500ms, target: 300 }\n      - { duration: 0s, target: 100 }\n" +
	"      - { duration: 500ms, target: 100 }\n      - { duration: 500ms, target: 0 }\n"

// TestRampingStartsK6: real k6 (this test binary run as k6, TestMain) runs the scenario for the
// whole test and for each half and third; every run makes what rampingStarts gives that segment.
// The area is 162.5 iterations and no start falls near a stage's end, so k6's floating-point
// schedule and its end cannot differ from the exact one by timing.
func TestRampingStartsK6(t *testing.T) {
	if testing.Short() {
		t.Skip("runs k6 seven times")
	}
	sc, err := flow.Parse("flow.yaml", []byte(scriptFlow(rampingFlowLines)))
	if err != nil {
		t.Fatal(err)
	}
	ex := sc.Scenarios[0]
	starts := rampingStarts(ex.StartRate, ex.TimeUnit, ex.Stages)
	if got := count(starts); got != 162 {
		t.Fatalf("the whole test makes %d, want 162 (floor of 162.5)", got)
	}
	script := filepath.Join(t.TempDir(), "ramp.js")
	if err := os.WriteFile(script, []byte(rampingScript), 0o600); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	type run struct{ seg, seq string }
	runs := []run{{"", ""}}
	for _, seq := range []string{"0,1/2,1", "0,1/3,2/3,1"} {
		for _, seg := range sequences[seq] {
			runs = append(runs, run{seg, seq})
		}
	}
	for _, r := range runs {
		t.Run(fmt.Sprintf("segment %q of %q", r.seg, r.seq), func(t *testing.T) {
			t.Parallel()
			want := int64(len(segmentStarts(t, r.seg, r.seq, ex.MaxVUs, starts)))
			args := []string{k6run.Subcommand, "run", "-q", "--no-color", "--address", "", "--log-output", "none"}
			if r.seg != "" {
				args = append(args, "--execution-segment", r.seg, "--execution-segment-sequence", r.seq)
			}
			cmd := exec.Command(self, append(args, script)...)
			cmd.Env = []string{"K6_NO_USAGE_REPORT=true", "K6_AUTO_EXTENSION_RESOLUTION=false", "K6_BINARY_PROVISIONING=false", "HOME=" + t.TempDir()}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("k6: %v: %s", err, stderr.String())
			}
			var got struct{ Iterations, Dropped int64 }
			line := out[bytes.LastIndexByte(bytes.TrimSpace(out), '\n')+1:]
			if err := json.Unmarshal(bytes.TrimSpace(line), &got); err != nil {
				t.Fatalf("k6's summary %q: %v", strings.TrimSpace(string(out)), err)
			}
			t.Logf("k6: %d iterations, %d dropped; rampingStarts: %d", got.Iterations, got.Dropped, want)
			// A start k6 makes is an iteration, or a dropped one when its VUs lag (a loaded machine).
			if got.Iterations+got.Dropped != want {
				t.Errorf("k6 made %d iterations and dropped %d; rampingStarts gives the segment %d starts", got.Iterations, got.Dropped, want)
			}
		})
	}
}

// TestScriptRampingArrivalRate: the engine, against a local HTTP server, starts exactly the
// iterations rampingStarts gives each segment (each a request the server counts, or a dropped
// iteration), over the whole test and the halves of 0,1/2,1, and the halves add up to the whole.
// With maxVUs 1 the second half has no VU and starts nothing, as in k6, and the first starts all.
func TestScriptRampingArrivalRate(t *testing.T) {
	sc, err := flow.Parse("flow.yaml", []byte(scriptFlow(rampingFlowLines)))
	if err != nil {
		t.Fatal(err)
	}
	ex := sc.Scenarios[0]
	starts := rampingStarts(ex.StartRate, ex.TimeUnit, ex.Stages)
	for _, tc := range []struct {
		lines  string
		maxVUs int64
	}{
		{rampingFlowLines, 7},
		{strings.ReplaceAll(strings.ReplaceAll(rampingFlowLines, "preAllocatedVUs: 7", "preAllocatedVUs: 1"), "maxVUs: 7", "maxVUs: 1"), 1},
	} {
		var sum int64
		for _, seg := range []string{"0:1/2", "1/2:1", ""} {
			t.Run(fmt.Sprintf("maxVUs %d segment %q", tc.maxVUs, seg), func(t *testing.T) {
				seq := "0,1/2,1"
				if seg == "" {
					seq = ""
				}
				want := int64(len(segmentStarts(t, seg, seq, tc.maxVUs, starts)))
				served, _, iters, dropped := runScript(t, scriptFlow(tc.lines), seg, nil)
				if got := int64(served) + int64(dropped); got != want || iters != uint64(served) {
					t.Errorf("%d requests + %d dropped, %d iterations; want %d in all", served, dropped, iters, want)
				}
				if seg == "" && want != sum {
					t.Errorf("the whole test starts %d, the halves %d", want, sum)
				}
				sum += want
			})
		}
	}
}

// TestScriptRampingArrivalRateGrows: with responses that take 150ms, one pre-allocated VU cannot
// take 20 starts a second: a start that finds every VU busy is dropped and one more VU starts,
// up to maxVUs (3) and never more, and every start is a request or a dropped iteration.
func TestScriptRampingArrivalRateGrows(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) bool {
		time.Sleep(150 * time.Millisecond) // the server's latency, not a wait of the test
		return false
	})
	src := scriptFlow("    executor: ramping-arrival-rate\n    startRate: 20\n    timeUnit: 1s\n    preAllocatedVUs: 1\n    maxVUs: 3\n" +
		"    stages:\n      - { duration: 1s, target: 20 }\n")
	r := runToEnd(t, src, tg, func(o *Options) { o.Submetrics = []string{"dropped_iterations{scenario:main}"} })
	var dropped int
	if m := r.snapshot().Metrics["dropped_iterations{scenario:main}"]; m != nil {
		dropped = int(m.Sum)
	}
	served, users := tg.count("/"), tg.distinctUsers("/")
	// 20 a second for 1s: the 20th would start at the end, so 19.
	if served+dropped != 19 || dropped == 0 || users != 3 {
		t.Errorf("%d requests from %d users, %d dropped; want 19 starts in all, some dropped, 3 users", served, users, dropped)
	}
}
