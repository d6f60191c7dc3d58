package native

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stampede-load/stampede/internal/native/h1"
	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario/flow"
)

// onceRun runs a flow's setup steps once (the class is never started) and returns the run's
// stats, its log lines and the addresses it dialled.
type onceRun struct {
	d      *stats.Delta
	setup  string // setup's captures, as JSON
	logs   []string
	dialed []string
}

func runSetup(t *testing.T, src string, env map[string]string, files fstest.MapFS) *onceRun {
	t.Helper()
	return runSetupRefusing(t, src, env, files, nil)
}

// errRefused is what the dial hook of runSetupRefusing returns for the addresses it refuses, as
// the worker's allow-list does.
var errRefused = errors.New("refused by the test's dial hook")

func runSetupRefusing(t *testing.T, src string, env map[string]string, files fstest.MapFS, refuse func(addr string) bool) *onceRun {
	t.Helper()
	if files == nil {
		files = fstest.MapFS{}
	}
	sc, tables := parse(t, src, files)
	ca, err := sc.LoadCA(files)
	if err != nil {
		t.Fatal(err)
	}
	out := &onceRun{}
	var mu sync.Mutex
	var d net.Dialer
	opts := Options{Scenario: sc, Data: tables, CA: ca, Env: env, FlushInterval: 10 * time.Millisecond,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			out.dialed = append(out.dialed, addr)
			mu.Unlock()
			if refuse != nil && refuse(addr) {
				return nil, fmt.Errorf("dial %s: %w", addr, errRefused)
			}
			return d.DialContext(ctx, network, addr)
		},
		Logs: func(l protocol.LogLine) {
			mu.Lock()
			out.logs = append(out.logs, l.Message)
			mu.Unlock()
		}}
	e, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	r := collect(e)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := e.Setup(ctx)
	out.setup = string(data)
	if err != nil {
		out.setup = err.Error()
	}
	e.Terminate(5 * time.Second)
	<-e.Exited()
	<-r.done
	out.d = r.snapshot()
	mu.Lock()
	defer mu.Unlock()
	return out
}

func (o *onceRun) entry(name, method, status string) *stats.Entry {
	return o.d.Entries[stats.Key{Name: name, Method: method, Status: status}]
}

func caFiles(srv *httptest.Server) fstest.MapFS {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return fstest.MapFS{"certs/ca.pem": {Data: ca}}
}

// TestTLS: with tls.ca the engine trusts the test server's certificate, records the handshake
// as k6's http_req_tls_handshaking, and checks names; without the CA the request fails as a
// certificate error; serverName is what the certificate is checked against.
func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "secure")
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{"TARGET": srv.URL}
	flowWith := func(tlsBlock string) string {
		return "kind: stampede/flow/v1\nbaseUrl: ${__ENV.TARGET}\n" + tlsBlock + `setup:
  - get: /
    name: home
    check: { body: { contains: secure } }
classes: {u: {steps: [{think: 1s}]}}
`
	}
	tests := []struct {
		name, tls, status, err string
		ca                     bool
		wantTLS                bool
	}{
		{name: "the CA", tls: "tls: {ca: certs/ca.pem}\n", ca: true, status: "200", wantTLS: true},
		{name: "the CA, server name of the certificate", tls: "tls: {ca: certs/ca.pem, serverName: example.com}\n", ca: true, status: "200", wantTLS: true},
		{name: "the CA, another server name", tls: "tls: {ca: certs/ca.pem, serverName: shop.test}\n", ca: true, status: "0",
			err: "certificate is valid for example.com"},
		{name: "no CA", status: "0", err: "certificate signed by unknown authority"},
		{name: "no CA, insecureSkipVerify", tls: "tls: {insecureSkipVerify: true}\n", status: "200", wantTLS: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var files fstest.MapFS
			if tc.ca {
				files = caFiles(srv)
			}
			o := runSetup(t, flowWith(tc.tls), env, files)
			e := o.entry("home", "GET", tc.status)
			if e == nil || e.Requests != 1 {
				t.Fatalf("entries %v, want one home GET %s", o.d.Entries, tc.status)
			}
			if tc.err != "" {
				found := false
				for k := range o.d.Errors {
					found = found || strings.Contains(k.Error, tc.err)
				}
				if !found {
					t.Errorf("errors %v, want one with %q", o.d.Errors, tc.err)
				}
				return
			}
			if c := o.d.Checks[stats.CheckKey{Group: "::setup", Name: "home: body contains \"secure\""}]; c == nil || c.Passes != 1 {
				t.Errorf("checks %v", o.d.Checks)
			}
			if m := o.d.Metrics["http_req_tls_handshaking"]; m == nil || m.Count != 1 || m.Sum <= 0 {
				t.Errorf("http_req_tls_handshaking %+v, want one sample above 0", m)
			}
		})
	}
	if _, err := Start(context.Background(), Options{Scenario: mustParse(t, flowWith("tls: {ca: certs/ca.pem}\n")), Env: env}); err == nil ||
		!strings.Contains(err.Error(), "tls.ca certs/ca.pem is not loaded") {
		t.Errorf("Start without Options.CA: %v", err)
	}
}

