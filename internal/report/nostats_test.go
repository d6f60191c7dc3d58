package report

import (
	"errors"
	"io"
	"testing"

	"github.com/stampede-load/stampede/internal/master"
)

// TestWritersWithoutStats: a run that ended before any stats (a script that failed validation, a
// stop while preparing) has no aggregate; every report is still written, as an empty run's.
func TestWritersWithoutStats(t *testing.T) {
	t.Parallel()
	res := &master.Result{RunID: "r", Script: "s.js", Err: errors.New("script error: x")}
	for name, write := range map[string]func(io.Writer, *master.Result) error{
		"text": WriteText, "markdown": WriteMarkdown, "json": WriteJSON, "junit": WriteJUnit,
		"stats csv": WriteStatsCSV, "history csv": WriteHistoryCSV, "failures csv": WriteFailuresCSV,
		"html": func(w io.Writer, r *master.Result) error { return WriteHTML(w, r, stubAssets) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := write(io.Discard, res); err != nil {
				t.Fatal(err)
			}
		})
	}
}
