package stats

import (
	"strings"
	"testing"
)

func TestParseSelector(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, key, err string
	}{
		{in: "http_req_duration", key: "http_req_duration"},
		{in: " checks ", key: "checks"},
		{in: "http_req_duration{name:login}", key: "http_req_duration{name:login}"},
		{in: "http_req_duration{ method : POST , name:'login' }", key: "http_req_duration{method:POST,name:login}"},
		{in: `http_reqs{group:::api::login}`, key: "http_reqs{group:::api::login}"},
		{in: `my_trend{url:"http://x/y"}`, key: "my_trend{url:http://x/y}"},
		{in: "", err: "want a metric name"},
		{in: "{name:x}", err: "want a metric name"},
		{in: "http_req_duration{name:x", err: "not closed"},
		{in: "http_req_duration{name}", err: "want tag:value"},
		{in: "http_req_duration{:x}", err: "want tag:value"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			s, err := ParseSelector(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil || s.Key() != tt.key {
				t.Fatalf("key %q, err %v; want %q", s.Key(), err, tt.key)
			}
		})
	}
}

func TestSelectorMatches(t *testing.T) {
	t.Parallel()
	s, _ := ParseSelector("http_req_duration{name:login,method:POST}")
	tags := map[string]string{"name": "login", "method": "POST", "status": "200"}
	get := func(k string) (string, bool) { v, ok := tags[k]; return v, ok }
	if !s.Matches("http_req_duration", get) {
		t.Fatal("a sample with every tag did not match")
	}
	if s.Matches("http_reqs", get) {
		t.Fatal("another metric matched")
	}
	tags["method"] = "GET"
	if s.Matches("http_req_duration", get) {
		t.Fatal("a sample with another tag value matched")
	}
}
