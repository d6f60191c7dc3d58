package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gorilla/websocket"

	"github.com/stampede-load/stampede/internal/master"
)

func newHostServer(t *testing.T, core Core, check bool, allowed ...string) *httptest.Server {
	t.Helper()
	s, err := New(Options{Core: core, Template: master.RunConfig{Script: "test.js"}, Logger: discard(),
		CheckHost: check, AllowedHosts: allowed,
		Assets:  fstest.MapFS{"index.html": {Data: []byte("<h1>Stampede</h1>")}},
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("up 1\n")) })})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// TestHostCheck: which Host headers a checked server answers.
func TestHostCheck(t *testing.T) {
	t.Parallel()
	ts := newHostServer(t, newFakeCore(), true, "Stampede.Example.com", "ci-master.")
	for _, c := range []struct {
		host   string
		served bool
	}{
		{"127.0.0.1:8089", true},
		{"127.0.0.1", true},
		{"127.9.9.9:80", true},
		{"[::1]:8089", true},
		{"[::1]", true},
		{"10.0.3.7:8089", true}, // any address literal: it cannot be rebound (kubelet, Prometheus scrape pod IPs)
		{"0.0.0.0:8089", true},
		{"localhost:8089", true},
		{"LOCALHOST", true},
		{"localhost.:8089", true},
		{"stampede.example.com:443", true},
		{"STAMPEDE.EXAMPLE.COM.", true},
		{"ci-master:8089", true},
		{"evil.example:8089", false},
		{"evil.example", false},
		{"sub.stampede.example.com", false},
		{"stampede.example.com.evil.example", false},
		{"127.0.0.1.evil.example:8089", false},
		{"localhost.evil.example", false},
		{"localhost:8089.evil.example", false},
		{"0x7f000001:8089", false}, // a name to the resolver, not an address literal
	} {
		t.Run(c.host, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest("GET", ts.URL+"/api/v1/workers", nil)
			req.Host = c.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case c.served && resp.StatusCode != http.StatusOK:
				t.Fatalf("got %d, want 200: %s", resp.StatusCode, raw)
			case !c.served && resp.StatusCode != http.StatusMisdirectedRequest:
				t.Fatalf("got %d, want 421: %s", resp.StatusCode, raw)
			case !c.served && (!strings.Contains(string(raw), "--web-allowed-hosts") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain")):
				t.Fatalf("the refusal does not name the flag, or is not plain text (%s): %s", resp.Header.Get("Content-Type"), raw)
			}
		})
	}
}

// TestDNSRebinding: a page on evil.example that rebound its name to the master's address sends
// requests whose Host and Origin both name evil.example. Cross-origin protection alone lets them in
// (they look same-origin); with the Host check every route but the probes refuses them, and nothing
// reaches the core.
func TestDNSRebinding(t *testing.T) {
	t.Parallel()
	rebound := func(ts *httptest.Server, rt route) (*http.Request, string) {
		req, _ := http.NewRequest(rt.method, ts.URL+rt.path, strings.NewReader(rt.body))
		host := "evil.example:" + ts.URL[strings.LastIndexByte(ts.URL, ':')+1:]
		req.Host = host
		req.Header.Set("Origin", "http://"+host)
		req.Header.Set("Sec-Fetch-Site", "same-origin") // what the browser says: the page's own origin
		if rt.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, host
	}

	t.Run("without the check the attack works", func(t *testing.T) {
		t.Parallel()
		core := newFakeCore()
		ts := newHostServer(t, core, false)
		req, _ := rebound(ts, route{"POST", "/api/v1/runs", `{"users": 5}`, false})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if starts, _, _, _ := core.calls(); resp.StatusCode != http.StatusCreated || starts != 1 {
			t.Fatalf("got %d and %d starts; this test's premise is that cross-origin protection lets the rebound request in", resp.StatusCode, starts)
		}
	})

	core := newFakeCore()
	ts := newHostServer(t, core, true)
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			req, _ := rebound(ts, rt)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			probe := rt.path == "/healthz" || rt.path == "/readyz"
			if got := resp.StatusCode == http.StatusMisdirectedRequest; got == probe {
				t.Fatalf("got %d; want 421 for all but the probes", resp.StatusCode)
			}
		})
	}
	t.Run("websocket", func(t *testing.T) {
		req, host := rebound(ts, route{"GET", "/ws", "", false})
		h := http.Header{"Origin": {req.Header.Get("Origin")}, "Host": {host}}
		conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", h)
		if err == nil {
			conn.Close()
			t.Fatal("the websocket accepted a rebound page")
		}
		if resp == nil || resp.StatusCode != http.StatusMisdirectedRequest {
			t.Fatalf("websocket: %v, %+v; want 421", err, resp)
		}
	})
	if starts, updates, stops, resets := core.calls(); starts+updates+stops+resets > 0 {
		t.Fatalf("a rebound request reached the core: %d %d %d %d", starts, updates, stops, resets)
	}
}

func TestAllowedHostsValidation(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", " ", "evil.example:8089", "http://evil.example", "evil.example/ui", "*.example.com", "user@host"} {
		if _, err := New(Options{Core: newFakeCore(), Template: master.RunConfig{Script: "t.js"}, AllowedHosts: []string{bad}}); err == nil {
			t.Errorf("AllowedHosts %q: no error", bad)
		}
	}
}
