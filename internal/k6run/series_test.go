package k6run

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.k6.io/k6/metrics"
)

// warnings records what the output logs.
type warnings struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnings) Warnf(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, fmt.Sprintf(format, args...))
}

// TestSeriesWarning: the output warns as k6 does when a test's distinct time series pass the limit
// (100,000; 10 here), and again each time they double; repeated series count once, and every sample
// is still filed.
func TestSeriesWarning(t *testing.T) {
	t.Parallel()
	f := newFixture()
	c := f.reg.MustNewMetric("orders", metrics.Counter)
	var log warnings
	o := &streamOutput{cur: newDelta(f.t0), log: &log, series: seriesCounter{next: 10}}
	add := func(from, to int) {
		var batch metrics.Samples
		for i := from; i < to; i++ {
			batch = append(batch, f.sample(c, 1, "id", strconv.Itoa(i)))
		}
		o.AddMetricSamples([]metrics.SampleContainer{batch})
	}
	steps := []struct {
		from, to int
		want     []int // the counts warned about so far
	}{
		{0, 10, nil},
		{0, 10, nil},            // the same series again
		{10, 11, []int{11}},     // past the limit
		{11, 20, []int{11}},     // at twice the limit: not yet
		{20, 23, []int{11, 23}}, // one warning per batch, with the count at its end
		{23, 40, []int{11, 23}},
		{40, 41, []int{11, 23, 41}},
	}
	for _, s := range steps {
		add(s.from, s.to)
		var got []int
		for _, l := range log.lines {
			var n int
			if _, err := fmt.Sscanf(l, "The test has generated metrics with %d unique time series", &n); err != nil {
				t.Fatalf("warning %q: %v", l, err)
			}
			if !strings.Contains(l, "higher than the suggested limit of 100000") || !strings.Contains(l, "use the name metric tag or URL grouping") {
				t.Fatalf("warning %q: not k6's words", l)
			}
			got = append(got, n)
		}
		if fmt.Sprint(got) != fmt.Sprint(s.want) {
			t.Fatalf("after series [%d, %d): warned about %v, want %v", s.from, s.to, got, s.want)
		}
	}
	if n := o.cur.Metrics["orders"].Count; n != 51 {
		t.Fatalf("%d samples filed, want every one (51)", n)
	}
}
