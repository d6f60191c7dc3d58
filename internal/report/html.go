package report

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/api"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
)

// ErrChartLibrary is returned by WriteHTML when HTMLAssets.ChartJS is not an ES module with a
// default export.
var ErrChartLibrary = errors.New("the chart library is not an ES module with a default export")

// HTMLAssets are the chart library the HTML report inlines: uPlot's ES module build
// (web/static/vendor/uPlot.esm.js) and its stylesheet (uPlot.min.css).
type HTMLAssets struct {
	ChartJS, ChartCSS []byte
}

// defaultExport finds the local name of an ES module's default export: rollup's
// "export { uPlot as default };" or "export default uPlot;".
var defaultExport = regexp.MustCompile(`(?m)^export\s*(?:\{\s*([A-Za-z_$][\w$]*)\s+as\s+default\s*\}|default\s+([A-Za-z_$][\w$]*))\s*;?\s*$`)

// WriteHTML writes res as one self-contained HTML page that opens offline: the verdict, the
// thresholds, charts of the series (requests and failures per second, p50/p95/p99, users and
// workers, and the watched HPAs' replicas and CPU when the points carry them), the request table,
// errors, checks, HPAs and workers. The styles, the chart library from
// assets and the run's data (the JSON summary, as --summary-json writes it) are inline; the page
// requests nothing. Everything from the script is escaped by html/template.
func WriteHTML(w io.Writer, res *master.Result, assets HTMLAssets) error {
	lib := string(assets.ChartJS)
	m := defaultExport.FindAllStringSubmatch(lib, -1)
	if len(m) == 0 {
		return ErrChartLibrary
	}
	name := m[len(m)-1][1] + m[len(m)-1][2]
	// The module's own text ends the script element only at "</script"; guard against it (and an
	// HTML comment opener) the way JS allows, in strings and regular expressions alike.
	lib = scriptCloser.ReplaceAllString(lib, `<\/$1`)
	lib = strings.ReplaceAll(lib, "<!--", `\x3C!--`)
	css := styleCloser.ReplaceAllString(string(assets.ChartCSS), `<\/$1`)

	agg := aggregateOf(res)
	secs := res.Duration().Seconds()
	sum := NewSummary(&master.Result{RunID: res.RunID, Mode: res.Mode, Script: res.Script, Engine: res.Engine, Users: res.Users,
		SpawnRate: res.SpawnRate, Started: res.Started, Ended: res.Ended, Aggregate: agg, Points: res.Points,
		Workers: res.Workers, Err: res.Err})
	ok, why := verdict(res)
	page := htmlPage{
		OK: ok, Why: why, Summary: sum, Duration: res.Duration().Round(time.Millisecond).String(),
		ChartCSS: template.CSS(css),
		Script:   template.JS(lib + "\n;{ const Chart = " + name + ";\n" + chartScript + "\n}\n"),
	}
	if !res.Started.IsZero() {
		page.Started = res.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	for _, tr := range res.Thresholds {
		page.Thresholds = append(page.Thresholds, htmlThreshold{ThresholdResult: tr, Observed: observed(agg, tr)})
	}
	cell := func(name, method string, e *stats.Entry) htmlRow {
		q := e.Duration.Quantiles(0.5, 0.95, 0.99)
		return htmlRow{Name: name, Method: method, Requests: e.Requests, Failures: fails(e), P50: ms(q[0], e),
			P95: ms(q[1], e), P99: ms(q[2], e), Avg: ms(e.Duration.Mean(), e), Max: ms(e.Duration.Max, e),
			RPS: perSec(e.Requests, secs)}
	}
	for _, ne := range agg.ByName() {
		e := ne.Entry
		page.Rows = append(page.Rows, cell(ne.Name, ne.Method, &e))
	}
	tot := agg.Total()
	page.Total = cell("Aggregated", "", &tot)
	for _, c := range sortedChecks(agg) {
		page.Checks = append(page.Checks, htmlCheck{Name: checkName(c), Passes: c.Passes, Fails: c.Fails,
			Rate: fmt.Sprintf("%.2f%%", 100*c.Rate)})
	}
	page.HPAs = hpaSummaries(res.Points)
	return htmlTemplate.Execute(w, page)
}

// hpaColumns are the points' extra values the report reads, by metric: the keys of
// internal/kube.Extras, "hpa_replicas{hpa:web}".
var hpaColumns = map[string]int{"hpa_replicas": hpaReplicas, "hpa_desired_replicas": hpaDesired, "hpa_cpu_utilization": hpaCPU}

const (
	hpaReplicas = iota
	hpaDesired
	hpaCPU
)

// hpaKey splits an extra key into its HPA and column; ok is false for a key of something else.
func hpaKey(key string) (hpa string, column int, ok bool) {
	metric, rest, found := strings.Cut(key, "{hpa:")
	if !found || !strings.HasSuffix(rest, "}") || len(rest) < 2 {
		return "", 0, false
	}
	column, ok = hpaColumns[metric]
	return strings.TrimSuffix(rest, "}"), column, ok
}

// hpaSummaries sums up, per HPA by name, the values the points carry (nil when none carries any).
func hpaSummaries(points []stats.Point) []htmlHPA {
	type acc struct {
		n          [3]int
		lo, hi     [3]float64
		sum, first [3]float64
	}
	byName := map[string]*acc{}
	for _, p := range points {
		for k, v := range p.Extra {
			name, col, ok := hpaKey(k)
			if !ok {
				continue
			}
			a := byName[name]
			if a == nil {
				a = &acc{}
				byName[name] = a
			}
			if a.n[col] == 0 {
				a.lo[col], a.hi[col], a.first[col] = v, v, v
			}
			a.n[col]++
			a.lo[col], a.hi[col] = min(a.lo[col], v), max(a.hi[col], v)
			a.sum[col] += v
		}
	}
	var out []htmlHPA
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		a := byName[name]
		count := func(col int, v float64) string {
			if a.n[col] == 0 {
				return "-"
			}
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		percent := func(v float64) string {
			if a.n[hpaCPU] == 0 {
				return "-"
			}
			return strconv.FormatFloat(v, 'f', 1, 64) + "%"
		}
		out = append(out, htmlHPA{Name: name, ReplicasFirst: count(hpaReplicas, a.first[hpaReplicas]),
			ReplicasMax: count(hpaReplicas, a.hi[hpaReplicas]), DesiredMax: count(hpaDesired, a.hi[hpaDesired]),
			CPUAvg: percent(a.sum[hpaCPU] / float64(max(a.n[hpaCPU], 1))), CPUMax: percent(a.hi[hpaCPU])})
	}
	return out
}

var (
	scriptCloser = regexp.MustCompile(`(?i)</(script)`)
	styleCloser  = regexp.MustCompile(`(?i)</(style)`)
)

type htmlPage struct {
	OK         bool
	Why        string
	Summary    *api.Summary
	Duration   string
	Started    string
	Thresholds []htmlThreshold
	Rows       []htmlRow
	Total      htmlRow
	Checks     []htmlCheck
	HPAs       []htmlHPA
	ChartCSS   template.CSS
	Script     template.JS
}

type htmlThreshold struct {
	master.ThresholdResult
	Observed string
}

type htmlRow struct {
	Name, Method                      string
	Requests                          uint64
	Failures, P50, P95, P99, Avg, Max string
	RPS                               string
}

// htmlHPA is one watched HPA over the run: replicas at the start and at most, the most desired,
// and the CPU utilisation (percent of requests) on average and at most; "-" where it reported none.
type htmlHPA struct {
	Name                                   string
	ReplicasFirst, ReplicasMax, DesiredMax string
	CPUAvg, CPUMax                         string
}

type htmlCheck struct {
	Name          string
	Passes, Fails uint64
	Rate          string
}

// chartScript draws the charts from the summary's series with the chart library's default
// export, bound to Chart by WriteHTML in a block of its own, so no name clashes with the library's.
// Each chart's element gets data-points once drawn. The autoscaling chart groups the points' extra
// values per HPA as the live UI does (web/static/autoscaling.js); its element is there only when
// WriteHTML found HPAs.
const chartScript = `
const summary = JSON.parse(document.getElementById('run-data').textContent);
const series = summary.series || [];
const col = (f) => series.map(f);
const x = col((p) => p.time);
const hpaColumns = { hpa_replicas: 'replicas', hpa_desired_replicas: 'desired', hpa_cpu_utilization: 'cpu' };
const hpas = new Map();
for (const p of series) {
  for (const k of Object.keys(p.extra || {})) {
    const m = /^(\w+)\{hpa:(.+)\}$/s.exec(k);
    if (!m || !Object.hasOwn(hpaColumns, m[1])) continue;
    if (!hpas.has(m[2])) hpas.set(m[2], {});
    hpas.get(m[2])[hpaColumns[m[1]]] = k;
  }
}
const extra = (k) => col((p) => (p.extra && Object.hasOwn(p.extra, k) ? p.extra[k] : null));
const palette = ['#2563eb', '#d97706', '#9333ea', '#16a34a', '#dc2626', '#0891b2'];
const hpaSeries = [];
[...hpas.keys()].sort().forEach((name, i) => {
  const h = hpas.get(name);
  const stroke = palette[i % palette.length];
  if (h.replicas) hpaSeries.push({ label: name + ' replicas', stroke, values: extra(h.replicas), scale: 'count', stepped: true });
  if (h.desired) hpaSeries.push({ label: name + ' desired', stroke, values: extra(h.desired), scale: 'count', stepped: true, dash: [6, 4] });
  if (h.cpu) hpaSeries.push({ label: name + ' CPU', stroke, values: extra(h.cpu), scale: 'pct', dash: [2, 3], width: 1, unit: '%' });
});
const charts = [
  { id: 'chart-rps', unit: '/s', series: [
    { label: 'requests/s', stroke: '#2563eb', values: col((p) => p.requests) },
    { label: 'failures/s', stroke: '#dc2626', values: col((p) => p.failures) } ] },
  { id: 'chart-latency', unit: 'ms', series: [
    { label: 'p50', stroke: '#16a34a', values: col((p) => p.requests > 0 ? p.p50_ms : null) },
    { label: 'p95', stroke: '#d97706', values: col((p) => p.requests > 0 ? p.p95_ms : null) },
    { label: 'p99', stroke: '#9333ea', values: col((p) => p.requests > 0 ? p.p99_ms : null) } ] },
  { id: 'chart-users', unit: '', series: [
    { label: 'users', stroke: '#0891b2', values: col((p) => p.users) },
    { label: 'workers', stroke: '#64748b', values: col((p) => p.workers), scale: 'workers' } ] },
  { id: 'chart-hpa', unit: '', left: 'count', series: hpaSeries },
];
const stepped = Chart.paths.stepped({ align: 1 });
const counts = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
const rightAxes = {
  workers: { scale: 'workers', side: 1, grid: { show: false } },
  pct: { scale: 'pct', side: 1, grid: { show: false }, values: (u, splits) => splits.map((v) => v + '%') },
};
const drawn = [];
for (const c of charts) {
  const el = document.getElementById(c.id);
  if (!el) continue;
  if (x.length === 0 || c.series.length === 0) {
    el.textContent = 'No data: the run has no closed seconds.';
    el.dataset.points = '0';
    continue;
  }
  const left = c.left || 'y';
  const right = [...new Set(c.series.map((s) => s.scale).filter((s) => s && s !== left))];
  const leftAxis = left === 'count' ? { scale: left, incrs: counts, values: (u, splits) => splits.map(String) } : { scale: left, label: c.unit };
  const opts = {
    width: Math.max(el.clientWidth, 300),
    height: 240,
    series: [{}].concat(c.series.map((s) => ({ label: s.label, stroke: s.stroke, width: s.width || 2, dash: s.dash,
      scale: s.scale || left, paths: s.stepped ? stepped : undefined,
      value: (u, v) => v == null ? '-' : (Math.round(v * 100) / 100) + (s.unit || (c.unit && c.unit !== '/s' ? ' ' + c.unit : '')) }))),
    scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, Math.max(hi, 1)] },
      workers: { range: (u, lo, hi) => [0, Math.max(hi, 1)] },
      count: { range: (u, lo, hi) => [0, Math.max(hi, 1) + 1] },
      pct: { range: (u, lo, hi) => [0, Math.max(hi, 100)] } },
    axes: [{}, leftAxis].concat(right.map((r) => rightAxes[r])),
  };
  drawn.push([el, new Chart(opts, [x].concat(c.series.map((s) => s.values)), el)]);
  el.dataset.points = String(x.length);
}
addEventListener('resize', () => {
  for (const [el, u] of drawn) u.setSize({ width: Math.max(el.clientWidth, 300), height: 240 });
});
`

var htmlTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stampede run {{.Summary.RunID}}{{if .OK}} passed{{else}} failed{{end}}</title>
<style>{{.ChartCSS}}</style>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1280px; padding: 1.5rem; color: #0f172a; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; border-bottom: 1px solid #e2e8f0; padding-bottom: .25rem; }
.verdict.ok { color: #15803d; } .verdict.fail { color: #b91c1c; }
.meta { color: #475569; margin: 0; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid #e2e8f0; text-align: left; vertical-align: top; }
th { background: #f8fafc; font-weight: 600; }
td.num, th.num { text-align: right; }
td.name { word-break: break-all; }
tr.total td { font-weight: 600; border-top: 2px solid #94a3b8; }
.pass { color: #15803d; } .fail { color: #b91c1c; }
.charts { display: grid; grid-template-columns: 1fr; gap: 1rem; }
.chart h3 { font-size: 1rem; margin: .5rem 0; }
.note { color: #64748b; font-size: .9em; }
</style>
</head>
<body>
<header>
<h1 class="verdict {{if .OK}}ok{{else}}fail{{end}}" data-testid="verdict" data-ok="{{.OK}}">{{if .OK}}✅ Run {{.Summary.RunID}} passed{{else}}❌ Run {{.Summary.RunID}} failed: {{.Why}}{{end}}</h1>
<p class="meta">{{.Summary.Script}} · {{.Summary.Mode}} mode · {{.Duration}}{{if .Started}} from {{.Started}}{{end}}{{if .Summary.Users}} · {{.Summary.Users}} users{{end}} · {{.Summary.Totals.Requests}} requests, {{.Total.Failures}} failures</p>
</header>
{{if .Thresholds}}
<h2>Thresholds</h2>
<table data-testid="thresholds">
<thead><tr><th>Metric</th><th>Expression</th><th class="num">Observed</th><th>Result</th></tr></thead>
<tbody>
{{range .Thresholds}}<tr><td class="name">{{.Metric}}</td><td>{{.Source}}</td><td class="num">{{.Observed}}</td><td class="{{if .OK}}pass{{else}}fail{{end}}">{{if .OK}}✅ passed{{else if .Aborted}}❌ failed, aborted the run{{else}}❌ failed{{end}}</td></tr>
{{end}}</tbody>
</table>
{{end}}
<h2>Charts</h2>
<div class="charts">
<div class="chart"><h3>Requests and failures per second</h3><div id="chart-rps" data-testid="chart-rps"></div></div>
<div class="chart"><h3>Response times (ms)</h3><div id="chart-latency" data-testid="chart-latency"></div></div>
<div class="chart"><h3>Users and workers</h3><div id="chart-users" data-testid="chart-users"></div></div>
{{if .HPAs}}<div class="chart"><h3>Autoscaling</h3><div id="chart-hpa" data-testid="chart-hpa"></div>
<p class="note">Per HPA: current replicas (solid), desired replicas (dashed), CPU utilisation in % of requests (dotted, right axis).</p></div>{{end}}
</div>
<h2>Requests</h2>
<table data-testid="requests">
<thead><tr><th>Name</th><th>Method</th><th class="num">Requests</th><th class="num">Failures</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th><th class="num">Avg</th><th class="num">Max</th><th class="num">req/s</th></tr></thead>
<tbody>
{{range .Rows}}<tr data-testid="request-row"><td class="name">{{.Name}}</td><td>{{.Method}}</td><td class="num">{{.Requests}}</td><td class="num">{{.Failures}}</td><td class="num">{{.P50}}</td><td class="num">{{.P95}}</td><td class="num">{{.P99}}</td><td class="num">{{.Avg}}</td><td class="num">{{.Max}}</td><td class="num">{{.RPS}}</td></tr>
{{end}}{{with .Total}}<tr class="total" data-testid="request-total"><td>{{.Name}}</td><td></td><td class="num">{{.Requests}}</td><td class="num">{{.Failures}}</td><td class="num">{{.P50}}</td><td class="num">{{.P95}}</td><td class="num">{{.P99}}</td><td class="num">{{.Avg}}</td><td class="num">{{.Max}}</td><td class="num">{{.RPS}}</td></tr>{{end}}
</tbody>
</table>
<p class="note">Response times in ms; req/s over the run's duration.</p>
{{if .Summary.Errors}}
<h2>Errors</h2>
<table data-testid="errors">
<thead><tr><th class="num">Count</th><th>Method</th><th>Name</th><th>Error</th></tr></thead>
<tbody>
{{range .Summary.Errors}}<tr><td class="num">{{.Count}}</td><td>{{.Method}}</td><td class="name">{{.Name}}</td><td>{{.Error}}</td></tr>
{{end}}</tbody>
</table>
{{end}}
{{if .Checks}}
<h2>Checks</h2>
<table data-testid="checks">
<thead><tr><th>Check</th><th class="num">Passes</th><th class="num">Fails</th><th class="num">Rate</th></tr></thead>
<tbody>
{{range .Checks}}<tr><td class="{{if .Fails}}fail{{else}}pass{{end}}">{{if .Fails}}✗{{else}}✓{{end}} {{.Name}}</td><td class="num">{{.Passes}}</td><td class="num">{{.Fails}}</td><td class="num">{{.Rate}}</td></tr>
{{end}}</tbody>
</table>
{{end}}
{{if .HPAs}}
<h2>Autoscaling</h2>
<table data-testid="hpas">
<thead><tr><th>HPA</th><th class="num">Replicas at the start</th><th class="num">Replicas at most</th><th class="num">Desired at most</th><th class="num">CPU avg</th><th class="num">CPU max</th></tr></thead>
<tbody>
{{range .HPAs}}<tr data-testid="hpa-row"><td class="name">{{.Name}}</td><td class="num">{{.ReplicasFirst}}</td><td class="num">{{.ReplicasMax}}</td><td class="num">{{.DesiredMax}}</td><td class="num">{{.CPUAvg}}</td><td class="num">{{.CPUMax}}</td></tr>
{{end}}</tbody>
</table>
<p class="note">Sampled once per second of the run; CPU in % of the pods' requests.</p>
{{end}}
{{if .Summary.Workers}}
<h2>Workers</h2>
<table data-testid="workers">
<thead><tr><th class="num">#</th><th>Host</th><th>ID</th><th class="num">Requests</th><th>State</th></tr></thead>
<tbody>
{{range .Summary.Workers}}<tr><td class="num">{{.Index}}</td><td>{{.Host}}</td><td>{{.ID}}</td><td class="num">{{.Requests}}</td><td>{{if .Lost}}lost{{else if .Error}}{{.Error}}{{else}}ok{{end}}</td></tr>
{{end}}</tbody>
</table>
{{end}}
<script type="application/json" id="run-data">{{.Summary}}</script>
<script type="module">{{.Script}}</script>
</body>
</html>
`))
