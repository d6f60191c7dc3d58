package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
)

// Limits of the Markdown report: a CI job summary is read at a glance, and GitHub caps its size.
const (
	markdownMaxRows   = 50
	markdownMaxErrors = 10
)

// WriteMarkdown writes res as GitHub-flavoured Markdown for a CI job summary ($GITHUB_STEP_SUMMARY):
// the verdict and why, the thresholds, the request table (the 50 names with the most requests and
// the Aggregated row), the 10 most frequent errors and the checks. Names from the script are
// escaped, so none can break a table or inject markup.
func WriteMarkdown(w io.Writer, res *master.Result) error {
	agg := aggregateOf(res)
	secs := res.Duration().Seconds()
	var b strings.Builder

	ok, why := verdict(res)
	if ok {
		fmt.Fprintf(&b, "## ✅ Stampede run %s passed\n\n", mdEscape(res.RunID))
	} else {
		fmt.Fprintf(&b, "## ❌ Stampede run %s failed: %s\n\n", mdEscape(res.RunID), mdEscape(why))
	}
	tot := agg.Total()
	fmt.Fprintf(&b, "%s · %s mode · %s · %d requests, %d failures", mdEscape(res.Script), res.Mode,
		res.Duration().Round(time.Millisecond), tot.Requests, tot.Failures)
	if tot.Failures > 0 {
		fmt.Fprintf(&b, " (%.1f%%)", 100*float64(tot.Failures)/float64(tot.Requests))
	}
	if res.Users > 0 {
		fmt.Fprintf(&b, " · %d users", res.Users)
	}
	b.WriteString("\n")

	if len(res.Thresholds) > 0 {
		b.WriteString("\n### Thresholds\n\n| Metric | Expression | Observed | Result |\n|---|---|---:|---|\n")
		for _, tr := range res.Thresholds {
			result := "✅ passed"
			switch {
			case tr.Aborted:
				result = "❌ failed, aborted the run"
			case !tr.OK:
				result = "❌ failed"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdEscape(tr.Metric), mdEscape(tr.Source),
				mdEscape(observed(agg, tr)), result)
		}
	}

	b.WriteString("\n### Requests\n\n| Name | Method | Requests | Failures | p50 | p95 | p99 | Max | req/s |\n" +
		"|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	row := func(name, method string, e *stats.Entry) {
		q := e.Duration.Quantiles(0.5, 0.95, 0.99)
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", name, method, e.Requests, fails(e),
			ms(q[0], e), ms(q[1], e), ms(q[2], e), ms(e.Duration.Max, e), perSec(e.Requests, secs))
	}
	rows := agg.ByName()
	more := 0
	if len(rows) > markdownMaxRows {
		// Keep the busiest names, shown in the usual name order.
		busiest := slices.Clone(rows)
		slices.SortStableFunc(busiest, func(x, y stats.NamedEntry) int { return cmp.Compare(y.Requests, x.Requests) })
		keep := map[[2]string]bool{}
		for _, ne := range busiest[:markdownMaxRows] {
			keep[[2]string{ne.Name, ne.Method}] = true
		}
		rows = slices.DeleteFunc(rows, func(ne stats.NamedEntry) bool { return !keep[[2]string{ne.Name, ne.Method}] })
		more = len(busiest) - markdownMaxRows
	}
	for _, ne := range rows {
		e := ne.Entry
		row(mdEscape(ne.Name), mdEscape(ne.Method), &e)
	}
	row("**Aggregated**", "", &tot)
	if more > 0 {
		fmt.Fprintf(&b, "\n…%d more names (the %d with the most requests are shown; the Aggregated row counts all).\n",
			more, markdownMaxRows)
	}
	b.WriteString("\nResponse times in ms.\n")

	if errs := sortedErrors(agg); len(errs) > 0 {
		b.WriteString("\n### Top errors\n\n| Count | Method | Name | Error |\n|---:|---|---|---|\n")
		for _, e := range errs[:min(len(errs), markdownMaxErrors)] {
			fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", e.Count, mdEscape(e.Method), mdEscape(e.Name), mdEscape(e.Error))
		}
		if n := len(errs) - markdownMaxErrors; n > 0 {
			fmt.Fprintf(&b, "\n…%d more errors.\n", n)
		}
	}

	if checks := sortedChecks(agg); len(checks) > 0 {
		b.WriteString("\n### Checks\n\n| Check | Passes | Fails | Rate |\n|---|---:|---:|---:|\n")
		for _, c := range checks {
			mark := "✅"
			if c.Fails > 0 {
				mark = "❌"
			}
			fmt.Fprintf(&b, "| %s %s | %d | %d | %.2f%% |\n", mark, mdEscape(checkName(c)), c.Passes, c.Fails, 100*c.Rate)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// verdict says whether the run passed: it ended as planned and every threshold held. why is a
// one-line reason when it did not.
func verdict(res *master.Result) (ok bool, why string) {
	failed := 0
	for _, tr := range res.Thresholds {
		if !tr.OK {
			failed++
		}
	}
	var reasons []string
	if failed > 0 {
		reasons = append(reasons, fmt.Sprintf("%d of %d thresholds failed", failed, len(res.Thresholds)))
	}
	if runFailed(res) {
		reasons = append(reasons, "run: "+res.Err.Error())
	}
	return len(reasons) == 0, strings.Join(reasons, "; ")
}

// checkName names a check as k6's end-of-test summary does (stats.CheckKey.Display).
func checkName(c checkRow) string { return stats.CheckKey{Group: c.Group, Name: c.Name}.Display() }

// mdEscaper backslash-escapes what GitHub's Markdown would read as markup in a table cell, and
// folds line breaks, which would end the row.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`,
	"&", `\&`, "#", `\#`, "~", `\~`, "!", `\!`, "\r\n", " ", "\n", " ", "\r", " ")

func mdEscape(s string) string { return mdEscaper.Replace(s) }