func mustParse(t testing.TB, src string) *flow.Scenario {
	t.Helper()
	sc, err := flow.Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestRedirects: hops are followed and each recorded as k6 records them; 301-303 turn into a
// GET without a body, 307 and 308 keep both; a redirect to another host dials it through the
// engine's dial hook; the final response is what checks and captures see; maxRedirects stops
// with the redirect as the response, and k6's warning only when the file did not set it.
func TestRedirects(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", fmt.Sprintf("%s %s body=%q auth=%q", r.Method, r.URL.Path, b, r.Header.Get("Authorization")))
		_, _ = io.WriteString(w, "landed")
	}))
	t.Cleanup(other.Close)
	// Another host by name, as Go's client tells hosts (the port aside): Authorization stays behind.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	var loops, slowLoops atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			http.SetCookie(w, &http.Cookie{Name: "hop", Value: "1", Path: "/"})
			w.Header().Set("Location", "b?x=1") // relative
			w.WriteHeader(http.StatusFound)
		case "/b":
			c, _ := r.Cookie("hop")
			w.Header().Set("X-Cookie", fmt.Sprint(c != nil))
			w.Header().Set("X-Referer", r.Header.Get("Referer"))
			_, _ = io.WriteString(w, "at b")
		case "/see-other":
			w.Header().Set("Location", otherURL+"/landing")
			w.WriteHeader(http.StatusSeeOther)
		case "/temporary":
			w.Header().Set("Location", other.URL+"/landing") // the same host: Authorization goes along
			w.WriteHeader(http.StatusTemporaryRedirect)
		case "/bad":
			w.Header().Set("Location", "http://[::1") // unparsable
			w.WriteHeader(http.StatusFound)
		case "/slow-loop": // each hop takes at least 100ms
			slowLoops.Add(1)
			select {
			case <-time.After(100 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
			w.Header().Set("Location", "/slow-loop")
			w.WriteHeader(http.StatusFound)
		case "/loop":
			loops.Add(1)
			w.Header().Set("Location", "/loop")
			w.WriteHeader(http.StatusMovedPermanently)
		}
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{"TARGET": srv.URL}
	head := "kind: stampede/flow/v1\nbaseUrl: ${__ENV.TARGET}\n"
	cls := "classes: {u: {steps: [{think: 1s}]}}\n"

	t.Run("hops", func(t *testing.T) {
		o := runSetup(t, head+`setup:
  - get: /a
    check: { status: 200, body: { contains: at b } }
    capture: { cookieSent: { header: X-Cookie }, referer: { header: X-Referer } }
  - post: /see-other
    name: see-other
    body: payload
    headers: { Authorization: Bearer secret }
    capture: { seen303: { header: X-Seen } }
  - post: /temporary
    body: payload
    headers: { Authorization: Bearer secret }
    capture: { seen307: { header: X-Seen } }
`+cls, env, nil)
		want := []struct {
			name, method, status string
		}{
			{"/a", "GET", "302"}, {srv.URL + "/b?x=1", "GET", "200"},
			{"see-other", "POST", "303"}, {"see-other", "GET", "200"},
			{"/temporary", "POST", "307"}, {other.URL + "/landing", "POST", "200"},
		}
		for _, w := range want {
			if e := o.entry(w.name, w.method, w.status); e == nil || e.Requests != 1 || e.Failures != 0 {
				t.Errorf("%s %s %s: %+v; entries %v", w.method, w.name, w.status, e, o.d.Entries)
			}
		}
		if n := metricCount(o.d, "http_reqs"); n != uint64(len(want)) {
			t.Errorf("http_reqs %d, want %d: each hop its own request", n, len(want))
		}
		wantSetup := `{"cookieSent":"true","referer":"` + srv.URL + `/a","seen303":"GET /landing body=\"\" auth=\"\"","seen307":"POST /landing body=\"payload\" auth=\"Bearer secret\""}`
		if o.setup != wantSetup {
			t.Errorf("setup captures %s\nwant %s", o.setup, wantSetup)
		}
		if c := o.d.Checks[stats.CheckKey{Group: "::setup", Name: "/a: status is 200"}]; c == nil || c.Passes != 1 {
			t.Errorf("the check on the final response: %+v", c)
		}
		otherAddr := "localhost:" + other.URL[strings.LastIndexByte(other.URL, ':')+1:]
		n := 0
		for _, a := range o.dialed {
			if a == otherAddr {
				n++
			}
		}
		if n == 0 {
			t.Errorf("dialled %v: the other host was not dialled through the hook", o.dialed)
		}
	})

	t.Run("the timeout bounds the redirects together", func(t *testing.T) {
		o := runSetup(t, head+"setup:\n  - get: /slow-loop\n    name: slow\n    timeout: 250ms\n"+cls, env, nil)
		// 100ms a hop at least: the third cannot end within 250ms. Without the bound on the
		// whole, each hop would have its own 250ms and all 11 would succeed.
		if n := slowLoops.Load(); n > 3 {
			t.Errorf("the server saw %d hops, want at most 3 within 250ms", n)
		}
		if n := o.d.Errors[stats.ErrorKey{Name: "slow", Method: "GET", Error: "request timeout"}]; n != 1 {
			t.Errorf("errors %v, want one request timeout", o.d.Errors)
		}
	})

	t.Run("an unparsable Location", func(t *testing.T) {
		o := runSetup(t, head+"setup:\n  - get: /bad\n    name: bad\n"+cls, env, nil)
		if e := o.entry("bad", "GET", "302"); e == nil || e.Requests != 1 || e.Failures != 0 {
			t.Errorf("the redirect: %+v; entries %v", e, o.d.Entries)
		}
		if e := o.entry("bad", "GET", "0"); e == nil || e.Requests != 1 || e.Failures != 1 {
			t.Errorf("the hop: %+v, want a failure with status 0; entries %v", e, o.d.Entries)
		}
		if !strings.Contains(o.setup, `redirect to "http://[::1"`) {
			t.Errorf("setup's error %q, want the Location named", o.setup)
		}
	})

	tests := []struct {
		name, top, req string
		want           int64 // requests the server saw
		warn           bool
	}{
		{name: "k6's default of 10, with its warning", want: 11, warn: true},
		{name: "the file's maxRedirects", top: "maxRedirects: 2\n", want: 3},
		{name: "the request's over the file's", top: "maxRedirects: 2\n", req: "    maxRedirects: 0\n", want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loops.Store(0)
			o := runSetup(t, head+tc.top+"setup:\n  - get: /loop\n    name: loop\n"+tc.req+"    check: { status: 301 }\n"+cls, env, nil)
			if got := loops.Load(); got != tc.want {
				t.Errorf("the server saw %d requests, want %d", got, tc.want)
			}
			if e := o.entry("loop", "GET", "301"); e == nil || int64(e.Requests) != tc.want {
				t.Errorf("recorded %+v, want %d", e, tc.want)
			}
			if c := o.d.Checks[stats.CheckKey{Group: "::setup", Name: "loop: status is 301"}]; c == nil || c.Passes != 1 {
				t.Errorf("the last redirect is the response: check %+v", c)
			}
			warned := false
			for _, l := range o.logs {
				warned = warned || strings.Contains(l, "stopped after")
			}
			if warned != tc.warn {
				t.Errorf("warning logged %v, want %v; logs %q", warned, tc.warn, o.logs)
			}
		})
	}
}

