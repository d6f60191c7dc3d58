package native

import (
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/native/h1"
	"github.com/stampede-load/stampede/internal/stats"
)

func TestJar(t *testing.T) {
	tests := []struct {
		name   string
		set    []string // host|Set-Cookie
		host   string
		target string
		want   string
	}{
		{"default path", []string{"h|sid=1"}, "h", "/a/b?x", "sid=1"},
		{"other host", []string{"h|sid=1"}, "g", "/", ""},
		{"path", []string{"h|a=1; Path=/api", "h|b=2"}, "h", "/api/x", "a=1; b=2"},
		{"path boundary", []string{"h|a=1; Path=/api"}, "h", "/apix", ""},
		{"replaced", []string{"h|a=1", "h|a=2"}, "h", "/", "a=2"},
		{"deleted", []string{"h|a=1", "h|a=; Max-Age=0"}, "h", "/", ""},
		{"quoted, attributes ignored", []string{`h|a="v"; Secure; HttpOnly; Expires=Wed, 21 Oct 2015 07:28:00 GMT`}, "h", "/", "a=v"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var j jar
			for _, s := range tc.set {
				host, v, _ := strings.Cut(s, "|")
				j.set(host, []byte(v))
			}
			if got := string(j.appendHeader(nil, tc.host, []byte(tc.target))); got != tc.want {
				t.Errorf("Cookie %q, want %q", got, tc.want)
			}
		})
	}
}

func TestApportion(t *testing.T) {
	tests := []struct {
		users   int64
		weights []int64
		want    []int64
	}{
		{4, []int64{3, 1}, []int64{3, 1}},
		{6, []int64{3, 1}, []int64{5, 1}},
		{5, []int64{1, 1, 1}, []int64{2, 2, 1}},
		{3, []int64{0, 2}, []int64{0, 3}},
		{3, []int64{0, 0}, []int64{2, 1}},
	}
	for _, tc := range tests {
		got := apportion(tc.users, tc.weights)
		if len(got) != len(tc.want) {
			t.Fatalf("apportion(%d, %v) = %v", tc.users, tc.weights, got)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("apportion(%d, %v) = %v, want %v", tc.users, tc.weights, got, tc.want)
				break
			}
		}
	}
}

// TestSubmetrics: samples are filed under the selectors their tags match, as k6run's output
// files them, so thresholds on sub-metrics work.
func TestSubmetrics(t *testing.T) {
	rc := newRecorder(1, []string{"http_req_duration{expected_response:true}", "http_req_duration{name:home}",
		"http_req_failed{status:503}", "checks{group:::shop}", "http_reqs{scenario:swarm,method:GET}", "http_req_duration{vu:1}", "nope{a:b}"})
	s := rc.shard(0)
	r := &creq{name: "home", method: "GET", group: "::shop"}
	resp := &h1.Response{Timings: h1.Timings{Duration: 5 * time.Millisecond}}
	rc.request(s, &exchange{r: r, status: 200, resp: resp, scen: "swarm"})
	rc.request(s, &exchange{r: r, status: 503, failed: true, resp: resp, scen: "swarm"})
	rc.check(s, "swarm", stats.CheckKey{Group: "::shop", Name: "ok"}, true)
	d := rc.flush(time.Now())
	want := map[string]uint64{
		"http_req_duration{expected_response:true}": 1, "http_req_duration{name:home}": 2, "http_req_failed{status:503}": 1,
		"checks{group:::shop}": 1, "http_reqs{method:GET,scenario:swarm}": 2, "http_req_duration": 2, "http_reqs": 2,
	}
	for k, n := range want {
		if got := metricCount(d, k); got != n {
			t.Errorf("%s: %d samples, want %d", k, got, n)
		}
	}
	if _, ok := d.Metrics["http_req_duration{vu:1}"]; ok {
		t.Error("a tag flows never carry matched")
	}
	if e := d.Errors[stats.ErrorKey{Name: "home", Method: "GET", Error: "HTTP 503"}]; e != 1 {
		t.Errorf("errors %v", d.Errors)
	}
	if rc.flush(time.Now()) != nil {
		t.Error("a second flush with nothing recorded is not nil")
	}
}
