package report

import (
	"cmp"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
)

// The CSV files follow Locust 2.x's StatsCSV and StatsCSVFileWriter (locust/stats.py) column for
// column, because users and tools parse them by header name and position:
//
//   - Rows: one per (name, method), sorted by name then method (Locust sorts its entries by that
//     key), then "Aggregated" with an empty Type. The history has one Aggregated row per second.
//   - Numbers: Locust's csv.writer prints ints as ints and floats as Python's repr. Counts are ints;
//     averages, min, max, rates and sizes are floats ("12.0", "0.1", "1e-05"); the percentile
//     columns are whole milliseconds (Locust int()s its percentiles); the median is whole
//     milliseconds clamped to [min, max], as Locust's median_response_time clamps it. Percentiles
//     are "N/A" while there are no requests. The history's Requests/s and Failures/s use Locust's
//     "{:2f}" (six decimals). Lines end in CRLF, the csv module's default.
//   - Our percentiles are within 1% and rounded only to the millisecond, not to Locust's coarser
//     response-time buckets (10 ms steps from 100 ms, 100 ms from 1 s, 1 s from 10 s).
//
// Where Stampede differs, and why, is in docs/reports.md.

// Locust's headers, exactly. The percentile labels are stats.PointQuantiles() as Locust's
// get_readable_percentiles prints them.
var (
	percentileColumns = []string{"50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"}
	statsColumns      = slices.Concat([]string{"Type", "Name", "Request Count", "Failure Count",
		"Median Response Time", "Average Response Time", "Min Response Time", "Max Response Time",
		"Average Content Size", "Requests/s", "Failures/s"}, percentileColumns)
	historyColumns = slices.Concat([]string{"Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s"},
		percentileColumns, []string{"Total Request Count", "Total Failure Count", "Total Median Response Time",
			"Total Average Response Time", "Total Min Response Time", "Total Max Response Time",
			"Total Average Content Size"})
	failuresColumns = []string{"Method", "Name", "Error", "Occurrences"}
)

// WriteStatsCSV writes Locust's <prefix>_stats.csv: one row per request name and method, then the
// Aggregated row. Requests/s and Failures/s are over the run's duration, like the text summary's.
// Average Content Size is bytes received per request, headers included, as the summary has it:
// on a per-name row over the row's sized requests (0.0 when none was sized; see
// Stat.AvgSizeBytes), on the Aggregated row k6's data_received over every request.
func WriteStatsCSV(w io.Writer, res *master.Result) error {
	agg := aggregateOf(res)
	secs := res.Duration().Seconds()
	cw := newCSVWriter(w)
	_ = cw.Write(statsColumns)
	for _, ne := range agg.ByName() {
		var size *float64
		if avg, ok := ne.AvgSize(); ok {
			size = &avg
		}
		_ = cw.Write(statsRow(ne.Method, ne.Name, &ne.Entry, secs, size))
	}
	totals, _, _, _ := Tables(agg, secs)
	tot := agg.Total()
	_ = cw.Write(statsRow("", "Aggregated", &tot, secs, totals.AvgSizeBytes))
	cw.Flush()
	return cw.Error()
}

func statsRow(method, name string, e *stats.Entry, secs float64, avgSize *float64) []string {
	h := &e.Duration
	size := 0.0
	if avgSize != nil {
		size = *avgSize
	}
	row := []string{method, name, count(e.Requests), count(e.Failures),
		median(h.Quantile(0.5), h.Count, h.Min, h.Max), pyFloat(h.Mean()), extreme(h.Min, h.Count),
		extreme(h.Max, h.Count), sizeField(size, e.Requests), perSecond(e.Requests, secs),
		perSecond(e.Failures, secs)}
	qs := stats.PointQuantiles()
	return append(row, percentiles(h.Quantiles(qs[:]...), e.Requests)...)
}