// TestTimeouts: a server that never answers fails the request at its timeout, recorded as k6
// records one: status 0, "request timeout", http_req_failed; the file's timeout is the default
// and a request's own wins. A server that accepts and never completes the TLS handshake fails
// at the timeout too: it bounds connecting.
func TestTimeouts(t *testing.T) {
	release := make(chan struct{})
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	stallTLS := httptest.NewUnstartedServer(stall.Config.Handler)
	stallTLS.EnableHTTP2 = true
	stallTLS.StartTLS()
	t.Cleanup(func() { close(release); stall.Close(); stallTLS.Close() })
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 8)
	t.Cleanup(func() {
		_ = silent.Close()
		for len(held) > 0 {
			_ = (<-held).Close()
		}
	})
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held <- c
		}
	}()
	tests := []struct {
		name, target, top, req string
		min                    time.Duration
	}{
		{name: "the file's timeout", target: stall.URL, top: "timeout: 300ms\n", min: 300 * time.Millisecond},
		{name: "the request's", target: stall.URL, top: "timeout: 1m\n", req: "    timeout: 200ms\n", min: 200 * time.Millisecond},
		{name: "in the TLS handshake", target: "https://" + silent.Addr().String(), req: "    timeout: 200ms\n", min: 200 * time.Millisecond},
		{name: "in the TLS handshake, HTTP/2", target: "https://" + silent.Addr().String(), top: "http2: true\n", req: "    timeout: 200ms\n", min: 200 * time.Millisecond},
		{name: "over HTTP/2", target: stallTLS.URL, top: "http2: true\ntls: {insecureSkipVerify: true}\ntimeout: 200ms\n", min: 200 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			begin := time.Now()
			o := runSetup(t, "kind: stampede/flow/v1\nbaseUrl: ${__ENV.TARGET}\n"+tc.top+"setup:\n  - get: /\n    name: slow\n"+tc.req+
				"classes: {u: {steps: [{think: 1s}]}}\n", map[string]string{"TARGET": tc.target}, nil)
			if took := time.Since(begin); took < tc.min || took > 30*time.Second {
				t.Errorf("took %v, want the timeout %v", took, tc.min)
			}
			if e := o.entry("slow", "GET", "0"); e == nil || e.Requests != 1 || e.Failures != 1 {
				t.Fatalf("entries %v, want one failed GET with status 0", o.d.Entries)
			}
			if n := o.d.Errors[stats.ErrorKey{Name: "slow", Method: "GET", Error: "request timeout"}]; n != 1 {
				t.Errorf("errors %v, want one \"request timeout\"", o.d.Errors)
			}
			if m := o.d.Metrics["http_req_failed"]; m == nil || m.Count != 1 || m.Trues != 1 {
				t.Errorf("http_req_failed %+v", m)
			}
		})
	}
}

