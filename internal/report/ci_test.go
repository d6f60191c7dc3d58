package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/api"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// hostile is a request name a script could send to break out of the HTML report's markup.
const hostile = `</script><img src=x onerror=alert(1)>`

// withMetrics adds k6 metrics and checks to res's aggregate, as a run's deltas would.
func withMetrics(res *master.Result) *master.Result {
	d := &stats.Delta{Start: res.Started, End: res.Started.Add(time.Second)}
	at := res.Started.UnixNano()
	for _, v := range []float64{12.25, 250.5, 412.3, 88.8, 3000} {
		d.AddSample("http_req_duration", stats.Trend, "time", v, at)
	}
	for range 81 {
		d.AddSample("http_req_failed", stats.Rate, "default", 0, at)
	}
	d.AddSample("http_req_failed", stats.Rate, "default", 1, at)
	d.AddSample("http_reqs", stats.Counter, "default", 80, at)
	d.AddSample("http_req_duration{name:/login}", stats.Trend, "time", 88.8, at)
	for i := range 10 {
		d.AddCheck(stats.CheckKey{Name: "status is 200"}, i != 0)
		d.AddCheck(stats.CheckKey{Group: "::login", Name: "has token | cookie"}, true)
	}
	res.Aggregate.Add(d)
	return res
}

// failedRun has passing, failing, aborting and no-data thresholds, hostile and pipe-carrying
// names, and ended in an error.
func failedRun() *master.Result {
	res := withMetrics(runOf(4*time.Second, 123_456,
		req{sec: 0, method: "GET", name: "/a", status: "200", ms: 12.25, n: 40},
		req{sec: 0, method: "GET", name: "/a", status: "500", ms: 1503.75, failed: true},
		req{sec: 1, method: "POST", name: "/login", status: "200", ms: 88.8, n: 5},
		req{sec: 1, method: "GET", name: "/search|x", status: "0", ms: 3000, failed: true, err: "dial tcp: connection | refused", n: 2},
		req{sec: 2, method: "GET", name: hostile, status: "200", ms: 7, n: 3},
	))
	res.Mode = scenario.Swarm
	res.Users = 10
	res.Thresholds = []master.ThresholdResult{
		{Metric: "http_req_duration", Source: "p(95)<300", Observed: 412.3, HasData: true},
		{Metric: "http_req_failed", Source: "rate<0.05", Observed: 1.0 / 82, HasData: true, OK: true},
		{Metric: "http_req_duration{name:/login}", Source: "p(99)<1500", Observed: 88.8, HasData: true, OK: true},
		{Metric: "checks", Source: "rate>0.99", Observed: 0.95, HasData: true, AbortOnFail: true, Aborted: true},
		{Metric: "http_reqs", Source: "count>10", Observed: 80, HasData: true, OK: true},
		{Metric: "login_time{name:none}", Source: "avg<100", HasData: false},
	}
	res.Err = errors.New("every worker was lost")
	res.Workers = []master.WorkerResult{{Index: 0, ID: "w0", Host: "host-a", Requests: 30},
		{Index: 1, ID: "w1", Host: "host-b", Requests: 21, Lost: true}}
	return res
}

// passedRun held every threshold and ended as planned.
func passedRun() *master.Result {
	res := withMetrics(runOf(3*time.Second, 0,
		req{sec: 0, method: "GET", name: "/", status: "200", ms: 3.5, n: 20},
		req{sec: 1, method: "GET", name: "/", status: "200", ms: 4.25, n: 20},
		req{sec: 2, method: "GET", name: "/", status: "200", ms: 5, n: 20},
	))
	res.Thresholds = []master.ThresholdResult{
		{Metric: "http_req_duration", Source: "p(95)<500", Observed: 412.3, HasData: true, OK: true},
		{Metric: "http_req_failed", Source: "rate<0.05", Observed: 0.0122, HasData: true, OK: true},
	}
	return res
}

var ciRuns = []struct {
	name string
	res  func() *master.Result
}{
	{"failed", failedRun},
	{"passed", passedRun},
	{"no_aggregate", func() *master.Result { return &master.Result{RunID: "r0"} }},
}

var ciWriters = []struct {
	file  string
	write func(*bytes.Buffer, *master.Result) error
}{
	{"junit.xml", func(b *bytes.Buffer, r *master.Result) error { return WriteJUnit(b, r) }},
	{"summary.md", func(b *bytes.Buffer, r *master.Result) error { return WriteMarkdown(b, r) }},
}

func TestCIGolden(t *testing.T) {
	t.Parallel()
	for _, run := range ciRuns {
		for _, w := range ciWriters {
			t.Run(run.name+"_"+w.file, func(t *testing.T) {
				t.Parallel()
				res := run.res()
				checkGolden(t, run.name+"_"+w.file, 10, func(b *bytes.Buffer) error { return w.write(b, res) })
			})
		}
	}
}

