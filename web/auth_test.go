package web

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/stampede-load/stampede/internal/master"
)

const (
	testToken    = "s3cret-token"
	testUser     = "admin"
	testPassword = "pa:ss word"
)

func newAuthServer(t *testing.T, a Auth) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(Options{Core: newFakeCore(), Template: master.RunConfig{Script: "test.js"}, Logger: discard(), Auth: a,
		Assets:  fstest.MapFS{"index.html": {Data: []byte("<h1>Stampede</h1>")}, "app.js": {Data: []byte("//")}},
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("up 1\n")) })})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

// route is every route the server has, with a request it accepts once authorized.
type route struct {
	method, path, body string
	open               bool // served without credentials
}

var routes = []route{
	{"GET", "/", "", false},
	{"GET", "/index.html", "", false},
	{"GET", "/app.js", "", false},
	{"GET", "/ws", "", false},
	{"GET", "/api/v1/config", "", false},
	{"POST", "/api/v1/runs", `{"users": 1}`, false},
	{"GET", "/api/v1/runs/current", "", false},
	{"PATCH", "/api/v1/runs/current", `{"users": 2}`, false},
	{"POST", "/api/v1/runs/current/stop", "", false},
	{"GET", "/api/v1/stats", "", false},
	{"POST", "/api/v1/stats/reset", "", false},
	{"GET", "/api/v1/workers", "", false},
	{"GET", "/api/v1/reports/stats.csv", "", false},
	{"GET", "/api/v1/nope", "", false},
	{"GET", "/metrics", "", false},
	{"GET", "/healthz", "", true},
	{"GET", "/readyz", "", true},
	{"GET", "/login", "", true},
	{"POST", "/logout", "", true},
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// TestAuthEveryRoute: every route × credentials × method; a route that lets a request in answers
// anything but 401 (and a page, anything but the login redirect).
func TestAuthEveryRoute(t *testing.T) {
	t.Parallel()
	s, ts := newAuthServer(t, Auth{Token: testToken, User: testUser, Password: testPassword})
	good := &http.Cookie{Name: SessionCookie, Value: s.guard.sessionValue(time.Now().Add(time.Hour))}
	expired := &http.Cookie{Name: SessionCookie, Value: s.guard.sessionValue(time.Now().Add(-time.Minute))}
	forged := &http.Cookie{Name: SessionCookie, Value: strings.Replace(good.Value, ".", "0.", 1)}
	creds := []struct {
		name   string
		header string
		cookie *http.Cookie
		ok     bool
	}{
		{"no credentials", "", nil, false},
		{"wrong token", "Bearer not-it", nil, false},
		{"token prefix", "Bearer " + testToken[:4], nil, false},
		{"empty bearer", "Bearer ", nil, false},
		{"right token", "Bearer " + testToken, nil, true},
		{"right token, lower-case scheme", "bearer " + testToken, nil, true},
		{"token as basic password", basic(testUser, testToken), nil, false},
		{"wrong basic password", basic(testUser, "nope"), nil, false},
		{"wrong basic user", basic("root", testPassword), nil, false},
		{"right basic", basic(testUser, testPassword), nil, true},
		{"unknown scheme", "Digest " + testToken, nil, false},
		{"session cookie", "", good, true},
		{"expired session cookie", "", expired, false},
		{"forged session cookie", "", forged, false},
		{"wrong header beats a good cookie", "Bearer nope", good, false},
	}
	for _, rt := range routes {
		for _, c := range creds {
			t.Run(rt.method+" "+rt.path+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				req, err := http.NewRequest(rt.method, ts.URL+rt.path, strings.NewReader(rt.body))
				if err != nil {
					t.Fatal(err)
				}
				if rt.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				if c.header != "" {
					req.Header.Set("Authorization", c.header)
				}
				if c.cookie != nil {
					req.AddCookie(c.cookie)
				}
				resp, err := noRedirect.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				refused := resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusSeeOther
				switch {
				case rt.open || c.ok:
					if refused || resp.StatusCode == http.StatusForbidden {
						t.Fatalf("got %d, want it served: %s", resp.StatusCode, raw)
					}
				case !refused:
					t.Fatalf("got %d, want 401 (or 303 to the login page): %s", resp.StatusCode, raw)
				case resp.StatusCode == http.StatusUnauthorized:
					if !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(string(raw), "authentication required") {
						t.Fatalf("401 without a challenge or an explanation: %q %s", resp.Header.Get("WWW-Authenticate"), raw)
					}
				case resp.Header.Get("Location") != "login":
					t.Fatalf("303 to %q, want login", resp.Header.Get("Location"))
				}
			})
		}
	}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestNoAuthEveryRouteOpen: without credentials configured (a loopback master) nothing asks for them.
func TestNoAuthEveryRouteOpen(t *testing.T) {
	t.Parallel()
	_, ts := newAuthServer(t, Auth{})
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			req, _ := http.NewRequest(rt.method, ts.URL+rt.path, strings.NewReader(rt.body))
			if rt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusSeeOther || resp.StatusCode == http.StatusForbidden {
				t.Fatalf("got %d without auth configured", resp.StatusCode)
			}
		})
	}
}