// TestGzip: as k6, the engine sends no Accept-Encoding of its own, decodes a gzip body the
// server sends, and counts the bytes on the wire in data_received; a flow that asks for gzip
// gets it decoded too.
func TestGzip(t *testing.T) {
	text := strings.Repeat("a body that compresses well. ", 200)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = io.WriteString(zw, text)
	_ = zw.Close()
	var accept atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accept.Store(r.Header.Get("Accept-Encoding"))
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(zipped.Bytes())
	}))
	t.Cleanup(srv.Close)
	for _, hdr := range []string{"", "    headers: { Accept-Encoding: gzip }\n"} {
		o := runSetup(t, "kind: stampede/flow/v1\nbaseUrl: ${__ENV.TARGET}\nsetup:\n  - get: /\n    name: z\n"+hdr+
			"    check: { body: { contains: compresses well } }\nclasses: {u: {steps: [{think: 1s}]}}\n", map[string]string{"TARGET": srv.URL}, nil)
		want := ""
		if hdr != "" {
			want = "gzip"
		}
		if got := accept.Load(); got != want {
			t.Errorf("Accept-Encoding %q, want %q", got, want)
		}
		if c := o.d.Checks[stats.CheckKey{Group: "::setup", Name: "z: body contains \"compresses well\""}]; c == nil || c.Passes != 1 {
			t.Errorf("the check on the decoded body: %+v", c)
		}
		m := o.d.Metrics["data_received"]
		if m == nil || m.Sum < float64(zipped.Len()) || m.Sum > float64(zipped.Len()+500) {
			t.Errorf("data_received %+v, want the %d zipped bytes and a head", m, zipped.Len())
		}
	}
}

