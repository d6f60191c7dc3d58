package stats

import (
	"errors"
	"math"
	"testing"
)

// FuzzParseThreshold parses arbitrary keys and expressions. It checks that nothing panics, that
// errors wrap ErrInvalidThreshold, that a parsed threshold keeps its source as written and parses
// again from it to the same threshold, and that Holds and Observe never panic and agree.
func FuzzParseThreshold(f *testing.F) {
	f.Add("http_req_duration", "p(95)<300", 250.0)
	f.Add("http_req_duration{name:login}", " p(99.9) <= 1e3 ", math.NaN())
	f.Add("http_req_failed", "rate<.01", 0.5)
	f.Add("vus", "value===-3", -3.0)
	f.Add("checks{group:::a::b}", "p95<300", 0.0)
	f.Add("errors", "count!=", math.Inf(1))
	f.Fuzz(func(t *testing.T, key, src string, v float64) {
		th, err := ParseThreshold(key, src)
		if err != nil {
			if th != nil || !errors.Is(err, ErrInvalidThreshold) {
				t.Fatalf("ParseThreshold(%q, %q) = %v, %v: want nil and ErrInvalidThreshold", key, src, th, err)
			}
			return
		}
		if th.Source != src {
			t.Fatalf("Source = %q, want %q", th.Source, src)
		}
		again, err := ParseThreshold(key, th.Source)
		if err != nil {
			t.Fatalf("reparse of %q on %q: %v", th.Source, key, err)
		}
		if again.Selector.Key() != th.Selector.Key() || again.Agg != th.Agg || again.Op != th.Op ||
			again.Limit != th.Limit || again.Percentile != th.Percentile {
			t.Fatalf("reparse = %+v, want %+v", again, th)
		}
		if math.IsNaN(th.Limit) || math.IsInf(th.Limit, 0) || th.Percentile < 0 || th.Percentile > 100 {
			t.Fatalf("%q parsed to limit %v, percentile %v", src, th.Limit, th.Percentile)
		}
		if th.Holds(th.Limit) != (th.Op == "<=" || th.Op == ">=" || th.Op == "==" || th.Op == "===") {
			t.Fatalf("%q: Holds(Limit) = %v", src, th.Holds(th.Limit))
		}
		_ = th.Holds(v)
		for typ := Counter; typ <= Trend; typ++ {
			m := &Metric{Type: typ}
			m.Add(v, 1)
			got, ok := th.Observe(m, 1500)
			if ok != (th.CheckType(typ) == nil && m.Count > 0) {
				t.Fatalf("%q on a %v: Observe ok = %v, CheckType = %v", src, typ, ok, th.CheckType(typ))
			}
			_ = th.Holds(got)
		}
		// The command-line form of the canonical key parses to the same threshold, for keys whose
		// canonical form is itself stable (Selector's business, not this test's).
		canon := th.Selector.Key()
		if sel, err := ParseSelector(canon); err != nil || sel.Key() != canon {
			return
		}
		cli, err := ParseCLIThreshold(canon + ": " + th.Source)
		if err != nil {
			t.Fatalf("ParseCLIThreshold of %q: %v", canon+": "+th.Source, err)
		}
		if cli.Selector.Key() != canon || cli.Agg != th.Agg || cli.Op != th.Op || cli.Limit != th.Limit || cli.Percentile != th.Percentile {
			t.Fatalf("CLI form = %+v, want %+v", cli, th)
		}
	})
}