// TestCSRF: state-changing requests a foreign web page could make are refused, with or without auth,
// before they reach the core; the UI's own requests and non-browser clients pass.
func TestCSRF(t *testing.T) {
	t.Parallel()
	for _, withAuth := range []bool{false, true} {
		a := Auth{}
		if withAuth {
			a.Token = testToken
		}
		cases := []struct {
			name    string
			method  string
			path    string
			headers map[string]string
			body    string
			want    int
		}{
			{"form-encoded start", "POST", "/api/v1/runs", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "users=10", 415},
			{"multipart start", "POST", "/api/v1/runs", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, "--x--", 415},
			{"text/plain stop", "POST", "/api/v1/runs/current/stop", map[string]string{"Content-Type": "text/plain"}, "{}", 415},
			{"form-encoded update", "PATCH", "/api/v1/runs/current", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "users=1", 415},
			{"foreign Origin", "POST", "/api/v1/runs", map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, `{"users": 1}`, 403},
			{"foreign Origin, no body", "POST", "/api/v1/stats/reset", map[string]string{"Origin": "http://evil.example"}, "", 403},
			{"null Origin", "POST", "/api/v1/runs/current/stop", map[string]string{"Origin": "null"}, "", 403},
			{"cross-site fetch", "POST", "/api/v1/runs", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, `{"users": 1}`, 403},
			{"same-site fetch", "PATCH", "/api/v1/runs/current", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}, `{"users": 1}`, 403},
			{"cross-site login", "POST", "/login", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, `{"token": "x"}`, 403},
			{"same-origin fetch", "POST", "/api/v1/runs", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}, `{"users": 1}`, 201},
			{"own Origin", "POST", "/api/v1/runs", map[string]string{"Content-Type": "application/json; charset=utf-8", "Origin": "{self}"}, `{"users": 1}`, 201},
			{"curl: no Origin, no type", "POST", "/api/v1/runs", nil, `{"users": 1}`, 201},
			{"foreign Origin may read", "GET", "/api/v1/workers", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, "", 200},
		}
		for _, c := range cases {
			name := c.name
			if withAuth {
				name += " (auth)"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				core := newFakeCore()
				s, err := New(Options{Core: core, Template: master.RunConfig{Script: "test.js"}, Logger: discard(), Auth: a})
				if err != nil {
					t.Fatal(err)
				}
				ts := httptest.NewServer(s.Handler())
				defer ts.Close()
				req, _ := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
				for k, v := range c.headers {
					req.Header.Set(k, strings.ReplaceAll(v, "{self}", ts.URL))
				}
				if withAuth {
					req.Header.Set("Authorization", "Bearer "+testToken)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != c.want {
					t.Fatalf("got %d, want %d: %s", resp.StatusCode, c.want, raw)
				}
				if starts, updates, stops, resets := core.calls(); c.want >= 400 && starts+updates+stops+resets > 0 {
					t.Fatalf("a refused request reached the core: %d %d %d %d", starts, updates, stops, resets)
				}
			})
		}
	}
}

