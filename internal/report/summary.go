package report

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// Quantiles every report shows, in order.
var quantiles = []float64{0.5, 0.9, 0.95, 0.99, 0.999}

// WriteText writes the end-of-run summary: one row per request name and an aggregated row (Locust's
// table, with exact percentiles), grouped errors, k6-style checks and the script's other metrics.
func WriteText(w io.Writer, res *master.Result) error {
	var b strings.Builder
	for _, section := range []func(*strings.Builder, *master.Result) error{
		textHeader, textSwarm, textRequests, textErrors, textThresholds, textChecks, textMetrics, textWorkers, textEnding,
	} {
		if err := section(&b, res); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// textHeader names the run, its mode, its script and how long it ran.
func textHeader(b *strings.Builder, res *master.Result) error {
	engine := ""
	if res.Engine == master.EngineNative {
		engine = ", native engine" // a k6 script's engine goes without saying
	}
	fmt.Fprintf(b, "\nRun %s (%s mode%s) of %s: %s\n\n", res.RunID, res.Mode, engine, res.Script, runLength(res))
	return nil
}

// textSwarm lists the run's user classes and its load shape's stages; nothing for a run without them.
func textSwarm(b *strings.Builder, res *master.Result) error {
	if len(res.Classes) > 0 {
		b.WriteString("User classes (users asked of each at the end):\n")
		tw := textTable(b, 0)
		fmt.Fprintln(tw, "  Class\tWeight\tUsers\tTags")
		for _, c := range res.Classes {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\n", c.Name, c.Weight, c.Users, strings.Join(c.Tags, ", "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		b.WriteString("\n")
	}
	if sh := res.Shape; sh != nil {
		fmt.Fprintf(b, "Load shape (%s):\n", shapeWhere(sh))
		for i, st := range sh.Stages {
			fmt.Fprintf(b, "  %s %d. %s: %s\n", stageMark(sh, i), i+1, st.Duration, stageLoad(st))
		}
		b.WriteString("\n")
	}
	return nil
}

// shapeWhere says where a load shape got to: "stage 2 of 3", "ended after 3 stages", "taken over
// at stage 2 of 3".
func shapeWhere(sh *master.ShapeInfo) string {
	n := len(sh.Stages)
	where := fmt.Sprintf("stage %d of %d", sh.Stage+1, n)
	switch {
	case sh.Stage < 0:
		where = "before the first stage"
	case sh.Stage >= n:
		where = fmt.Sprintf("ended after %d stages", n)
	}
	if sh.TakenOver {
		return "taken over at " + where
	}
	return where
}

// stageMark marks the stage a shape got to with "▶", the stages it ran with "✓".
func stageMark(sh *master.ShapeInfo, i int) string {
	switch {
	case i < sh.Stage:
		return "✓"
	case i == sh.Stage:
		return "▶"
	}
	return " "
}

// stageLoad is a stage's users and spawn rate: "4 users at 10/s", "1 user at once".
func stageLoad(st scenario.Stage) string {
	users := fmt.Sprintf("%d users", st.Users)
	if st.Users == 1 {
		users = "1 user"
	}
	if st.SpawnRate == 0 {
		return users + " at once"
	}
	return fmt.Sprintf("%s at %g/s", users, st.SpawnRate)
}

// textRequests is Locust's request table: a row per name and method, in stats.Aggregate.ByName's
// order, then the Aggregated row, then what the sizes mean.
func textRequests(b *strings.Builder, res *master.Result) error {
	agg, secs := aggregateOf(res), res.Duration().Seconds()
	tw := textTable(b, tabwriter.AlignRight)
	fmt.Fprintln(tw, "Method\tName\t# reqs\t# fails\tMed\tp90\tp95\tp99\tAvg\tMin\tMax\tAvg size\treq/s\t")
	for _, ne := range agg.ByName() {
		e := ne.Entry
		size := "-"
		if avg, ok := e.AvgSize(); ok {
			size = fmt.Sprintf("%.0f", avg)
		}
		textRequestRow(tw, ne.Method, ne.Name, &e, size, secs)
	}
	tot := agg.Total()
	fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t\t\t\t\t")
	textRequestRow(tw, "", "Aggregated", &tot, avgSize(agg, tot.Requests), secs)
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("(response times in ms; avg size is bytes received per request, headers included: per name from the\n" +
		" iterations whose requests all had that name, method and status; Aggregated from all requests)\n")
	return nil
}

// textRequestRow is one row of the request table; size is already formatted ("-" for none).
func textRequestRow(w io.Writer, method, name string, e *stats.Entry, size string, secs float64) {
	q := latencies(e, 0.5, 0.9, 0.95, 0.99)
	fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", method, name, e.Requests,
		fails(e), q[0], q[1], q[2], q[3], ms(e.Duration.Mean(), e), ms(e.Duration.Min, e), ms(e.Duration.Max, e),
		size, perSec(e.Requests, secs))
}

// textErrors lists every error group, the most frequent first; nothing when there was none.
func textErrors(b *strings.Builder, res *master.Result) error {
	agg := aggregateOf(res)
	if len(agg.Errors) == 0 {
		return nil
	}
	b.WriteString("\nErrors:\n")
	tw := textTable(b, 0)
	fmt.Fprintln(tw, "  # occurrences\tMethod\tName\tError")
	for _, e := range sortedErrors(agg) {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", e.Count, e.Method, e.Name, e.Error)
	}
	return tw.Flush()
}

// textThresholds lists every threshold in the script's order with its verdict and observed value;
// nothing when the script has none.
func textThresholds(b *strings.Builder, res *master.Result) error {
	if len(res.Thresholds) == 0 {
		return nil
	}
	b.WriteString("\nThresholds (judged on every worker's data, merged):\n")
	tw := textTable(b, 0)
	for _, t := range res.Thresholds {
		fmt.Fprintf(tw, "  %s %s\t%s\tobserved %s%s\n", textMark(t.OK), t.Metric, t.Source, observed(aggregateOf(res), t),
			thresholdNote(t))
	}
	return tw.Flush()
}

// thresholdNote is what a threshold's line adds after the observed value: that it aborted the
// run, then its error.
func thresholdNote(t master.ThresholdResult) string {
	note := ""
	if t.Aborted {
		note = "  (aborted the run)"
	}
	if t.Error != "" {
		note += "  " + t.Error
	}
	return note
}

// textChecks lists every check, by group and name, with its passes out of all; nothing when the
// script has none.
func textChecks(b *strings.Builder, res *master.Result) error {
	if len(aggregateOf(res).Checks) == 0 {
		return nil
	}
	b.WriteString("\nChecks:\n")
	for _, c := range sortedChecks(aggregateOf(res)) {
		fmt.Fprintf(b, "  %s %-40s %d / %d (%.2f%%)\n", textMark(c.passed()), checkName(c), c.Passes, c.Passes+c.Fails, c.Rate*100)
	}
	return nil
}

// textMetrics lists every metric of the run by name, as k6's summary shows it (see describe).
func textMetrics(b *strings.Builder, res *master.Result) error {
	secs := res.Duration().Seconds()
	b.WriteString("\nMetrics:\n")
	tw := textTable(b, 0)
	for _, m := range sortedMetrics(aggregateOf(res)) {
		fmt.Fprintf(tw, "  %s\t%s\n", m.Name, describe(m.Metric, secs))
	}
	return tw.Flush()
}

// textWorkers lists every worker with its requests and how it ended; nothing when the run had none.
func textWorkers(b *strings.Builder, res *master.Result) error {
	if len(res.Workers) == 0 {
		return nil
	}
	b.WriteString("\nWorkers:\n")
	for _, wr := range res.Workers {
		fmt.Fprintf(b, "  #%d %-24s %8d requests  %s\n", wr.Index, wr.Host, wr.Requests, workerState(wr))
	}
	return nil
}

// workerState is how a worker ended: "ok", "lost" (with its segment when it had one), or its error.
func workerState(wr master.WorkerResult) string {
	switch {
	case wr.Lost && wr.Segment != "":
		return "lost (segment " + wr.Segment + ")"
	case wr.Lost:
		return "lost"
	case wr.Error != "":
		return wr.Error
	}
	return "ok"
}

// textEnding says that the results are partial when they are, then every note of the run.
func textEnding(b *strings.Builder, res *master.Result) error {
	if errors.Is(res.Err, master.ErrWorkersPartial) {
		fmt.Fprintf(b, "\nPartial results: %v\n", res.Err)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(b, "\nNote: %s\n", n)
	}
	return nil
}

// textTable aligns the text summary's columns: two spaces apart, flags as tabwriter's.
func textTable(w io.Writer, flags uint) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', flags)
}

// textMark is the text summary's ✓ for what held and ✗ for what did not.
func textMark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

// runLength is how long the run took, to the millisecond, as both summaries' headers show it.
func runLength(res *master.Result) time.Duration { return res.Duration().Round(time.Millisecond) }

// latencies are e's response-time quantiles qs, formatted as ms does.
func latencies(e *stats.Entry, qs ...float64) []string {
	out := make([]string, len(qs))
	for i, v := range e.Duration.Quantiles(qs...) {
		out[i] = ms(v, e)
	}
	return out
}

func ms(v float64, e *stats.Entry) string {
	if e.Requests == 0 {
		return "-"
	}
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func fails(e *stats.Entry) string {
	if e.Requests == 0 || e.Failures == 0 {
		return fmt.Sprintf("%d", e.Failures)
	}
	return fmt.Sprintf("%d (%s)", e.Failures, failShare(e))
}

// failShare is the share of e's requests that failed, as both summaries print it: "5.9%".
func failShare(e *stats.Entry) string {
	return fmt.Sprintf("%.1f%%", 100*float64(e.Failures)/float64(e.Requests))
}

func perSec(n uint64, secs float64) string {
	if secs <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(n)/secs)
}

// avgSize is k6's data_received over all requests, the iterations whose bytes no row could take
// (see Stat.AvgSizeBytes) included.
func avgSize(agg *stats.Aggregate, requests uint64) string {
	m := agg.Metrics["data_received"]
	if m == nil || requests == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", m.Sum/float64(requests))
}

type errorRow struct {
	stats.ErrorKey
	Count uint64
}

func sortedErrors(agg *stats.Aggregate) []errorRow {
	out := make([]errorRow, 0, len(agg.Errors))
	for k, n := range agg.Errors {
		out = append(out, errorRow{k, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		a, b := out[i], out[j]
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Method, b.Method), cmp.Compare(a.Error, b.Error)) < 0
	})
	return out
}

