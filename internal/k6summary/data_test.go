package k6summary

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
)

func TestData(t *testing.T) {
	var d stats.Delta
	for i := range 100 {
		d.AddSample("http_req_duration", stats.Trend, "time", float64(i+1), 1)
		d.AddSample("http_reqs", stats.Counter, "default", 1, 1)
		d.AddSample("http_req_failed", stats.Rate, "default", float64(i%10/9), 1)
	}
	d.AddSample("level", stats.Gauge, "default", 7, 1)
	d.Checks = map[stats.CheckKey]*stats.Check{
		{Group: "::a::b", Name: "ok"}: {Passes: 3, Fails: 1},
		{Group: "", Name: "root"}:     {Passes: 2},
	}
	var agg stats.Aggregate
	agg.Add(&d)
	start := time.Unix(1000, 0)
	res := &master.Result{Started: start, Ended: start.Add(10 * time.Second), Aggregate: &agg,
		Thresholds: []master.ThresholdResult{
			{Metric: "http_req_duration", Source: "p(95)<90", OK: false},
			{Metric: "http_req_duration{name:x}", Source: "max<1", OK: true},
		},
		SetupData: json.RawMessage(`{"token":"t"}`)}
	data, err := Data(res, Options{TrendStats: []string{"avg", "p(95)", "count"}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(data); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	for _, want := range []string{
		`"http_reqs":{"contains":"default","type":"counter","values":{"count":100,"rate":10}}`,
		`"http_req_failed":{"contains":"default","type":"rate","values":{"fails":90,"passes":10,"rate":0.1}}`,
		`"level":{"contains":"default","type":"gauge","values":{"max":7,"min":7,"value":7}}`,
		`"thresholds":{"p(95)<90":{"ok":false}}`,
		`"http_req_duration{name:x}":{"contains":"time","thresholds":{"max<1":{"ok":true}},"type":"trend","values":{}}`,
		`"setup_data":{"token":"t"}`,
		`"testRunDurationMs":10000`,
		// k6's ids: the MD5 of the path.
		`"checks":[{"fails":0,"id":"` + id("::root") + `","name":"root","passes":2,"path":"::root"}]`,
		`"name":"b","path":"::a::b"`,
		`{"fails":1,"id":"` + id("::a::b::ok") + `","name":"ok","passes":3,"path":"::a::b::ok"}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the data lacks %s:\n%s", want, b)
		}
	}
	dur := data["metrics"].(map[string]any)["http_req_duration"].(map[string]any)["values"].(map[string]float64)
	if dur["avg"] != 50.5 || dur["count"] != 100 || dur["p(95)"] < 94 || dur["p(95)"] > 96 {
		t.Errorf("trend values %v", dur)
	}
	if id("") != "d41d8cd98f00b204e9800998ecf8427e" {
		t.Errorf("the root group's id is %s, not k6's", id(""))
	}
	if _, err := Data(res, Options{TrendStats: []string{"p(x)"}}); err == nil {
		t.Error("a bad summaryTrendStats was accepted")
	}
}