// TestLogin: the login page's POST sets a strict, HttpOnly cookie that then opens the API and the
// websocket; a wrong login sets nothing; logout clears the cookie.
func TestLogin(t *testing.T) {
	t.Parallel()
	_, ts := newAuthServer(t, Auth{Token: testToken, User: testUser, Password: testPassword})
	login := func(body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.URL+"/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", ts.URL)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, bad := range []string{`{"token": "nope"}`, `{}`, `{"user": "admin", "password": "nope"}`, `{"user": "", "password": ""}`} {
		if resp := login(bad); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
			t.Fatalf("login %s: %d, cookies %v", bad, resp.StatusCode, resp.Cookies())
		}
	}
	for _, good := range []string{`{"token": "` + testToken + `"}`, `{"user": "admin", "password": "` + testPassword + `"}`} {
		resp := login(good)
		if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 1 {
			t.Fatalf("login %s: %d, cookies %v", good, resp.StatusCode, resp.Cookies())
		}
		c := resp.Cookies()[0]
		if c.Name != SessionCookie || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
			t.Fatalf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP", c)
		}
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/workers", nil)
		req.AddCookie(c)
		r2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		if r2.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/workers with the cookie: %d", r2.StatusCode)
		}
		wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws"
		if _, resp, err := websocket.DefaultDialer.Dial(wsURL, nil); err == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("websocket without the cookie: err %v, resp %v", err, resp)
		}
		conn, _, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Cookie": {c.String()}})
		if err != nil {
			t.Fatalf("websocket with the cookie: %v", err)
		}
		conn.Close()
		// A page elsewhere cannot open the feed even if the browser sent the cookie along.
		_, resp, err = websocket.DefaultDialer.Dial(wsURL, http.Header{"Cookie": {c.String()}, "Origin": {"https://evil.example"}})
		if err == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("websocket from a foreign origin: err %v, resp %v", err, resp)
		}
	}
	req, _ := http.NewRequest("POST", ts.URL+"/logout", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.Cookies()) != 1 || resp.Cookies()[0].MaxAge >= 0 {
		t.Fatalf("logout: cookies %v, want one that expires", resp.Cookies())
	}
}

func TestLoginCookieSecureBehindHTTPS(t *testing.T) {
	t.Parallel()
	s, err := New(Options{Core: newFakeCore(), Template: master.RunConfig{Script: "test.js"}, Logger: discard(), Auth: Auth{Token: testToken}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/login", strings.NewReader(`{"token": "`+testToken+`"}`))
	req.Header.Set("X-Forwarded-Proto", "https")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if cs := rec.Result().Cookies(); rec.Code != 200 || len(cs) != 1 || !cs[0].Secure {
		t.Fatalf("%d, cookies %v: want a Secure cookie", rec.Code, cs)
	}
}

func TestAuthValidation(t *testing.T) {
	t.Parallel()
	for _, a := range []Auth{{User: "u"}, {Password: "p"}, {User: "a:b", Password: "p"}} {
		if _, err := New(Options{Core: newFakeCore(), Template: master.RunConfig{Script: "t.js"}, Auth: a}); err == nil {
			t.Errorf("%+v: no error", a)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:8089": true, "127.1.2.3:80": true, "[::1]:8089": true, "localhost:8089": true, "LOCALHOST:1": true,
		":8089": false, "0.0.0.0:8089": false, "[::]:8089": false, "10.0.0.5:8089": false, "example.com:80": false,
		"master:8089": false, "127.0.0.1": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
