package native

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stampede-load/stampede/internal/native/h1/h1test"
	"github.com/stampede-load/stampede/internal/stats"
)

// encodeAs applies the codings in order, as a server listing them in Content-Encoding would.
func encodeAs(t testing.TB, data []byte, codings ...string) []byte {
	t.Helper()
	b, err := h1test.Encode(data, codings...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func halve(b []byte) []byte { return b[:len(b)/2] }

// TestContentEncodings: as k6, the engine decodes a body in gzip, deflate, br or zstd, or in
// several of them, over HTTP/1.1 and HTTP/2 alike, so checks read the decoded body while
// data_received counts the bytes on the wire; a body in a coding it does not know is left as
// sent; corrupt data and a body decoding past h1.DefaultMaxDecoded (a zstd bomb) are failed
// requests with status 0 and their error. The server answers 400 to a request with
// Accept-Encoding: the engine sends none of its own, as k6.
func TestContentEncodings(t *testing.T) {
	text := []byte(strings.Repeat("a body that compresses well. ", 400))
	bodies := map[string]struct {
		ce   string
		body []byte
	}{
		"gzip":    {"gzip", encodeAs(t, text, "gzip")},
		"deflate": {"deflate", encodeAs(t, text, "deflate")},
		"br":      {"br", encodeAs(t, text, "br")},
		"zstd":    {"zstd", encodeAs(t, text, "zstd")},
		"stacked": {"gzip, br", encodeAs(t, text, "gzip", "br")},
		"unknown": {"x-custom", []byte("custom bytes, left as sent")},
		"corrupt": {"br", halve(encodeAs(t, text, "br"))},
		"bomb":    {"zstd", encodeAs(t, make([]byte, 65<<20), "zstd")}, // 65 MiB of zeros
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := bodies[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok || r.Header.Get("Accept-Encoding") != "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Encoding", b.ce)
		_, _ = w.Write(b.body)
	})
	h1Srv := httptest.NewServer(handler)
	t.Cleanup(h1Srv.Close)
	h2cSrv := httptest.NewUnstartedServer(handler)
	h2cSrv.Config.Protocols = new(http.Protocols)
	h2cSrv.Config.Protocols.SetUnencryptedHTTP2(true)
	h2cSrv.Start()
	t.Cleanup(h2cSrv.Close)

	decoded := []string{"gzip", "deflate", "br", "zstd", "stacked"}
	var steps strings.Builder
	for _, name := range decoded {
		steps.WriteString("  - get: /" + name + "\n    check: { body: { contains: compresses well } }\n")
	}
	steps.WriteString("  - get: /unknown\n    check: { body: { contains: left as sent } }\n")
	steps.WriteString("  - get: /corrupt\n  - get: /bomb\n")
	tests := []struct {
		name, top, proto string
		srv              *httptest.Server
	}{
		{"HTTP/1.1", "", "HTTP/1.1", h1Srv},
		{"HTTP/2", "http2: true\n", "HTTP/2.0", h2cSrv},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := runSetup(t, "kind: stampede/flow/v1\nbaseUrl: ${__ENV.TARGET}\n"+tc.top+"setup:\n"+steps.String()+
				"classes: {u: {steps: [{think: 1s}]}}\nthresholds:\n  \"http_reqs{proto:"+tc.proto+"}\": [\"count>0\"]\n",
				map[string]string{"TARGET": tc.srv.URL}, nil)
			for _, name := range append(decoded, "unknown") {
				check := stats.CheckKey{Group: "::setup", Name: "/" + name + ": body contains \"compresses well\""}
				if name == "unknown" {
					check.Name = "/unknown: body contains \"left as sent\""
				}
				if c := o.d.Checks[check]; c == nil || c.Passes != 1 {
					t.Errorf("%s: check %+v; checks %v", name, c, o.d.Checks)
				}
				n := uint64(len(bodies[name].body))
				if e := o.entry("/"+name, "GET", "200"); e == nil || e.Requests != 1 || e.ReceivedBytes < n || e.ReceivedBytes > n+600 {
					t.Errorf("%s: %+v, want one request and the %d bytes sent (and a head) received", name, e, n)
				}
			}
			var all uint64
			for _, e := range o.d.Entries {
				all += e.Requests
			}
			// Every request has its response's proto, those whose body failed to decode too.
			if m := o.d.Metrics["http_reqs{proto:"+tc.proto+"}"]; m == nil || m.Count != all {
				t.Errorf("http_reqs{proto:%s} %+v, want all %d requests", tc.proto, m, all)
			}
			for name, want := range map[string]string{"/corrupt": "malformed response: br: unexpected EOF",
				"/bomb": "decoded body too large: over 67108864 bytes decoded"} {
				if e := o.entry(name, "GET", "0"); e == nil || e.Requests != 1 || e.Failures != 1 {
					t.Errorf("%s: entries %v, want one failed request with status 0", name, o.d.Entries)
				}
				found := false
				for k, n := range o.d.Errors {
					found = found || (k.Name == name && n == 1 && strings.Contains(k.Error, want))
				}
				if !found {
					t.Errorf("%s: errors %v, want one with %q", name, o.d.Errors, want)
				}
			}
		})
	}
}
