package report

import (
	"bytes"
	"encoding/csv"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Locust's headers, copied from the files Locust 2.x writes.
const (
	locustStatsHeader    = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
	locustHistoryHeader  = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size"
	locustFailuresHeader = "Method,Name,Error,Occurrences"
)

// req is one request of a test run.
type req struct {
	sec          int64 // offset from the run's start, in seconds
	method, name string
	status       string
	ms           float64
	failed       bool
	err          string
	n            int // how many of them; 1 if 0
	// sized of them received bytes between them (stats.Delta.AddReceived).
	sized, bytes uint64
}

// runOf builds a finished run from requests: one delta per second, the series closed through
// the end, users = 10 per second of the run so far.
func runOf(dur time.Duration, bytesReceived float64, reqs ...req) *master.Result {
	start := time.Unix(1_700_000_000, 0).UTC()
	res := &master.Result{RunID: "r1", Script: "s.js", Started: start, Ended: start.Add(dur), Aggregate: &stats.Aggregate{}}
	deltas := map[int64]*stats.Delta{}
	var secs []int64
	for _, r := range reqs {
		d := deltas[r.sec]
		if d == nil {
			d = &stats.Delta{Start: start.Add(time.Duration(r.sec) * time.Second), End: start.Add(time.Duration(r.sec)*time.Second + 900*time.Millisecond)}
			deltas[r.sec] = d
			secs = append(secs, r.sec)
		}
		k := stats.Key{Name: r.name, Method: r.method, Status: r.status}
		for range max(r.n, 1) {
			d.AddRequest(k, r.ms, r.failed, r.err)
		}
		d.AddReceived(k, r.sized, r.bytes)
	}
	for i, sec := range secs {
		d := deltas[sec]
		if i == 0 && bytesReceived > 0 {
			d.AddSample("data_received", stats.Counter, "data", bytesReceived, d.End.UnixNano())
		}
		res.Aggregate.Add(d)
	}
	for _, p := range res.Aggregate.Series.Close(res.Ended.Unix() + 1) {
		p.Users = 10 * (p.Time - start.Unix() + 1)
	}
	res.Points = res.Aggregate.Series.Points()
	return res
}

// sampleRun has several names and methods, statuses, failures of several kinds, a name that
// needs quoting, sub-millisecond and slow requests, an idle second in its series, and rows with
// and without sized requests.
func sampleRun() *master.Result {
	return runOf(4*time.Second, 123_456,
		req{sec: 0, method: "GET", name: "/a", status: "200", ms: 12.25, n: 40, sized: 30, bytes: 30 * 612},
		req{sec: 0, method: "GET", name: "/a", status: "200", ms: 250.5, n: 9},
		req{sec: 0, method: "GET", name: "/a", status: "500", ms: 1503.75, failed: true},
		req{sec: 0, method: "POST", name: "/a", status: "201", ms: 0.53, n: 3},
		req{sec: 1, method: "POST", name: "/login", status: "200", ms: 88.8, n: 5, sized: 5, bytes: 5*1291 + 2},
		req{sec: 1, method: "POST", name: "/login", status: "401", ms: 7, failed: true, n: 2},
		req{sec: 1, method: "GET", name: `/search?q="x",y`, status: "0", ms: 3000, failed: true, err: "dial tcp: connection refused", n: 2},
		req{sec: 3, method: "GET", name: "/a", status: "200", ms: 13.5, n: 10},
		req{sec: 3, method: "GET", name: "/a", status: "500", ms: 20, failed: true, n: 2},
		req{sec: 3, method: "POST", name: "/a", status: "500", ms: 30, failed: true, n: 3}, // ties with GET /a
	)
}

var csvWriters = []struct {
	file   string
	header string
	write  func(io.Writer, *master.Result) error
}{
	{"stats.csv", locustStatsHeader, WriteStatsCSV},
	{"stats_history.csv", locustHistoryHeader, WriteHistoryCSV},
	{"failures.csv", locustFailuresHeader, WriteFailuresCSV},
}

func TestCSVGolden(t *testing.T) {
	t.Parallel()
	runs := []struct {
		name string
		res  *master.Result
	}{
		{"sample", sampleRun()},
		{"empty", runOf(0, 0)},
		{"no_aggregate", &master.Result{RunID: "r0"}},
	}
	for _, run := range runs {
		for _, w := range csvWriters {
			t.Run(run.name+"_"+w.file, func(t *testing.T) {
				t.Parallel()
				checkGolden(t, run.name+"_"+w.file, 20, func(b *bytes.Buffer) error { return w.write(b, run.res) })
			})
		}
	}
}

// parse reads a writer's output back with encoding/csv and checks its header is Locust's.
func parse(t *testing.T, write func(io.Writer, *master.Result) error, res *master.Result, header string) []map[string]string {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf, res); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte(header+"\r\n")) {
		t.Fatalf("output does not start with Locust's header line %q:\n%s", header, buf.Bytes())
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != header {
		t.Fatalf("header = %q, want %q", got, header)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, col := range recs[0] {
			row[col] = rec[i]
		}
		rows = append(rows, row)
	}
	return rows
}

