package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stampede-load/stampede/internal/api"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
)

// autoscalingRun is passedRun with two watched HPAs in its points, as the master records them
// (internal/master recordGauges): "web" scales from 1 to 3 replicas and reports CPU from its
// second second on; the other, with a hostile name, stays at 1 and reports no CPU. Its thresholds
// are on those values, which are trends of counts and percentages, not of milliseconds.
func autoscalingRun() *master.Result {
	res := passedRun()
	web := []map[string]float64{
		{"hpa_replicas{hpa:web}": 1, "hpa_desired_replicas{hpa:web}": 2},
		{"hpa_replicas{hpa:web}": 2, "hpa_desired_replicas{hpa:web}": 3, "hpa_cpu_utilization{hpa:web}": 80},
		{"hpa_replicas{hpa:web}": 3, "hpa_desired_replicas{hpa:web}": 3, "hpa_cpu_utilization{hpa:web}": 95},
	}
	var d stats.Delta
	for i := range res.Points {
		extra := map[string]float64{"hpa_replicas{hpa:" + hostile + "}": 1, "hpa_desired_replicas{hpa:" + hostile + "}": 1}
		for k, v := range web[i%len(web)] {
			extra[k] = v
		}
		res.Points[i].Extra = extra
		for k, v := range extra {
			d.AddSample(k, stats.Trend, "default", v, res.Started.UnixNano())
		}
	}
	res.Aggregate.Add(&d)
	res.Thresholds = append(res.Thresholds,
		master.ThresholdResult{Metric: "hpa_replicas{hpa:web}", Source: "max>=3", Observed: 3, HasData: true, OK: true},
		master.ThresholdResult{Metric: "hpa_cpu_utilization{hpa:web}", Source: "avg<80", Observed: 87.5, HasData: true})
	return res
}

// stubAssets is a chart library that draws nothing, so the golden page holds only the report's own text.
var stubAssets = HTMLAssets{ChartJS: []byte("function u(){}\nexport { u as default };\n"), ChartCSS: []byte(".u{}")}

func TestHTMLAutoscaling(t *testing.T) {
	t.Parallel()
	escaped := "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
	tests := []struct {
		name   string
		res    func() *master.Result
		want   []string // in the page
		absent []string // not in the page
	}{
		{
			name:   "no HPA",
			res:    passedRun,
			absent: []string{`id="chart-hpa"`, `data-testid="hpas"`, "<h2>Autoscaling</h2>"},
		},
		{
			name: "another kind of extra value",
			res: func() *master.Result {
				res := passedRun()
				res.Points[0].Extra = map[string]float64{"queue_depth": 4, "hpa_replicas{name:web}": 1, "hpa_replicas{hpa:}": 1}
				return res
			},
			absent: []string{`id="chart-hpa"`, `data-testid="hpas"`},
		},
		{
			name: "HPAs",
			res:  autoscalingRun,
			want: []string{
				`<div id="chart-hpa" data-testid="chart-hpa"></div>`,
				// By name: the hostile one sorts first ("<" before "w").
				`<tr data-testid="hpa-row"><td class="name">` + escaped + `</td><td class="num">1</td><td class="num">1</td><td class="num">1</td><td class="num">-</td><td class="num">-</td></tr>
<tr data-testid="hpa-row"><td class="name">web</td><td class="num">1</td><td class="num">3</td><td class="num">3</td><td class="num">87.5%</td><td class="num">95.0%</td></tr>`,
				// Counts and percentages as plain numbers, like any trend that is not a time.
				`<td class="name">hpa_replicas{hpa:web}</td><td>max&gt;=3</td><td class="num">3</td>`,
				`<td class="name">hpa_cpu_utilization{hpa:web}</td><td>avg&lt;80</td><td class="num">87.5</td>`,
			},
			absent: []string{"<img", hostile},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := tt.res()
			var buf bytes.Buffer
			if err := WriteHTML(&buf, res, stubAssets); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, s := range tt.want {
				if !strings.Contains(out, s) {
					t.Errorf("the page lacks %s", s)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(out, s) {
					t.Errorf("the page holds %s", s)
				}
			}
			if n := strings.Count(strings.ToLower(out), "</script"); n != 2 {
				t.Errorf("%d </script in the page, want 2 (the data and the module)", n)
			}
			// The chart reads the points' extra values from the data block: they must read back intact.
			_, data, _ := strings.Cut(out, `<script type="application/json" id="run-data">`)
			data, _, _ = strings.Cut(data, "</script>")
			var sum api.Summary
			if err := json.Unmarshal([]byte(data), &sum); err != nil {
				t.Fatalf("data block: %v", err)
			}
			for i, p := range sum.Series {
				if want := res.Points[i].Extra; len(want) > 0 && !equalExtra(p.Extra, want) {
					t.Errorf("point %d reads back with extra %v, want %v", i, p.Extra, want)
				}
			}
		})
	}
}

func equalExtra(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestHPAKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key    string
		hpa    string
		column int
		ok     bool
	}{
		{"hpa_replicas{hpa:web}", "web", hpaReplicas, true},
		{"hpa_desired_replicas{hpa:api-v2.x}", "api-v2.x", hpaDesired, true},
		{"hpa_cpu_utilization{hpa:web}", "web", hpaCPU, true},
		{"hpa_replicas{hpa:" + hostile + "}", hostile, hpaReplicas, true},
		{"hpa_replicas{hpa:}", "", 0, false},
		{"hpa_replicas{name:web}", "", 0, false},
		{"hpa_replicas{hpa:web", "", 0, false},
		{"hpa_replicas", "", 0, false},
		{"queue_depth{hpa:web}", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			hpa, column, ok := hpaKey(tt.key)
			if ok != tt.ok || (ok && (hpa != tt.hpa || column != tt.column)) {
				t.Errorf("hpaKey(%q) = %q, %d, %v; want %q, %d, %v", tt.key, hpa, column, ok, tt.hpa, tt.column, tt.ok)
			}
		})
	}
}

// TestHTMLGolden keeps the whole page of a run with HPAs (with a stub chart library) in
// testdata/autoscaling_report.html, so that a change to the report shows in review.
func TestHTMLGolden(t *testing.T) {
	t.Parallel()
	res := autoscalingRun()
	checkGolden(t, "autoscaling_report.html", 5, func(b *bytes.Buffer) error { return WriteHTML(b, res, stubAssets) })
}
