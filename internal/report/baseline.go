package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/stampede-load/stampede/internal/api"
	"github.com/stampede-load/stampede/internal/master"
)

// A regression budget says how much worse than a baseline run a run may get:
//
//	p(95)=10%              the overall p95 may grow by at most 10% (relative)
//	avg=+20ms              the mean may grow by at most 20 ms (absolute)
//	http_req_failed=+0.5%  the failure rate may grow by at most 0.5 percentage points
//	rps=-10%               requests per second may drop by at most 10%
//
// Keys: med, avg, min, max, p(90), p(95), p(99), p(99.9) on the overall request durations;
// http_req_failed (the failure rate); rps (requests per second). Several budgets are separated by
// commas. Each becomes a threshold verdict, so a regression fails the run like a threshold.

// Budget is one parsed budget.
type Budget struct {
	Key      string  // as written: "p(95)", "http_req_failed", ...
	Limit    float64 // the allowed change: a fraction (0.1 for 10%) when Relative, else in the metric's unit
	Relative bool
	Source   string // as written: "p(95)=10%"
}

// ParseBudgets parses a --max-regression value.
func ParseBudgets(s string) ([]Budget, error) {
	var out []Budget
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, val, ok := strings.Cut(part, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || key == "" || val == "" {
			return nil, fmt.Errorf("budget %q: want KEY=LIMIT such as p(95)=10%% or http_req_failed=+0.5%%", part)
		}
		if _, err := budgetValue(key, &api.Summary{}); err != nil {
			return nil, fmt.Errorf("budget %q: %w", part, err)
		}
		b := Budget{Key: key, Source: part}
		num := strings.TrimPrefix(strings.TrimPrefix(val, "+"), "-")
		switch {
		case key == "http_req_failed" && strings.HasSuffix(num, "%"):
			num = strings.TrimSuffix(num, "%") // percentage points of a rate: absolute
			b.Limit = 0.01
		case strings.HasSuffix(num, "%"):
			num, b.Relative, b.Limit = strings.TrimSuffix(num, "%"), true, 0.01
		case strings.HasSuffix(num, "ms"):
			num, b.Limit = strings.TrimSuffix(num, "ms"), 1
		default:
			b.Limit = 1
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("budget %q: %q is not a non-negative number", part, val)
		}
		b.Limit *= v
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, errors.New("no budget given: want e.g. 'p(95)=10%,http_req_failed=+0.5%'")
	}
	return out, nil
}

// budgetValue reads the value a budget key watches from a summary; higher is worse except for rps.
func budgetValue(key string, s *api.Summary) (float64, error) {
	d := s.Totals.DurationMs
	switch key {
	case "med", "p(50)":
		return d.Med, nil
	case "avg":
		return d.Avg, nil
	case "min":
		return d.Min, nil
	case "max":
		return d.Max, nil
	case "p(90)":
		return d.P90, nil
	case "p(95)":
		return d.P95, nil
	case "p(99)":
		return d.P99, nil
	case "p(99.9)":
		return d.P999, nil
	case "http_req_failed":
		return s.Totals.FailureRate, nil
	case "rps":
		return s.Totals.RequestsPerS, nil
	}
	return 0, fmt.Errorf("unknown key %q: want med, avg, min, max, p(90), p(95), p(99), p(99.9), http_req_failed or rps", key)
}

// ReadSummary reads a JSON summary written by --summary-json.
func ReadSummary(path string) (*api.Summary, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s api.Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: not a JSON summary: %w", path, err)
	}
	if s.Schema != api.SchemaVersion {
		return nil, fmt.Errorf("%s: schema %q, want %q (a summary written by --summary-json)", path, s.Schema, api.SchemaVersion)
	}
	return &s, nil
}

// CompareBaseline judges res against a baseline summary, one verdict per budget: Metric names the
// budget ("baseline p(95)"), Source the budget and the baseline value, Observed the run's value.
func CompareBaseline(base *api.Summary, res *master.Result, budgets []Budget) []master.ThresholdResult {
	cur := NewSummary(res)
	out := make([]master.ThresholdResult, 0, len(budgets))
	for _, b := range budgets {
		was, _ := budgetValue(b.Key, base)
		now, _ := budgetValue(b.Key, cur)
		change := now - was
		if b.Key == "rps" {
			change = was - now // fewer requests per second is worse
		}
		allowed := b.Limit
		if b.Relative {
			allowed = b.Limit * was
		}
		r := master.ThresholdResult{Metric: "baseline " + b.Key, Observed: now, HasData: cur.Totals.Requests > 0,
			OK: change <= allowed+1e-9}
		r.Source = fmt.Sprintf("%s (baseline %s)", b.Source, strconv.FormatFloat(was, 'g', 5, 64))
		if !r.OK {
			r.Error = fmt.Sprintf("%s moved from %.4g to %.4g (%s), budget %s", b.Key, was, now, relChange(was, now), strings.TrimPrefix(b.Source, b.Key+"="))
		}
		out = append(out, r)
	}
	return out
}

func relChange(was, now float64) string {
	if was == 0 {
		return fmt.Sprintf("%+.4g", now-was)
	}
	return fmt.Sprintf("%+.1f%%", (now-was)/was*100)
}