type checkRow struct {
	Group, Name   string
	Passes, Fails uint64
	Rate          float64
}

// passed: a check holds when none of its runs failed.
func (c checkRow) passed() bool { return c.Fails == 0 }

func sortedChecks(agg *stats.Aggregate) []checkRow {
	out := make([]checkRow, 0, len(agg.Checks))
	for k, c := range agg.Checks {
		r := checkRow{Group: k.Group, Name: k.Name, Passes: c.Passes, Fails: c.Fails}
		if n := c.Passes + c.Fails; n > 0 {
			r.Rate = float64(c.Passes) / float64(n)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Name < out[j].Name
	})
	return out
}

type metricRow struct {
	Name string
	*stats.Metric
}

func sortedMetrics(agg *stats.Aggregate) []metricRow {
	out := make([]metricRow, 0, len(agg.Metrics))
	for name, m := range agg.Metrics {
		out = append(out, metricRow{name, m})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// describe renders one metric the way k6's summary does.
func describe(m *stats.Metric, secs float64) string {
	unit := func(v float64) string {
		switch m.Contains {
		case "time":
			return fmt.Sprintf("%.2fms", v)
		case "data":
			return fmt.Sprintf("%.0f B", v)
		}
		return fmt.Sprintf("%g", round(v))
	}
	switch m.Type {
	case stats.Counter:
		rate := ""
		if secs > 0 {
			rate = fmt.Sprintf("  %s/s", unit(m.Sum/secs))
		}
		return unit(m.Sum) + rate
	case stats.Rate:
		return fmt.Sprintf("%.2f%%  %d out of %d", 100*m.Rate(), m.Trues, m.Count)
	case stats.Gauge:
		return fmt.Sprintf("%s  min=%s max=%s", unit(m.Value), unit(m.Min), unit(m.Max))
	default:
		q := m.Hist.Quantiles(0.5, 0.9, 0.95)
		return fmt.Sprintf("avg=%s min=%s med=%s max=%s p(90)=%s p(95)=%s",
			unit(m.Hist.Mean()), unit(m.Hist.Min), unit(q[0]), unit(m.Hist.Max), unit(q[1]), unit(q[2]))
	}
}

func round(v float64) float64 {
	return float64(int64(v*100+0.5)) / 100
}
