package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

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
	var b strings.Builder
	for _, section := range []func(*strings.Builder, *master.Result){
		mdVerdict, mdThresholds, mdSwarm, mdRequests, mdErrors, mdChecks,
	} {
		section(&b, res)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdVerdict is the heading (passed, or failed and why) and a line of the run's figures.
func mdVerdict(b *strings.Builder, res *master.Result) {
	if ok, why := verdict(res); ok {
		fmt.Fprintf(b, "## ✅ Stampede run %s passed\n\n", mdEscape(res.RunID))
	} else {
		fmt.Fprintf(b, "## ❌ Stampede run %s failed: %s\n\n", mdEscape(res.RunID), mdEscape(why))
	}
	tot := aggregateOf(res).Total()
	fmt.Fprintf(b, "%s · %s mode · %s · %d requests, %d failures", mdEscape(res.Script), res.Mode,
		runLength(res), tot.Requests, tot.Failures)
	if tot.Failures > 0 {
		fmt.Fprintf(b, " (%s)", failShare(&tot))
	}
	if res.Users > 0 {
		fmt.Fprintf(b, " · %d users", res.Users)
	}
	b.WriteString("\n")
}

// mdSwarm is a table of the run's user classes and a list of its load shape's stages; nothing for a
// run without them.
func mdSwarm(b *strings.Builder, res *master.Result) {
	if len(res.Classes) > 0 {
		b.WriteString("\n### User classes\n\n| Class | Weight | Users at the end | Tags |\n|---|---:|---:|---|\n")
		for _, c := range res.Classes {
			tags := make([]string, len(c.Tags))
			for i, t := range c.Tags {
				tags[i] = mdEscape(t)
			}
			fmt.Fprintf(b, "| %s | %d | %d | %s |\n", mdEscape(c.Name), c.Weight, c.Users, strings.Join(tags, ", "))
		}
	}
	if sh := res.Shape; sh != nil {
		fmt.Fprintf(b, "\n### Load shape: %s\n\n", shapeWhere(sh))
		for i, st := range sh.Stages {
			line := fmt.Sprintf("%s: %s", st.Duration, stageLoad(st))
			if i == sh.Stage {
				line = "**" + line + "**"
			}
			fmt.Fprintf(b, "%d. %s\n", i+1, line)
		}
	}
}

// mdThresholds is a table of every threshold in the script's order; nothing when it has none.
func mdThresholds(b *strings.Builder, res *master.Result) {
	if len(res.Thresholds) == 0 {
		return
	}
	agg := aggregateOf(res)
	b.WriteString("\n### Thresholds\n\n| Metric | Expression | Observed | Result |\n|---|---|---:|---|\n")
	for _, tr := range res.Thresholds {
		result := "✅ passed"
		switch {
		case tr.Aborted:
			result = "❌ failed, aborted the run"
		case !tr.OK:
			result = "❌ failed"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", mdEscape(tr.Metric), mdEscape(tr.Source),
			mdEscape(observed(agg, tr)), result)
	}
}

// mdRequests is the request table: the markdownMaxRows names with the most requests (see
// busiestNames), the Aggregated row of all, and how many names were left out.
func mdRequests(b *strings.Builder, res *master.Result) {
	agg, secs := aggregateOf(res), res.Duration().Seconds()
	b.WriteString("\n### Requests\n\n| Name | Method | Requests | Failures | p50 | p95 | p99 | Max | req/s |\n" +
		"|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	rows, more := busiestNames(agg.ByName(), markdownMaxRows)
	for _, ne := range rows {
		e := ne.Entry
		mdRequestRow(b, mdEscape(ne.Name), mdEscape(ne.Method), &e, secs)
	}
	tot := agg.Total()
	mdRequestRow(b, "**Aggregated**", "", &tot, secs)
	if more > 0 {
		fmt.Fprintf(b, "\n…%d more names (the %d with the most requests are shown; the Aggregated row counts all).\n",
			more, markdownMaxRows)
	}
	b.WriteString("\nResponse times in ms.\n")
}

// mdRequestRow is one row of the request table; name and method are already escaped.
func mdRequestRow(b *strings.Builder, name, method string, e *stats.Entry, secs float64) {
	q := latencies(e, 0.5, 0.95, 0.99)
	fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", name, method, e.Requests, fails(e),
		q[0], q[1], q[2], ms(e.Duration.Max, e), perSec(e.Requests, secs))
}

// busiestNames keeps the n rows with the most requests (the first in rows on a tie), in rows'
// order, and says how many it left out.
func busiestNames(rows []stats.NamedEntry, n int) (kept []stats.NamedEntry, more int) {
	if len(rows) <= n {
		return rows, 0
	}
	busiest := slices.Clone(rows)
	slices.SortStableFunc(busiest, func(x, y stats.NamedEntry) int { return cmp.Compare(y.Requests, x.Requests) })
	keep := map[[2]string]bool{}
	for _, ne := range busiest[:n] {
		keep[[2]string{ne.Name, ne.Method}] = true
	}
	return slices.DeleteFunc(rows, func(ne stats.NamedEntry) bool { return !keep[[2]string{ne.Name, ne.Method}] }), len(rows) - n
}

// mdErrors is a table of the markdownMaxErrors most frequent errors and how many more there are;
// nothing when there was none.
func mdErrors(b *strings.Builder, res *master.Result) {
	errs := sortedErrors(aggregateOf(res))
	if len(errs) == 0 {
		return
	}
	b.WriteString("\n### Top errors\n\n| Count | Method | Name | Error |\n|---:|---|---|---|\n")
	for _, e := range errs[:min(len(errs), markdownMaxErrors)] {
		fmt.Fprintf(b, "| %d | %s | %s | %s |\n", e.Count, mdEscape(e.Method), mdEscape(e.Name), mdEscape(e.Error))
	}
	if n := len(errs) - markdownMaxErrors; n > 0 {
		fmt.Fprintf(b, "\n…%d more errors.\n", n)
	}
}

// mdChecks is a table of every check, by group and name; nothing when the script has none.
func mdChecks(b *strings.Builder, res *master.Result) {
	checks := sortedChecks(aggregateOf(res))
	if len(checks) == 0 {
		return
	}
	b.WriteString("\n### Checks\n\n| Check | Passes | Fails | Rate |\n|---|---:|---:|---:|\n")
	for _, c := range checks {
		mark := "✅"
		if !c.passed() {
			mark = "❌"
		}
		fmt.Fprintf(b, "| %s %s | %d | %d | %.2f%% |\n", mark, mdEscape(checkName(c)), c.Passes, c.Fails, 100*c.Rate)
	}
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
