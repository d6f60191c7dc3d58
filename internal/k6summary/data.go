// Package k6summary gives a run's merged results the shape k6 v1.8.1 gives handleSummary(): the
// fleet's metrics, thresholds, groups and checks as one k6 process would have reported them, so
// that a script's handleSummary() runs on Stampede's data unchanged. Pure: no k6, no I/O.
package k6summary

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
)

// DefaultTrendStats are k6's summaryTrendStats when the script sets none.
var DefaultTrendStats = []string{"avg", "min", "med", "max", "p(90)", "p(95)"}

// Options are what the data says about how it is shown.
type Options struct {
	// TrendStats are the trend columns (the script's summaryTrendStats; default
	// DefaultTrendStats): avg, min, med, max, count, p(N).
	TrendStats []string
	// TimeUnit is the script's summaryTimeUnit ("" by default).
	TimeUnit string
	// NoColor, StdoutTTY and StderrTTY describe the master's terminal.
	NoColor, StdoutTTY, StderrTTY bool
}

// Data is handleSummary()'s argument for res, as JSON-ready maps: "metrics" (each with "type",
// "contains", "values" and, when it has thresholds, "thresholds" {source: {"ok": bool}}),
// "root_group" (groups and checks, with k6's ids), "options", "state" and, when setup() returned
// something, "setup_data". Counters' rates are per second of the load; trend values come from the
// merged histograms (within 1% of the exact value).
func Data(res *master.Result, opts Options) (map[string]any, error) {
	if len(opts.TrendStats) == 0 {
		opts.TrendStats = DefaultTrendStats
	}
	for _, s := range opts.TrendStats {
		if _, err := trendStat(&stats.Metric{}, s); err != nil {
			return nil, err
		}
	}
	secs := res.Duration().Seconds()
	metrics := map[string]any{}
	var agg *stats.Aggregate
	if agg = res.Aggregate; agg == nil {
		agg = &stats.Aggregate{}
	}
	for name, m := range agg.Metrics {
		metrics[name] = metric(m, secs, opts.TrendStats)
	}
	addUsers(metrics, res.Points)
	for _, t := range res.Thresholds {
		if t.Metric == "" || t.Source == "" {
			continue
		}
		entry, ok := metrics[t.Metric].(map[string]any)
		if !ok {
			// A threshold's metric with no samples: k6 reports it with empty values.
			entry = map[string]any{"type": "", "contains": "default", "values": map[string]float64{}}
			if parent, ok := metrics[baseName(t.Metric)].(map[string]any); ok {
				entry["type"], entry["contains"] = parent["type"], parent["contains"]
			}
			metrics[t.Metric] = entry
		}
		ths, _ := entry["thresholds"].(map[string]any)
		if ths == nil {
			ths = map[string]any{}
			entry["thresholds"] = ths
		}
		ths[t.Source] = map[string]any{"ok": t.OK}
	}
	data := map[string]any{
		"metrics":    metrics,
		"root_group": rootGroup(agg.Checks),
		"options": map[string]any{
			"summaryTrendStats": opts.TrendStats,
			"summaryTimeUnit":   opts.TimeUnit,
			"noColor":           opts.NoColor,
		},
		"state": map[string]any{
			"isStdOutTTY":       opts.StdoutTTY,
			"isStdErrTTY":       opts.StderrTTY,
			"testRunDurationMs": float64(res.Duration()) / float64(time.Millisecond),
		},
	}
	if len(res.SetupData) > 0 {
		var v any
		if err := json.Unmarshal(res.SetupData, &v); err != nil {
			return nil, fmt.Errorf("k6summary: setup data: %w", err)
		}
		data["setup_data"] = v
	}
	return data, nil
}

// metric is one metric's entry; values as k6's sinks give them.
func metric(m *stats.Metric, secs float64, trendStats []string) map[string]any {
	values := map[string]float64{}
	switch m.Type {
	case stats.Counter:
		values["count"] = m.Sum
		values["rate"] = 0
		if secs > 0 {
			values["rate"] = m.Sum / secs
		}
	case stats.Gauge:
		values["value"], values["min"], values["max"] = m.Value, m.Min, m.Max
	case stats.Rate:
		values["rate"] = 0
		if m.Count > 0 {
			values["rate"] = float64(m.Trues) / float64(m.Count)
		}
		values["passes"], values["fails"] = float64(m.Trues), float64(m.Count-m.Trues)
	case stats.Trend:
		for _, s := range trendStats {
			values[s], _ = trendStat(m, s)
		}
	}
	return map[string]any{"type": m.Type.String(), "contains": m.Contains, "values": values}
}