// WriteHistoryCSV writes Locust's <prefix>_stats_history.csv: one Aggregated row per second of
// res.Points, in time order. Requests/s and Failures/s are that second's counts and the percentile
// columns that second's requests (0 for a second without any), while the Total columns cover the
// run up to the end of the second. Total Average Content Size is 0.0: the series keeps no byte
// counts.
func WriteHistoryCSV(w io.Writer, res *master.Result) error {
	pts := res.Points
	byTime := func(a, b stats.Point) int { return cmp.Compare(a.Time, b.Time) }
	if !slices.IsSortedFunc(pts, byTime) {
		pts = slices.Clone(pts)
		slices.SortStableFunc(pts, byTime)
	}
	cw := newCSVWriter(w)
	_ = cw.Write(historyColumns)
	for i := range pts {
		p, t := &pts[i], &pts[i].Total
		row := []string{strconv.FormatInt(p.Time, 10), strconv.FormatInt(p.Users, 10), "", "Aggregated",
			strconv.FormatFloat(float64(p.Requests), 'f', 6, 64), strconv.FormatFloat(float64(p.Failures), 'f', 6, 64)}
		row = append(row, percentiles(p.Quantiles[:], t.Requests)...)
		row = append(row, count(t.Requests), count(t.Failures), median(t.Median, t.Requests, t.Min, t.Max),
			pyFloat(t.Mean), extreme(t.Min, t.Requests), extreme(t.Max, t.Requests), sizeField(0, t.Requests))
		_ = cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// WriteFailuresCSV writes Locust's <prefix>_failures.csv: one row per (method, name, error), most
// frequent first.
func WriteFailuresCSV(w io.Writer, res *master.Result) error {
	errs := sortedErrors(aggregateOf(res))
	cw := newCSVWriter(w)
	_ = cw.Write(failuresColumns)
	for _, e := range errs {
		_ = cw.Write([]string{e.Method, e.Name, e.Error, count(e.Count)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteCSVFiles writes prefix+"_stats.csv", prefix+"_stats_history.csv" and prefix+"_failures.csv",
// like Locust's --csv PREFIX, each whole (internal/atomicfile), so it may be called again and again during a run.
// Every file is attempted; the error joins the failures.
func WriteCSVFiles(prefix string, res *master.Result) error {
	var errs []error
	for _, f := range CSVFiles("--csv", prefix) {
		errs = append(errs, f.Save(res))
	}
	return errors.Join(errs...)
}

// aggregateOf returns res's aggregate, or an empty one for a run that has none yet.
func aggregateOf(res *master.Result) *stats.Aggregate {
	if res.Aggregate == nil {
		return &stats.Aggregate{}
	}
	return res.Aggregate
}

func newCSVWriter(w io.Writer) *csv.Writer {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // Python's csv module ends lines in \r\n, so Locust's files do
	return cw
}

func count(n uint64) string { return strconv.FormatUint(n, 10) }

// percentiles formats the percentile columns: whole milliseconds, "N/A" while requests is 0.
func percentiles(qs []float64, requests uint64) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		if requests == 0 {
			out[i] = "N/A"
		} else {
			out[i] = strconv.FormatFloat(wholeMs(q), 'f', 0, 64)
		}
	}
	return out
}

// wholeMs rounds v to the millisecond as Python's round does (halves to even), which is how Locust
// files response times under 100 ms.
func wholeMs(v float64) float64 {
	r := math.RoundToEven(v)
	if r == 0 {
		r = 0 // not -0
	}
	return r
}

// median formats the median v (ms) of n requests as Locust does: whole milliseconds, but never
// outside [lo, hi], the exact minimum and maximum, where it is that extreme instead.
func median(v float64, n uint64, lo, hi float64) string {
	if n == 0 {
		return "0"
	}
	m := min(max(wholeMs(v), lo), hi)
	if m == math.Trunc(m) {
		return strconv.FormatFloat(m, 'f', 0, 64)
	}
	return pyFloat(m)
}

// extreme formats the exact minimum or maximum v (ms) of n requests: a float, or 0 without
// requests (Locust's "min_response_time or 0" and its initial int max_response_time).
func extreme(v float64, n uint64) string {
	if n == 0 {
		return "0"
	}
	return pyFloat(v)
}

// sizeField formats an average content size: a float, or Locust's int 0 without requests.
func sizeField(size float64, requests uint64) string {
	if requests == 0 {
		return "0"
	}
	return pyFloat(size)
}

func perSecond(n uint64, secs float64) string {
	if secs <= 0 {
		return "0.0"
	}
	return pyFloat(float64(n) / secs)
}

// pyFloat formats v as Python's repr(float), which Locust's csv.writer prints for float columns:
// the shortest digits that read back as v, ".0" on whole numbers, and an exponent below 1e-4 or
// from 1e16 up.
func pyFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	if a := math.Abs(v); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(v, 'e', -1, 64)
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
