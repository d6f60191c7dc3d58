package stats

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

// sample is one metric sample at a unix-nanosecond time.
type sample struct {
	v float64
	t int64
}

func metricOf(typ MetricType, ss ...sample) *Metric {
	m := &Metric{Type: typ, Contains: "default"}
	for _, s := range ss {
		m.Add(s.v, s.t)
	}
	return m
}

func TestMetricMerge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b *Metric
		want Metric // Hist is not compared; see the trend case below
	}{
		{
			name: "counter sums",
			a:    metricOf(Counter, sample{1, 10}, sample{2, 20}),
			b:    metricOf(Counter, sample{4, 5}),
			want: Metric{Type: Counter, Contains: "default", Count: 3, Sum: 7},
		},
		{
			name: "gauge newer b wins",
			a:    metricOf(Gauge, sample{5, 100}, sample{1, 50}), // out-of-order add keeps t=100
			b:    metricOf(Gauge, sample{9, 200}, sample{-3, 150}),
			want: Metric{Type: Gauge, Contains: "default", Count: 4, Sum: 12, Value: 9, Time: 200, Min: -3, Max: 9},
		},
		{
			name: "gauge newer a wins",
			a:    metricOf(Gauge, sample{9, 200}),
			b:    metricOf(Gauge, sample{5, 100}, sample{20, 90}),
			want: Metric{Type: Gauge, Contains: "default", Count: 3, Sum: 34, Value: 9, Time: 200, Min: 5, Max: 20},
		},
		{
			name: "gauge tie takes merged-in value",
			a:    metricOf(Gauge, sample{1, 100}),
			b:    metricOf(Gauge, sample{2, 100}),
			want: Metric{Type: Gauge, Contains: "default", Count: 2, Sum: 3, Value: 2, Time: 100, Min: 1, Max: 2},
		},
		{
			name: "rate counts non-zero",
			a:    metricOf(Rate, sample{1, 1}, sample{0, 2}, sample{1, 3}),
			b:    metricOf(Rate, sample{0, 4}, sample{0.5, 5}),
			want: Metric{Type: Rate, Contains: "default", Count: 5, Sum: 2.5, Trues: 3},
		},
		{
			name: "trend",
			a:    metricOf(Trend, sample{10, 1}, sample{30, 2}),
			b:    metricOf(Trend, sample{20, 3}, sample{-1, 4}),
			want: Metric{Type: Trend, Contains: "default", Count: 4, Sum: 59, Min: -1, Max: 30},
		},
		{
			name: "into new metric adopts type",
			a:    new(Metric),
			b:    metricOf(Gauge, sample{3, 7}),
			want: Metric{Type: Gauge, Contains: "default", Count: 1, Sum: 3, Value: 3, Time: 7, Min: 3, Max: 3},
		},
		{
			name: "type mismatch ignored",
			a:    metricOf(Counter, sample{1, 1}),
			b:    metricOf(Gauge, sample{100, 2}),
			want: Metric{Type: Counter, Contains: "default", Count: 1, Sum: 1},
		},
		{
			name: "empty and nil ignored",
			a:    metricOf(Counter, sample{1, 1}),
			b:    &Metric{Type: Counter},
			want: Metric{Type: Counter, Contains: "default", Count: 1, Sum: 1},
		},
		{
			name: "NaN sample dropped",
			a:    metricOf(Trend, sample{math.NaN(), 1}, sample{4, 2}),
			b:    nil,
			want: Metric{Type: Trend, Contains: "default", Count: 1, Sum: 4, Min: 4, Max: 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.a.Merge(tt.b)
			got := *tt.a
			if got.Hist.Count != 0 || tt.want.Type == Trend {
				if got.Hist.Count != got.Count || got.Hist.Min != tt.want.Min || got.Hist.Max != tt.want.Max {
					t.Errorf("Hist count/min/max = %d/%v/%v, want %d/%v/%v",
						got.Hist.Count, got.Hist.Min, got.Hist.Max, got.Count, tt.want.Min, tt.want.Max)
				}
			}
			got.Hist = Histogram{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestMetricRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    *Metric
		want float64
	}{
		{"empty", &Metric{Type: Rate}, 0},
		{"all true", metricOf(Rate, sample{1, 0}, sample{1, 0}), 1},
		{"quarter", metricOf(Rate, sample{1, 0}, sample{0, 0}, sample{0, 0}, sample{0, 0}), 0.25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.m.Rate(); got != tt.want {
				t.Errorf("Rate() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseMetricType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want MetricType
		err  error
	}{
		{"counter", Counter, nil},
		{"gauge", Gauge, nil},
		{"rate", Rate, nil},
		{"trend", Trend, nil},
		{"", 0, ErrUnknownMetricType},
		{"Trend", 0, ErrUnknownMetricType},
		{"histogram", 0, ErrUnknownMetricType},
		{"MetricType(0)", 0, ErrUnknownMetricType},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMetricType(tt.in)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Fatalf("ParseMetricType(%q) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.err)
			}
			if err == nil && got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
	if s := MetricType(0).String(); s != "MetricType(0)" {
		t.Errorf("MetricType(0).String() = %q", s)
	}
}

func TestDeltaAddSample(t *testing.T) {
	t.Parallel()
	var d Delta
	d.AddSample("vus", Gauge, "default", 10, 100)
	d.AddSample("vus", Gauge, "default", 12, 200)
	d.AddSample("vus", Counter, "default", 99, 300) // wrong type: dropped
	d.AddSample("http_req_duration", Trend, "time", 120, 100)
	m := d.Metrics["vus"]
	if m.Count != 2 || m.Value != 12 || m.Min != 10 || m.Max != 12 {
		t.Errorf("vus = %+v, want 2 samples, value 12, range [10, 12]", *m)
	}
	if tr := d.Metrics["http_req_duration"]; tr.Contains != "time" || tr.Hist.Count != 1 {
		t.Errorf("http_req_duration = %+v", *tr)
	}
}