// TestHTTP2: with http2: true the engine speaks HTTP/2 to a TLS server that offers it (the
// server sees HTTP/2.0) and h2c to a cleartext one that takes it, through the dial hook, with
// the same stats, checks, captures, cookies and redirects as over HTTP/1.1.
func TestHTTP2(t *testing.T) {
	handler := func(protos *sync.Map) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			protos.Store(r.Proto, true)
			switch r.URL.Path {
			case "/login":
				http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1", Path: "/"})
				w.Header().Set("Location", "/home")
				w.WriteHeader(http.StatusFound)
			case "/home":
				c, err := r.Cookie("session")
				if err != nil {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				w.Header().Set("X-Session", c.Value)
				w.Header().Set("Content-Encoding", "gzip")
				zw := gzip.NewWriter(w)
				_, _ = io.WriteString(zw, `{"user":"ada"}`)
				_ = zw.Close()
			}
		})
	}
	var tlsProtos, clearProtos sync.Map
	tlsSrv := httptest.NewUnstartedServer(handler(&tlsProtos))
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	clearSrv := httptest.NewUnstartedServer(handler(&clearProtos))
	clearSrv.Config.Protocols = new(http.Protocols)
	clearSrv.Config.Protocols.SetHTTP1(true)
	clearSrv.Config.Protocols.SetUnencryptedHTTP2(true)
	clearSrv.Start()
	t.Cleanup(clearSrv.Close)

	tests := []struct {
		name   string
		srv    *httptest.Server
		protos *sync.Map
		tls    bool
	}{
		{"TLS with ALPN", tlsSrv, &tlsProtos, true},
		{"h2c", clearSrv, &clearProtos, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := runSetup(t, `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
http2: true
tls: {ca: certs/ca.pem}
setup:
  - get: /login
    name: login
    check: { status: 200, json: { $.user: ada } }
    capture: { session: { header: X-Session } }
classes: {u: {steps: [{think: 1s}]}}
thresholds:
  "http_reqs{proto:HTTP/2.0}": ["count==2"]
`, map[string]string{"TARGET": tc.srv.URL}, caFiles(tlsSrv))
			var protos []string
			tc.protos.Range(func(k, _ any) bool { protos = append(protos, k.(string)); return true })
			if len(protos) != 1 || protos[0] != "HTTP/2.0" {
				t.Fatalf("the server saw %v, want only HTTP/2.0", protos)
			}
			if o.setup != `{"session":"s1"}` {
				t.Errorf("setup captures %s", o.setup)
			}
			for _, st := range []string{"302", "200"} {
				if e := o.entry("login", "GET", st); e == nil || e.Requests != 1 || e.Failures != 0 || e.SizedRequests != 1 || e.ReceivedBytes == 0 {
					t.Errorf("login %s: %+v; entries %v, errors %v", st, e, o.d.Entries, o.d.Errors)
				}
			}
			for _, name := range []string{"login: status is 200", "login: $.user is \"ada\""} {
				if c := o.d.Checks[stats.CheckKey{Group: "::setup", Name: name}]; c == nil || c.Passes != 1 {
					t.Errorf("check %s: %+v (checks %v)", name, c, o.d.Checks)
				}
			}
			if len(o.dialed) != 1 || o.dialed[0] != tc.srv.Listener.Addr().String() {
				t.Errorf("dialled %v: want one connection, through the hook, for both requests", o.dialed)
			}
			m := o.d.Metrics["http_req_tls_handshaking"]
			if m == nil || m.Count != 2 || (m.Sum > 0) != tc.tls {
				t.Errorf("http_req_tls_handshaking %+v, want 2 samples, above 0 in sum only with TLS", m)
			}
			if m := o.d.Metrics["http_reqs{proto:HTTP/2.0}"]; m == nil || m.Count != 2 {
				t.Errorf("http_reqs{proto:HTTP/2.0} %+v, want both requests under k6's proto tag of HTTP/2", m)
			}
			for _, name := range []string{"http_req_waiting", "http_req_duration", "data_sent", "data_received"} {
				if m := o.d.Metrics[name]; m == nil || m.Sum <= 0 {
					t.Errorf("%s %+v, want above 0", name, m)
				}
			}
		})
	}
}