// TestJUnitWellFormed reads the XML back and checks the counts and the failures' messages.
func TestJUnitWellFormed(t *testing.T) {
	t.Parallel()
	type failure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	type suite struct {
		XMLName  xml.Name `xml:"testsuite"`
		Name     string   `xml:"name,attr"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Time     float64  `xml:"time,attr"`
		Cases    []struct {
			Classname string   `xml:"classname,attr"`
			Name      string   `xml:"name,attr"`
			Failure   *failure `xml:"failure"`
		} `xml:"testcase"`
	}
	tests := []struct {
		name         string
		res          *master.Result
		tests, fails int
		messages     map[string]string // test case name → failure message ("" passes)
	}{
		{"failed run", failedRun(), 7, 4, map[string]string{
			"http_req_duration: p(95)<300":               "p(95)<300 failed: observed 412.3 ms",
			"http_req_failed: rate<0.05":                 "",
			"http_req_duration{name:/login}: p(99)<1500": "",
			"checks: rate>0.99":                          "rate>0.99 failed: observed 95.00% (0.95)",
			"http_reqs: count>10":                        "",
			"login_time{name:none}: avg<100":             "avg<100 failed: no samples of login_time{name:none}",
			"run":                                        "run: every worker was lost",
		}},
		{"passed run", passedRun(), 2, 0, map[string]string{
			"http_req_duration: p(95)<500": "", "http_req_failed: rate<0.05": "",
		}},
		{"no thresholds", &master.Result{}, 0, 0, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := WriteJUnit(&buf, tt.res); err != nil {
				t.Fatal(err)
			}
			var s suite
			if err := xml.Unmarshal(buf.Bytes(), &s); err != nil {
				t.Fatalf("not well-formed XML: %v\n%s", err, buf.Bytes())
			}
			if s.Name != "stampede" || s.Tests != tt.tests || s.Failures != tt.fails || len(s.Cases) != tt.tests {
				t.Fatalf("suite %q: tests=%d failures=%d with %d cases, want stampede, %d, %d", s.Name, s.Tests,
					s.Failures, len(s.Cases), tt.tests, tt.fails)
			}
			if want := tt.res.Duration().Seconds(); s.Time != want {
				t.Errorf("time = %g, want %g", s.Time, want)
			}
			for _, c := range s.Cases {
				want, ok := tt.messages[c.Name]
				if !ok {
					t.Errorf("unexpected test case %q", c.Name)
					continue
				}
				switch {
				case want == "" && c.Failure != nil:
					t.Errorf("%q failed (%q), want it passed", c.Name, c.Failure.Message)
				case want != "" && c.Failure == nil:
					t.Errorf("%q passed, want failure %q", c.Name, want)
				case want != "" && c.Failure.Message != want:
					t.Errorf("%q: message %q, want %q", c.Name, c.Failure.Message, want)
				case c.Failure != nil && c.Classname == "thresholds" && !strings.Contains(c.Failure.Text, "observed: "):
					t.Errorf("%q: details %q do not say what was observed", c.Name, c.Failure.Text)
				}
			}
		})
	}
}

func TestObserved(t *testing.T) {
	t.Parallel()
	agg := withMetrics(runOf(time.Second, 0)).Aggregate
	tests := []struct {
		name string
		tr   master.ThresholdResult
		want string
	}{
		{"trend percentile in ms", master.ThresholdResult{Metric: "http_req_duration", Source: "p(95)<300", Observed: 412.345, HasData: true}, "412.3 ms"},
		{"small duration", master.ThresholdResult{Metric: "http_req_waiting", Source: "avg<1", Observed: 0.5321, HasData: true}, "0.532 ms"},
		{"seconds-long duration", master.ThresholdResult{Metric: "http_req_duration", Source: "max<5000", Observed: 3000.4, HasData: true}, "3000 ms"},
		{"sub-metric in ms", master.ThresholdResult{Metric: "http_req_duration{name:/login}", Source: "med < 100", Observed: 88.8, HasData: true}, "88.80 ms"},
		{"rate as a percentage", master.ThresholdResult{Metric: "http_req_failed", Source: "rate<0.01", Observed: 0.0123, HasData: true}, "1.23% (0.0123)"},
		{"counter count", master.ThresholdResult{Metric: "http_reqs", Source: "count>10", Observed: 80, HasData: true}, "80"},
		{"counter rate", master.ThresholdResult{Metric: "http_reqs", Source: "rate>10", Observed: 12.345, HasData: true}, "12.35/s"},
		{"custom metric without unit", master.ThresholdResult{Metric: "queue_depth", Source: "value<10", Observed: 3.5, HasData: true}, "3.5"},
		{"no samples", master.ThresholdResult{Metric: "http_req_duration", Source: "p(95)<300"}, "no samples"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := observed(agg, tt.tr); got != tt.want {
				t.Errorf("observed = %q, want %q", got, tt.want)
			}
		})
	}
}

// tableCells splits a Markdown table row on its unescaped pipes.
func tableCells(line string) int {
	return len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(line, -1)) - 1
}

func TestMarkdownLimitsAndEscaping(t *testing.T) {
	t.Parallel()
	var reqs []req
	for i := range 60 {
		reqs = append(reqs, req{sec: 0, method: "GET", name: fmt.Sprintf("/n%02d|x", i), status: "500", ms: 5,
			failed: true, err: "HTTP 500 #" + fmt.Sprint(i), n: i + 1})
	}
	res := runOf(time.Second, 0, reqs...)
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, res); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	var names, errRows int
	section := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "### ") {
			section = line
		}
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		if n := tableCells(line); (section == "### Requests" && n != 9) || (section == "### Top errors" && n != 4) {
			t.Errorf("row has %d cells in %s: %s", n, section, line)
		}
		switch {
		case section == "### Requests" && strings.HasPrefix(line, "| /n"):
			names++
			if strings.HasPrefix(line, "| /n0") { // the ten with the fewest requests are left out
				t.Errorf("row of a name with few requests: %s", line)
			}
		case section == "### Top errors" && !strings.HasPrefix(line, "| Count"):
			errRows++
		}
	}
	if names != 50 || !strings.Contains(out, "…10 more names") {
		t.Errorf("%d name rows, want 50 and a note of 10 more:\n%s", names, out)
	}
	if errRows != 10 || !strings.Contains(out, "…50 more errors") {
		t.Errorf("%d error rows, want 10 and a note of 50 more:\n%s", errRows, out)
	}
	if !strings.Contains(out, "| **Aggregated** |  | 1830 |") {
		t.Errorf("no Aggregated row counting every request:\n%s", out)
	}
}

// htmlAssets are the files the master passes to WriteHTML.
func htmlAssets(t *testing.T) HTMLAssets {
	t.Helper()
	js, err := os.ReadFile(filepath.Join("..", "..", "web", "static", "vendor", "uPlot.esm.js"))
	if err != nil {
		t.Fatal(err)
	}
	css, err := os.ReadFile(filepath.Join("..", "..", "web", "static", "vendor", "uPlot.min.css"))
	if err != nil {
		t.Fatal(err)
	}
	return HTMLAssets{ChartJS: js, ChartCSS: css}
}

func TestHTMLSelfContainedAndEscaped(t *testing.T) {
	t.Parallel()
	assets := htmlAssets(t)
	for _, run := range ciRuns {
		t.Run(run.name, func(t *testing.T) {
			t.Parallel()
			res := run.res()
			var buf bytes.Buffer
			if err := WriteHTML(&buf, res, assets); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if m := regexp.MustCompile(`(?i)(src|href|action|url)\s*[=(]\s*["']?\s*(https?:)?//`).FindString(out); m != "" {
				t.Errorf("the page refers to a URL (%q): it must open offline", m)
			}
			if !strings.Contains(out, string(assets.ChartJS)) || !strings.Contains(out, string(assets.ChartCSS)) {
				t.Error("the chart library or its stylesheet is not inlined verbatim")
			}
			if strings.Contains(out, hostile) || strings.Contains(out, "<img") {
				t.Errorf("the hostile name %q is in the page unescaped", hostile)
			}
			// The only script elements are the two the template writes.
			if n := strings.Count(strings.ToLower(out), "</script"); n != 2 {
				t.Errorf("%d </script in the page, want 2 (the data and the module)", n)
			}
			// The data block reads back as the JSON summary, names intact.
			_, data, ok := strings.Cut(out, `<script type="application/json" id="run-data">`)
			data, _, ok2 := strings.Cut(data, "</script>")
			if !ok || !ok2 {
				t.Fatal("no data block")
			}
			var sum api.Summary
			if err := json.Unmarshal([]byte(data), &sum); err != nil {
				t.Fatalf("data block: %v\n%s", err, data)
			}
			if sum.RunID != res.RunID || len(sum.Series) != len(res.Points) {
				t.Errorf("data block has run %q with %d points, want %q with %d", sum.RunID, len(sum.Series), res.RunID, len(res.Points))
			}
			if res.Err != nil {
				found := false
				for _, r := range sum.Requests {
					found = found || r.Name == hostile
				}
				if !found {
					t.Errorf("the hostile name does not read back from the data block")
				}
				if !strings.Contains(out, "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;") {
					t.Error("the hostile name is not in the request table as escaped text")
				}
				if !strings.Contains(out, "failed: 3 of 6 thresholds failed; run: every worker was lost") {
					t.Error("the verdict does not say why the run failed")
				}
			}
		})
	}
}

func TestHTMLChartLibrary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		js      string
		wantErr error
		want    string
	}{
		{"rollup export", "function u(){}\nexport { u as default };\n", nil, "const Chart = u;"},
		{"export default", "const lib = 1;\nexport default lib;\n", nil, "const Chart = lib;"},
		{"not a module", "window.uPlot = function(){};\n", ErrChartLibrary, ""},
		{"closing tag in a string", "const s = '</SCRIPT><!--';\nexport { s as default };\n", nil, `const s = '<\/SCRIPT>\x3C!--';`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			err := WriteHTML(&buf, passedRun(), HTMLAssets{ChartJS: []byte(tt.js), ChartCSS: []byte(".u{}</style>")})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !strings.Contains(buf.String(), tt.want) {
				t.Errorf("the page does not contain %q", tt.want)
			}
			if strings.Count(buf.String(), "</style>") != 2 {
				t.Error("the stylesheet's </style> was not neutralised")
			}
		})
	}
}
