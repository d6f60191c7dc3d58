package report

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
)

// JUnit XML as CI servers read it (Jenkins, GitLab, the GitHub test-report actions): one test
// suite, one test case per threshold, and one more for the run's outcome when the run did not end
// as planned, so a red build says why.
type junitSuite struct {
	XMLName    xml.Name        `xml:"testsuite"`
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Details string `xml:",chardata"`
}

// WriteJUnit writes res's thresholds as JUnit XML: a test case per threshold (classname
// "thresholds", name "<metric>: <expression>"), failed when the threshold failed, and a failed
// test case "run" (classname "run") when the run failed for another reason than its thresholds.
func WriteJUnit(w io.Writer, res *master.Result) error {
	agg := aggregateOf(res)
	s := junitSuite{Name: "stampede", Time: strconv.FormatFloat(res.Duration().Seconds(), 'f', 3, 64), Cases: []junitCase{}}
	if !res.Started.IsZero() {
		s.Timestamp = res.Started.UTC().Format("2006-01-02T15:04:05")
	}
	for _, p := range [][2]string{{"run_id", res.RunID}, {"mode", res.Mode.String()}, {"script", res.Script}} {
		if p[1] != "" {
			s.Properties = append(s.Properties, junitProperty{Name: p[0], Value: p[1]})
		}
	}
	for _, tr := range res.Thresholds {
		c := junitCase{Classname: "thresholds", Name: tr.Metric + ": " + tr.Source}
		if !tr.OK {
			obs := observed(agg, tr)
			details := fmt.Sprintf("metric: %s\nexpression: %s\nobserved: %s\n", tr.Metric, tr.Source, obs)
			if tr.Aborted {
				details += "this threshold aborted the run (abortOnFail)\n"
			}
			c.Failure = &junitFailure{Message: thresholdFailure(agg, tr), Type: "threshold", Details: details}
		}
		s.Cases = append(s.Cases, c)
	}
	if runFailed(res) {
		msg := "run: " + res.Err.Error()
		s.Cases = append(s.Cases, junitCase{Classname: "run", Name: "run",
			Failure: &junitFailure{Message: msg, Type: "run", Details: msg + "\n"}})
	}
	s.Tests = len(s.Cases)
	for _, c := range s.Cases {
		if c.Failure != nil {
			s.Failures++
		}
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// thresholdFailure is a failed threshold in one line: "p(95)<300 failed: observed 412.3 ms".
func thresholdFailure(agg *stats.Aggregate, tr master.ThresholdResult) string {
	if !tr.HasData {
		return tr.Source + " failed: no samples of " + tr.Metric
	}
	return tr.Source + " failed: observed " + observed(agg, tr)
}

// observed formats a threshold's observed value in the metric's unit: milliseconds for durations,
// a percentage (and the ratio k6 compares) for rates, "no samples" when the metric had none.
func observed(agg *stats.Aggregate, tr master.ThresholdResult) string {
	if !tr.HasData {
		return "no samples"
	}
	v := tr.Observed
	typ, contains := metricKind(agg, tr.Metric)
	fn := strings.TrimSpace(tr.Source)
	if i := strings.IndexAny(fn, "<>=!"); i >= 0 {
		fn = strings.TrimSpace(fn[:i])
	}
	switch {
	case typ == stats.Rate && fn == "rate":
		return strconv.FormatFloat(100*v, 'f', 2, 64) + "% (" + strconv.FormatFloat(v, 'g', 4, 64) + ")"
	case typ == stats.Counter && fn == "rate":
		return strconv.FormatFloat(v, 'f', 2, 64) + "/s"
	case typ == stats.Counter && fn == "count":
		return strconv.FormatFloat(v, 'f', -1, 64)
	case contains == "time" && fn != "count" && fn != "rate":
		return msText(v)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// msText prints milliseconds with about four significant digits: "412.3 ms", "12.25 ms".
func msText(v float64) string {
	prec := 3
	switch a := max(v, -v); {
	case a >= 1000:
		prec = 0
	case a >= 100:
		prec = 1
	case a >= 10:
		prec = 2
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + " ms"
}

// metricKind is the type and value type of a threshold's metric: from the run's data when it has
// the metric, else from k6's builtin names (a metric without samples may not be in the data).
func metricKind(agg *stats.Aggregate, selector string) (stats.MetricType, string) {
	name, _, _ := strings.Cut(selector, "{")
	name = strings.TrimSpace(name)
	keys := []string{selector, name}
	if sel, err := stats.ParseSelector(selector); err == nil {
		keys = []string{sel.Key(), selector, sel.Metric}
	}
	for _, k := range keys {
		if m := agg.Metrics[k]; m != nil && m.Type != 0 {
			contains := m.Contains
			if m.Type == stats.Trend && strings.HasPrefix(name, "http_req_") && name != "http_req_failed" {
				contains = "time"
			}
			return m.Type, contains
		}
	}
	switch {
	case name == "http_req_failed" || name == "checks":
		return stats.Rate, "default"
	case name == "http_reqs" || name == "iterations" || name == "data_received" || name == "data_sent":
		return stats.Counter, "default"
	case strings.HasPrefix(name, "http_req_") || name == "iteration_duration" || strings.HasSuffix(name, "_duration"):
		return stats.Trend, "time"
	case name == "vus" || name == "vus_max":
		return stats.Gauge, "default"
	}
	return 0, ""
}

// runFailed: the run ended badly for a reason the threshold verdicts do not already show.
func runFailed(res *master.Result) bool {
	return res.Err != nil && !errors.Is(res.Err, master.ErrThresholdsFailed) && !errors.Is(res.Err, master.ErrThresholdAborted)
}
