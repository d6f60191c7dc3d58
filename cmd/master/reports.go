package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/report"
	"github.com/stampede-load/stampede/web"
)

// judgeBaseline adds the --max-regression verdicts to res; a budget overrun fails a run that had
// not failed otherwise, like a threshold.
func judgeBaseline(cfg *config, res *master.Result, runErr error) error {
	if cfg.base == nil || res == nil || res.Started.IsZero() {
		return runErr
	}
	verdicts := report.CompareBaseline(cfg.base, res, cfg.budgets)
	res.Thresholds = append(res.Thresholds, verdicts...)
	var why []string
	for _, v := range verdicts {
		if !v.OK {
			why = append(why, v.Error)
		}
	}
	if len(why) > 0 && runErr == nil {
		runErr = fmt.Errorf("%w: regression against %s: %s", master.ErrThresholdsFailed, cfg.baseline, strings.Join(why, "; "))
		res.Err = runErr
	}
	return runErr
}

// errReports is a run whose reports, or some of them, could not be written at its end.
var errReports = errors.New("a report could not be written")

// reportFiles are the report files asked for on the command line, for every run: the headless
// run's and each run started from the UI.
func (c *config) reportFiles() []report.File {
	var files []report.File
	add := func(option, what, path string, write func(io.Writer, *master.Result) error) {
		if path != "" {
			files = append(files, report.File{Option: option, What: what, Path: path, Write: write})
		}
	}
	add("--summary-json", "JSON summary", c.summaryJSON, report.WriteJSON)
	add("--junit", "JUnit report", c.junit, report.WriteJUnit)
	add("--summary-md", "Markdown summary", c.summaryMD, report.WriteMarkdown)
	add("--html", "HTML report", c.html, func(w io.Writer, res *master.Result) error {
		return report.WriteHTML(w, res, htmlAssets())
	})
	if c.csvPrefix != "" {
		files = append(files, report.CSVFiles("--csv", c.csvPrefix)...)
	}
	return files
}

// checkReports makes sure every report file can be written, before anything starts, so that a
// run's results are never computed only to be lost to a path. Two options naming one file would
// overwrite each other.
func checkReports(files []report.File) error {
	seen := map[string]string{}
	var errs []error
	for _, f := range files {
		abs, err := filepath.Abs(f.Path)
		if err == nil {
			if other, dup := seen[abs]; dup {
				errs = append(errs, fmt.Errorf("%s %s: %s writes that file too", f.Option, f.Path, other))
				continue
			}
			seen[abs] = f.Option
		}
		errs = append(errs, f.Check())
	}
	return errors.Join(errs...)
}

// writeReports writes every report file; one that fails does not keep the others from being
// written. The error names each file that failed.
func writeReports(files []report.File, res *master.Result) error {
	var errs []error
	for _, f := range files {
		errs = append(errs, f.Save(res))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", errReports, err)
	}
	return nil
}

// htmlAssets is the chart library the UI uses, inlined into HTML reports so they open offline.
func htmlAssets() report.HTMLAssets {
	js, _ := fs.ReadFile(web.Static(), "vendor/uPlot.esm.js")
	css, _ := fs.ReadFile(web.Static(), "vendor/uPlot.min.css")
	return report.HTMLAssets{ChartJS: js, ChartCSS: css}
}

// reporter ends every run, the headless run and each run started from the UI: it prints the
// summary (the script's handleSummary(), else Stampede's text) and writes the report files.
type reporter struct {
	files        []report.File
	exe, workDir string
	env          map[string]string // the script's __ENV, for handleSummary()
	p            cli.Process
	log          *slog.Logger
}

// report ends res's run (nil: the run never began). The error is the report files' (errReports).
func (r reporter) report(res *master.Result) error {
	if res == nil {
		return nil
	}
	if !res.Started.IsZero() {
		handled, err := handleSummary(context.Background(), r.exe, r.workDir, res, r.env, r.p)
		if err != nil {
			fmt.Fprintf(r.p.Stderr, "stampede-master: %v; the summary below is Stampede's own\n", err)
		}
		if !handled {
			if err := report.WriteText(r.p.Stdout, res); err != nil {
				r.log.Error("writing the summary", "err", err)
			}
		}
	}
	return writeReports(r.files, res)
}

// onRunEnd reports a run started from the UI.
func (r reporter) onRunEnd(res *master.Result, _ error) {
	if err := r.report(res); err != nil {
		fmt.Fprintln(r.p.Stderr, "stampede-master:", err)
	}
}
