package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/api"
)

// TestAvgSizePerName checks that every report gives each row the same average size: the row's
// received bytes over its sized requests (several statuses of one name merged), nothing when no
// request of the row was sized, and k6's data_received over every request on the Aggregated row.
func TestAvgSizePerName(t *testing.T) {
	t.Parallel()
	res := runOf(2*time.Second, 10_000,
		req{method: "GET", name: "/page", status: "200", ms: 5, n: 6, sized: 4, bytes: 4 * 1500},
		req{sec: 1, method: "GET", name: "/page", status: "404", ms: 2, failed: true, n: 2, sized: 2, bytes: 2 * 300},
		req{method: "POST", name: "/page", status: "201", ms: 9, n: 3}, // never sized
		req{method: "GET", name: "/tiny", status: "204", ms: 1, n: 2, sized: 2, bytes: 2 * 131},
	)
	tests := []struct {
		method, name string
		want         *float64 // nil: no size
	}{
		{"GET", "/page", ptr((6000.0 + 600) / 6)}, // not over its 8 requests
		{"POST", "/page", nil},
		{"GET", "/tiny", ptr(131.0)},
		{"", "Aggregated", ptr(10_000.0 / 13)},
	}

	totals, rows, _, _ := Tables(res.Aggregate, res.Duration().Seconds())
	var buf bytes.Buffer
	if err := WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Totals   api.Stat   `json:"totals"`
		Requests []api.Stat `json:"requests"`
	}
	if err := json.Unmarshal(buf.Bytes(), &sum); err != nil {
		t.Fatal(err)
	}
	csvRows := parse(t, WriteStatsCSV, res, locustStatsHeader)
	buf.Reset()
	if err := WriteText(&buf, res); err != nil {
		t.Fatal(err)
	}
	text := buf.String()

	for i, tt := range tests {
		t.Run(tt.method+" "+tt.name, func(t *testing.T) {
			t.Parallel()
			table, published := totals, sum.Totals
			if tt.name != "Aggregated" {
				table, published = rows[i], sum.Requests[i]
			}
			if table.Name != published.Name || csvRows[i]["Name"] != tt.name {
				t.Fatalf("row %d is %q (JSON %q, CSV %q), want %q", i, table.Name, published.Name, csvRows[i]["Name"], tt.name)
			}
			for what, got := range map[string]*float64{"Tables": table.AvgSizeBytes, "summary.json": published.AvgSizeBytes} {
				if (got == nil) != (tt.want == nil) || got != nil && !near(*got, *tt.want) {
					t.Errorf("%s: avg_size_bytes = %v, want %v", what, show(got), show(tt.want))
				}
			}

			wantCSV, wantText := "0.0", "-"
			if tt.want != nil {
				wantCSV, wantText = pyFloat(*tt.want), fmt.Sprintf("%.0f", *tt.want)
			}
			if got := csvRows[i]["Average Content Size"]; got != wantCSV {
				t.Errorf("stats.csv: Average Content Size = %s, want %s", got, wantCSV)
			}
			if got := textSize(t, text, tt.method, tt.name); got != wantText {
				t.Errorf("text summary: Avg size = %s, want %s", got, wantText)
			}
		})
	}
}

// textSize returns the Avg size column of the text summary's row for method and name: the last
// but one column (the failures column may hold spaces).
func textSize(t *testing.T, text, method, name string) string {
	t.Helper()
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		if (method == "" && f[0] == name) || (f[0] == method && f[1] == name) {
			return f[len(f)-2]
		}
	}
	t.Fatalf("no row %s %s in the summary:\n%s", method, name, text)
	return ""
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func show(v *float64) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}
