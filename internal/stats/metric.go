package stats

import (
	"errors"
	"fmt"
	"math"
)

// ErrUnknownMetricType is returned by ParseMetricType for a name that is not a k6 metric type.
var ErrUnknownMetricType = errors.New("unknown metric type")

// MetricType is the kind of a k6 metric; it decides which fields of a Metric are meaningful.
type MetricType uint8

// The k6 metric types. The zero MetricType is unset, so a forgotten type is detectable.
const (
	Counter MetricType = iota + 1 // cumulative sum, e.g. http_reqs
	Gauge                         // last value wins, e.g. vus
	Rate                          // share of non-zero samples, e.g. http_req_failed
	Trend                         // distribution, e.g. http_req_duration
)

// String returns the k6 name of t: "counter", "gauge", "rate" or "trend".
func (t MetricType) String() string {
	switch t {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Rate:
		return "rate"
	case Trend:
		return "trend"
	}
	return fmt.Sprintf("MetricType(%d)", uint8(t))
}

// ParseMetricType is the inverse of MetricType.String. Names are matched exactly, as k6 emits them.
func ParseMetricType(s string) (MetricType, error) {
	for t := Counter; t <= Trend; t++ {
		if t.String() == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("%w %q: want counter, gauge, rate or trend", ErrUnknownMetricType, s)
}

// Metric is one k6 metric (builtin or custom) folded over all its tags.
//
// Count and Sum are kept for every type. The other fields are meaningful only for some types:
// Trues for Rate; Value and Time for Gauge; Min and Max for Gauge and Trend; Hist for Trend.
// NaN samples are dropped: they have no order and would poison every sum they touch.
type Metric struct {
	Type     MetricType
	Contains string    // k6 value type: "default", "time" or "data"
	Count    uint64    // samples seen
	Sum      float64   // sum of samples; a Counter's total
	Trues    uint64    // Rate: samples with a non-zero value (rate = Trues/Count)
	Value    float64   // Gauge: the value with the latest Time
	Time     int64     // Gauge: unix nanoseconds of Value
	Min, Max float64   // Gauge and Trend; meaningless when Count == 0
	Hist     Histogram // Trend only
}

// Add records one sample taken at unixNano. A Gauge keeps the sample with the latest time, the
// later-added one on a tie; the others ignore the time.
func (m *Metric) Add(v float64, unixNano int64) {
	if math.IsNaN(v) {
		return
	}
	first := m.Count == 0
	m.Count++
	m.Sum += v
	switch m.Type {
	case Rate:
		if v != 0 {
			m.Trues++
		}
	case Gauge:
		if first || unixNano >= m.Time {
			m.Value, m.Time = v, unixNano
		}
		m.extend(v, v, first)
	case Trend:
		m.Hist.Add(v)
		m.extend(v, v, first)
	}
}

// extend widens [Min, Max] to cover [lo, hi]; first says there is no range yet.
func (m *Metric) extend(lo, hi float64, first bool) {
	if first {
		m.Min, m.Max = lo, hi
		return
	}
	m.Min, m.Max = min(m.Min, lo), max(m.Max, hi)
}

// Merge folds o into m. An m with no Type and no samples (a new(Metric)) takes o's type. If the
// types still differ, o is ignored: k6 gives a metric name one type for the whole run, so a
// mismatch is a bug upstream and mixing the fields would produce nonsense. A Gauge keeps the
// value with the newer Time (o's on a tie); Min and Max combine.
func (m *Metric) Merge(o *Metric) {
	if o == nil || o.Count == 0 {
		return
	}
	if m.Type == 0 && m.Count == 0 {
		m.Type = o.Type
	}
	if m.Type != o.Type {
		return
	}
	if m.Contains == "" {
		m.Contains = o.Contains
	}
	first := m.Count == 0
	m.Count += o.Count
	m.Sum += o.Sum
	m.Trues += o.Trues
	switch m.Type {
	case Gauge:
		if first || o.Time >= m.Time {
			m.Value, m.Time = o.Value, o.Time
		}
		m.extend(o.Min, o.Max, first)
	case Trend:
		m.Hist.Merge(&o.Hist)
		m.extend(o.Min, o.Max, first)
	}
}

// Rate returns Trues/Count, the share of non-zero samples of a Rate metric; 0 when empty.
func (m *Metric) Rate() float64 {
	if m.Count == 0 {
		return 0
	}
	return float64(m.Trues) / float64(m.Count)
}