func atoi(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("not a count: %q", s)
	}
	return n
}

// TestCSVConsistent parses the files back and checks them against each other and the run.
func TestCSVConsistent(t *testing.T) {
	t.Parallel()
	runs := []struct {
		name string
		res  *master.Result
	}{
		{"sample", sampleRun()},
		{"many names", func() *master.Result {
			var rs []req
			for i := range 50 {
				rs = append(rs, req{sec: int64(i % 7), method: []string{"GET", "PUT"}[i%2], name: "/n" + strconv.Itoa(i%13),
					status: "200", ms: float64(i*i%97) + 0.25, failed: i%5 == 0, n: i%4 + 1})
			}
			return runOf(7*time.Second, 0, rs...)
		}()},
	}
	for _, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			t.Parallel()
			rows := parse(t, WriteStatsCSV, run.res, locustStatsHeader)
			agg := rows[len(rows)-1]
			if agg["Type"] != "" || agg["Name"] != "Aggregated" {
				t.Fatalf("last row is %v, want the Aggregated row", agg)
			}
			var reqs, fails uint64
			for _, r := range rows[:len(rows)-1] {
				reqs += atoi(t, r["Request Count"])
				fails += atoi(t, r["Failure Count"])
				for _, col := range []string{"Median Response Time", "Average Response Time", "Min Response Time",
					"Max Response Time", "Average Content Size", "Requests/s", "Failures/s", "50%", "100%"} {
					if _, err := strconv.ParseFloat(r[col], 64); err != nil {
						t.Errorf("%s %s: %s = %q is not a number", r["Type"], r["Name"], col, r[col])
					}
				}
			}
			if got := atoi(t, agg["Request Count"]); got != reqs {
				t.Errorf("Aggregated Request Count = %d, want the rows' sum %d", got, reqs)
			}
			if got := atoi(t, agg["Failure Count"]); got != fails {
				t.Errorf("Aggregated Failure Count = %d, want the rows' sum %d", got, fails)
			}

			hist := parse(t, WriteHistoryCSV, run.res, locustHistoryHeader)
			var perSec uint64
			for _, h := range hist {
				n, err := strconv.ParseFloat(h["Requests/s"], 64)
				if err != nil {
					t.Fatal(err)
				}
				perSec += uint64(n)
				if got := atoi(t, h["Total Request Count"]); got != perSec {
					t.Errorf("second %s: Total Request Count = %d, want the running sum %d", h["Timestamp"], got, perSec)
				}
			}
			if last := hist[len(hist)-1]; atoi(t, last["Total Request Count"]) != reqs || atoi(t, last["Total Failure Count"]) != fails {
				t.Errorf("history ends at %s requests, %s failures; stats.csv has %d, %d",
					last["Total Request Count"], last["Total Failure Count"], reqs, fails)
			}

			var occurrences uint64
			for _, f := range parse(t, WriteFailuresCSV, run.res, locustFailuresHeader) {
				occurrences += atoi(t, f["Occurrences"])
			}
			if occurrences != fails {
				t.Errorf("failures.csv counts %d occurrences, want %d failures", occurrences, fails)
			}
		})
	}
}