// TestRedirectsDialThroughTheHook: a redirect to another host dials through the engine's dial
// hook, over HTTP/1.1 and HTTP/2 alike, so a host the hook refuses (the worker's --allow-hosts)
// is not reached by redirecting to it: the hop fails, with status 0.
func TestRedirectsDialThroughTheHook(t *testing.T) {
	var reached atomic.Int64
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	t.Cleanup(forbidden.Close)
	forbiddenURL := strings.Replace(forbidden.URL, "127.0.0.1", "localhost", 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", forbiddenURL+"/inside")
		w.WriteHeader(http.StatusFound)
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	for _, top := range []string{"", "http2: true\n"} {
		t.Run("http2 "+fmt.Sprint(top != ""), func(t *testing.T) {
			o := runSetupRefusing(t, "kind: stampede/flow/v1\nbaseUrl: ${__ENV.TARGET}\n"+top+"setup:\n  - get: /out\n    name: out\n"+
				"classes: {u: {steps: [{think: 1s}]}}\n", map[string]string{"TARGET": srv.URL}, nil,
				func(addr string) bool { return strings.HasPrefix(addr, "localhost:") })
			if e := o.entry("out", "GET", "302"); e == nil || e.Requests != 1 {
				t.Errorf("the redirect: %+v; entries %v", e, o.d.Entries)
			}
			if e := o.entry("out", "GET", "0"); e == nil || e.Requests != 1 || e.Failures != 1 {
				t.Errorf("the refused hop: %+v; entries %v", e, o.d.Entries)
			}
			found := false
			for k := range o.d.Errors {
				found = found || strings.Contains(k.Error, errRefused.Error())
			}
			if !found {
				t.Errorf("errors %v, want the hook's refusal", o.d.Errors)
			}
		})
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("the refused host served %d requests", n)
	}
}

// BenchmarkHTTP2 compares one user's GET over TLS through h1 and through the http2 path, to the
// same net/http server (which speaks HTTP/2 when asked by ALPN); both sides' CPU is counted.
func BenchmarkHTTP2(b *testing.B) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello world\n"))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	b.Cleanup(srv.Close)
	for _, tc := range []struct{ name, top string }{{"h1", ""}, {"http2", "http2: true\n"}} {
		b.Run(tc.name, func(b *testing.B) {
			sc := mustParse(b, "kind: stampede/flow/v1\nbaseUrl: ${__ENV.TARGET}\n"+tc.top+
				"tls: {insecureSkipVerify: true}\nclasses: {u: {steps: [{get: /, name: home, check: {status: 200}}]}}\n")
			u, r := firstUser(b, Options{Scenario: sc, Env: map[string]string{"TARGET": srv.URL}})
			b.ReportAllocs()
			for b.Loop() {
				if res, err := u.do(r); res != stepOK || err != nil || u.resp.Status != 200 {
					b.Fatal(res, err, u.resp.Status)
				}
			}
		})
	}
}

// TestTimeoutText: k6's texts for a timeout while connecting and after; other errors keep h1's
// text without its prefix. The dial hook that never connects stands for a black-holed address.
func TestTimeoutText(t *testing.T) {
	stuck := func(ctx context.Context, network, addr string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	cfg, err := h1.NewConfig(h1.Options{Addr: "192.0.2.1:80", Dial: stuck})
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.NewConn()
	defer c.Close()
	var req h1.Request
	req.Start("GET", "/")
	req.Host("192.0.2.1")
	req.Finish(nil)
	req.Timeout = 50 * time.Millisecond
	err = c.Do(context.Background(), &req, &h1.Response{})
	if got := errorText(err); got != "dial: i/o timeout" {
		t.Errorf("errorText(%v) = %q, want k6's dial: i/o timeout", err, got)
	}
	if got := errorText(errRedirectTimeout); got != "request timeout" {
		t.Errorf("errorText(%v) = %q", errRedirectTimeout, got)
	}
	if got := errorText(fmt.Errorf("%w: bad status line", h1.ErrMalformed)); got != "malformed response: bad status line" {
		t.Errorf("errorText of a malformed response = %q", got)
	}
}
