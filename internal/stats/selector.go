package stats

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Selector names a metric or a sub-metric: k6's threshold key syntax, "http_req_duration" or
// "http_req_duration{name:login,method:POST}". A sub-metric holds the samples of its metric whose
// tags include every listed tag with the listed value.
type Selector struct {
	Metric string
	Tags   map[string]string // nil or empty: the whole metric
}

// ParseSelector parses k6's threshold key syntax. Tag values may be quoted ('x' or "x") and may
// contain colons ("group:::login" is the tag group with value "::login").
func ParseSelector(s string) (Selector, error) {
	s = strings.TrimSpace(s)
	name, rest, hasTags := strings.Cut(s, "{")
	name = strings.TrimSpace(name)
	if name == "" || strings.ContainsAny(name, " }:,") {
		return Selector{}, fmt.Errorf("metric %q: want a metric name such as http_req_duration, optionally with {tag:value}", s)
	}
	sel := Selector{Metric: name}
	if !hasTags {
		return sel, nil
	}
	body, ok := strings.CutSuffix(strings.TrimSpace(rest), "}")
	if !ok {
		return Selector{}, fmt.Errorf("metric %q: the tag list is not closed with }", s)
	}
	sel.Tags = map[string]string{}
	for _, part := range strings.Split(body, ",") {
		k, v, ok := strings.Cut(part, ":")
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"'`)
		if !ok || k == "" {
			return Selector{}, fmt.Errorf("metric %q: tag %q: want tag:value", s, strings.TrimSpace(part))
		}
		sel.Tags[k] = v
	}
	return sel, nil
}

// Key is the selector's canonical text: tags sorted by name, no spaces, no quotes. Deltas file
// sub-metrics under it in Metrics, so every worker and the master agree on the name.
func (s Selector) Key() string {
	if len(s.Tags) == 0 {
		return s.Metric
	}
	var b strings.Builder
	b.WriteString(s.Metric)
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(s.Tags)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + ":" + s.Tags[k])
	}
	b.WriteByte('}')
	return b.String()
}

// Matches reports whether a sample of metric with these tags belongs to the selector.
func (s Selector) Matches(metric string, tag func(name string) (string, bool)) bool {
	if metric != s.Metric {
		return false
	}
	for k, want := range s.Tags {
		if v, ok := tag(k); !ok || v != want {
			return false
		}
	}
	return true
}

// GaugeKey names a gauge the master samples besides the workers' metrics, a metric with one tag:
// {Metric: "hpa_replicas", Tag: "hpa", Value: "web"}. Its String is how thresholds, the series
// and the API name it, "hpa_replicas{hpa:web}"; code that needs the parts reads the fields.
type GaugeKey struct{ Metric, Tag, Value string }

func (k GaugeKey) String() string { return k.Metric + "{" + k.Tag + ":" + k.Value + "}" }
