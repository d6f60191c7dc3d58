package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

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

// writeReports writes the report files asked for on the command line.
func writeReports(cfg *config, res *master.Result) error {
	var errs []error
	if cfg.summaryJSON != "" {
		if err := writeFile(cfg.summaryJSON, func(w io.Writer) error { return report.WriteJSON(w, res) }); err != nil {
			errs = append(errs, fmt.Errorf("writing the JSON summary %s: %w", cfg.summaryJSON, err))
		}
	}
	for _, r := range []struct {
		path, what string
		write      func(io.Writer) error
	}{
		{cfg.junit, "JUnit report", func(w io.Writer) error { return report.WriteJUnit(w, res) }},
		{cfg.summaryMD, "Markdown summary", func(w io.Writer) error { return report.WriteMarkdown(w, res) }},
		{cfg.html, "HTML report", func(w io.Writer) error { return report.WriteHTML(w, res, htmlAssets()) }},
	} {
		if r.path == "" {
			continue
		}
		if err := writeFile(r.path, r.write); err != nil {
			errs = append(errs, fmt.Errorf("writing the %s %s: %w", r.what, r.path, err))
		}
	}
	if cfg.csvPrefix != "" {
		if err := report.WriteCSVFiles(cfg.csvPrefix, res); err != nil {
			errs = append(errs, fmt.Errorf("writing the CSV files %s_*.csv: %w", cfg.csvPrefix, err))
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stampede-master:", err)
	}
	return err
}

// writeFile writes through a temporary file so a reader never sees half a report.
func writeFile(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// htmlAssets is the chart library the UI uses, inlined into HTML reports so they open offline.
func htmlAssets() report.HTMLAssets {
	js, _ := fs.ReadFile(web.Static(), "vendor/uPlot.esm.js")
	css, _ := fs.ReadFile(web.Static(), "vendor/uPlot.min.css")
	return report.HTMLAssets{ChartJS: js, ChartCSS: css}
}