// TestPercentileColumns checks that the percentile headers name stats.PointQuantiles.
func TestPercentileColumns(t *testing.T) {
	t.Parallel()
	qs := stats.PointQuantiles()
	if len(percentileColumns) != len(qs) {
		t.Fatalf("%d percentile columns for %d quantiles", len(percentileColumns), len(qs))
	}
	for i, col := range percentileColumns {
		p, err := strconv.ParseFloat(strings.TrimSuffix(col, "%"), 64)
		if err != nil || math.Abs(p/100-qs[i]) > 1e-12 {
			t.Errorf("column %q is not quantile %g", col, qs[i])
		}
	}
}

func TestNumberFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  string
		want string // what Locust (Python's repr and round) writes
	}{
		{"float zero", pyFloat(0), "0.0"},
		{"whole float", pyFloat(12), "12.0"},
		{"shortest digits", pyFloat(0.1), "0.1"},
		{"third", pyFloat(1.0 / 3), "0.3333333333333333"},
		{"large fixed", pyFloat(123456789), "123456789.0"},
		{"fixed down to 1e-4", pyFloat(0.0001), "0.0001"},
		{"exponent below 1e-4", pyFloat(0.00001), "1e-05"},
		{"exponent digits", pyFloat(2.5e-7), "2.5e-07"},
		{"exponent from 1e16", pyFloat(1e16), "1e+16"},
		{"just below 1e16", pyFloat(9999999999999998), "9999999999999998.0"},
		{"negative", pyFloat(-1.5), "-1.5"},
		{"nan", pyFloat(math.NaN()), "nan"},
		{"inf", pyFloat(math.Inf(1)), "inf"},
		{"percentile rounds to nearest", percentiles([]float64{12.6}, 1)[0], "13"},
		{"percentile halves to even", percentiles([]float64{12.5, 13.5}, 1)[1], "14"},
		{"percentile of 12.5", percentiles([]float64{12.5}, 1)[0], "12"},
		{"sub-millisecond percentile", percentiles([]float64{0.4}, 1)[0], "0"},
		{"percentile without requests", percentiles([]float64{0}, 0)[0], "N/A"},
		{"median whole", median(1234.4, 5, 1, 2000), "1234"},
		{"median clamped to min", median(0.53, 3, 0.53, 0.53), "0.53"},
		{"median clamped to max", median(12.6, 3, 1, 12.55), "12.55"},
		{"median without requests", median(0, 0, 0, 0), "0"},
		{"min without requests", extreme(0, 0), "0"},
		{"rate without duration", perSecond(5, 0), "0.0"},
		{"rate", perSecond(5, 4), "1.25"},
		{"size without requests", sizeField(0, 0), "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestWriteCSVFiles(t *testing.T) {
	t.Parallel()
	res := sampleRun()
	tests := []struct {
		name    string
		prefix  func(t *testing.T, dir string) string
		wantErr bool
	}{
		{"writes the three files", func(_ *testing.T, dir string) string { return filepath.Join(dir, "run") }, false},
		{"replaces old files", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "old")
			for _, w := range csvWriters {
				if err := os.WriteFile(p+"_"+w.file, []byte("stale"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			return p
		}, false},
		{"missing directory", func(_ *testing.T, dir string) string { return filepath.Join(dir, "nope", "run") }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			prefix := tt.prefix(t, dir)
			err := WriteCSVFiles(prefix, res)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), prefix+"_stats.csv") {
					t.Fatalf("err = %v, want an error naming %s_stats.csv", err, prefix)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range csvWriters {
				got, err := os.ReadFile(prefix + "_" + w.file)
				if err != nil {
					t.Fatal(err)
				}
				var want bytes.Buffer
				if err := w.write(&want, res); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want.Bytes()) {
					t.Errorf("%s_%s is not what %s writes:\n%s", prefix, w.file, w.file, got)
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != len(csvWriters) {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("directory holds %v, want just the %d CSV files", names, len(csvWriters))
			}
		})
	}
}

// checkGolden writes with write, checks that writing again gives the same bytes (rows come from
// maps), and compares them with testdata/<name>, which -update rewrites.
func checkGolden(t *testing.T, name string, repeats int, write func(*bytes.Buffer) error) {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		t.Fatal(err)
	}
	for range repeats {
		var again bytes.Buffer
		if err := write(&again); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
			t.Fatalf("a second write differs (err %v):\n%s\nthen:\n%s", err, buf.Bytes(), again.Bytes())
		}
	}
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report/ -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from %s:\ngot:\n%s\nwant:\n%s", name, golden, buf.Bytes(), want)
	}
}