// trendStat is one summaryTrendStats column of a trend: avg, min, med, max, count or p(N).
func trendStat(m *stats.Metric, s string) (float64, error) {
	switch s {
	case "avg":
		if m.Count == 0 {
			return 0, nil
		}
		return m.Sum / float64(m.Count), nil
	case "min":
		return m.Min, nil
	case "max":
		return m.Max, nil
	case "count":
		return float64(m.Count), nil
	case "med":
		return quantile(m, 0.5), nil
	}
	if p, ok := strings.CutPrefix(s, "p("); ok && strings.HasSuffix(p, ")") {
		n, err := strconv.ParseFloat(strings.TrimSuffix(p, ")"), 64)
		if err == nil && n >= 0 && n <= 100 {
			return quantile(m, n/100), nil
		}
	}
	return 0, fmt.Errorf("k6summary: summaryTrendStats %q: want avg, min, med, max, count or p(N)", s)
}

func quantile(m *stats.Metric, q float64) float64 {
	if m.Count == 0 {
		return 0
	}
	v := m.Hist.Quantile(q)
	if math.IsNaN(v) {
		return 0
	}
	return min(max(v, m.Min), m.Max)
}

// addUsers adds vus and vus_max, which the workers do not report (each describes one k6 process),
// from the users the fleet ran each second: vus ends at the last second's users, vus_max is the most.
func addUsers(metrics map[string]any, points []stats.Point) {
	if len(points) == 0 {
		return
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range points {
		lo, hi = min(lo, float64(p.Users)), max(hi, float64(p.Users))
	}
	last := float64(points[len(points)-1].Users)
	metrics["vus"] = map[string]any{"type": "gauge", "contains": "default", "values": map[string]float64{"value": last, "min": lo, "max": hi}}
	metrics["vus_max"] = map[string]any{"type": "gauge", "contains": "default", "values": map[string]float64{"value": hi, "min": hi, "max": hi}}
}

// baseName is a submetric's metric: "http_req_duration" of "http_req_duration{name:login}".
func baseName(selector string) string {
	name, _, _ := strings.Cut(selector, "{")
	return name
}

// group is k6's lib.Group as handleSummary sees it.
type group struct {
	name, path string
	groups     map[string]*group
	checks     map[string]*stats.Check
}

// rootGroup builds k6's group tree from the checks' group paths ("::login::form"), with k6's ids
// (the hex MD5 of the path). Groups and checks are in name order: the fleet does not keep the
// order a single k6 process first met them in.
func rootGroup(checks map[stats.CheckKey]*stats.Check) map[string]any {
	root := &group{groups: map[string]*group{}, checks: map[string]*stats.Check{}}
	for k, c := range checks {
		g := root
		if k.Group != "" {
			for _, name := range strings.Split(strings.TrimPrefix(k.Group, "::"), "::") {
				child := g.groups[name]
				if child == nil {
					child = &group{name: name, path: g.path + "::" + name, groups: map[string]*group{}, checks: map[string]*stats.Check{}}
					g.groups[name] = child
				}
				g = child
			}
		}
		sum := g.checks[k.Name]
		if sum == nil {
			sum = &stats.Check{}
			g.checks[k.Name] = sum
		}
		sum.Merge(c)
	}
	return root.export()
}

func (g *group) export() map[string]any {
	groups := []any{}
	for _, name := range slices.Sorted(maps.Keys(g.groups)) {
		groups = append(groups, g.groups[name].export())
	}
	checks := []any{}
	for _, name := range slices.Sorted(maps.Keys(g.checks)) {
		c, path := g.checks[name], g.path+"::"+name
		checks = append(checks, map[string]any{"name": name, "path": path, "id": id(path), "passes": c.Passes, "fails": c.Fails})
	}
	return map[string]any{"name": g.name, "path": g.path, "id": id(g.path), "groups": groups, "checks": checks}
}

// id is k6's id of a group or check: the hex MD5 of its path.
func id(path string) string {
	sum := md5.Sum([]byte(path))
	return hex.EncodeToString(sum[:])
}
