package targetsrv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// serve sends one request straight to the handler.
func serve(t *testing.T, s *Server, method, target, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func decodeJSON(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", rec.Body.String(), err)
	}
	return m
}

func multipartBody(t *testing.T, fields map[string]string) (contentType, body string) {
	t.Helper()
	var b strings.Builder
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), b.String()
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	mpCT, mpBody := multipartBody(t, map[string]string{"user": "ann", "password": "pw"})

	tests := []struct {
		name        string
		method      string
		target      string
		contentType string
		body        string
		wantStatus  int
		check       func(t *testing.T, rec *httptest.ResponseRecorder)
	}{
		{name: "home", method: "GET", target: "/", wantStatus: 200, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
				t.Errorf("Content-Type = %q, want text/html", rec.Header().Get("Content-Type"))
			}
			if n := rec.Body.Len(); n < 512 || n > 2048 {
				t.Errorf("home page is %d bytes, want about 1 KiB", n)
			}
			for _, link := range []string{`href="/json"`, `href="/slow?ms=100"`, `href="/stats"`} {
				if !strings.Contains(rec.Body.String(), link) {
					t.Errorf("home page lacks %s", link)
				}
			}
		}},
		{name: "home head", method: "HEAD", target: "/", wantStatus: 200},
		{name: "home wrong method", method: "POST", target: "/", wantStatus: 405},
		{name: "unknown path", method: "GET", target: "/nope", wantStatus: 404},

		{name: "slow zero", method: "GET", target: "/slow?ms=0", wantStatus: 200, check: wantJSONField("slept_ms", 0)},
		{name: "slow few ms", method: "GET", target: "/slow?ms=3", wantStatus: 200, check: wantJSONField("slept_ms", 3)},
		{name: "slow at cap", method: "GET", target: "/slow?ms=20", wantStatus: 200, check: wantJSONField("slept_ms", 20)},
		{name: "slow over cap", method: "GET", target: "/slow?ms=21", wantStatus: 400, check: wantErrorContaining("from 0 to 20")},
		{name: "slow negative", method: "GET", target: "/slow?ms=-1", wantStatus: 400, check: wantErrorContaining(`"-1"`)},
		{name: "slow not a number", method: "GET", target: "/slow?ms=abc", wantStatus: 400, check: wantErrorContaining(`"abc"`)},
		{name: "slow fraction", method: "GET", target: "/slow?ms=1.5", wantStatus: 400, check: wantErrorContaining(`"1.5"`)},
		{name: "slow missing", method: "GET", target: "/slow", wantStatus: 400, check: wantErrorContaining("required")},
		{name: "slow empty", method: "GET", target: "/slow?ms=", wantStatus: 400, check: wantErrorContaining(`""`)},

		{name: "cpu zero work is the FNV offset", method: "GET", target: "/cpu?work=0", wantStatus: 200, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			m := decodeJSON(t, rec)
			if m["work"] != 0.0 || m["result"] != "cbf29ce484222325" {
				t.Errorf("body = %v, want work 0 and result cbf29ce484222325", m)
			}
		}},
		{name: "cpu some work", method: "GET", target: "/cpu?work=1000", wantStatus: 200, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			m := decodeJSON(t, rec)
			want := fmt.Sprintf("%016x", burn(1000))
			if m["work"] != 1000.0 || m["result"] != want || want == "cbf29ce484222325" {
				t.Errorf("body = %v, want work 1000 and result %s", m, want)
			}
		}},
		{name: "cpu over cap", method: "GET", target: "/cpu?work=1000001", wantStatus: 400, check: wantErrorContaining("from 0 to 1000000")},
		{name: "cpu bad", method: "GET", target: "/cpu?work=lots", wantStatus: 400, check: wantErrorContaining(`"lots"`)},
		{name: "cpu missing", method: "GET", target: "/cpu", wantStatus: 400, check: wantErrorContaining("work (hash rounds, an integer from 0 to 1000000) or ms (milliseconds of CPU, from 0 to 30) is required")},
		{name: "cpu zero ms", method: "GET", target: "/cpu?ms=0", wantStatus: 200, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			m := decodeJSON(t, rec)
			if m["ms"] != 0.0 || m["work"] != 0.0 || m["result"] != "cbf29ce484222325" {
				t.Errorf("body = %v, want ms 0, work 0 and result cbf29ce484222325", m)
			}
		}},
		{name: "cpu ms at cap", method: "GET", target: "/cpu?ms=30", wantStatus: 200, check: wantJSONField("ms", 30)},
		{name: "cpu ms over cap", method: "GET", target: "/cpu?ms=31", wantStatus: 400, check: wantErrorContaining("ms must be an integer from 0 to 30")},
		{name: "cpu ms negative", method: "GET", target: "/cpu?ms=-1", wantStatus: 400, check: wantErrorContaining(`"-1"`)},
		{name: "cpu ms fraction", method: "GET", target: "/cpu?ms=0.5", wantStatus: 400, check: wantErrorContaining(`"0.5"`)},
		{name: "cpu ms empty", method: "GET", target: "/cpu?ms=", wantStatus: 400, check: wantErrorContaining(`""`)},
		{name: "cpu work and ms", method: "GET", target: "/cpu?work=10&ms=10", wantStatus: 400, check: wantErrorContaining("work or ms, not both")},

		{name: "status 200", method: "GET", target: "/status/200", wantStatus: 200, check: wantJSONField("status", 200)},
		{name: "status 503", method: "GET", target: "/status/503", wantStatus: 503, check: wantJSONField("status", 503)},
		{name: "status 599", method: "GET", target: "/status/599", wantStatus: 599},
		{name: "status 204 has no body", method: "GET", target: "/status/204", wantStatus: 204, check: wantEmptyBody},
		{name: "status 304 has no body", method: "GET", target: "/status/304", wantStatus: 304, check: wantEmptyBody},
		{name: "status 1xx rejected", method: "GET", target: "/status/101", wantStatus: 400, check: wantErrorContaining(`"101"`)},
		{name: "status 600 rejected", method: "GET", target: "/status/600", wantStatus: 400},
		{name: "status 99 rejected", method: "GET", target: "/status/99", wantStatus: 400},
		{name: "status not a number", method: "GET", target: "/status/teapot", wantStatus: 400, check: wantErrorContaining(`"teapot"`)},

		{name: "json", method: "GET", target: "/json", wantStatus: 200, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			var doc struct {
				Count int `json:"count"`
				Items []struct {
					ID   int    `json:"id"`
					Name string `json:"name"`
				} `json:"items"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Count != 10 || len(doc.Items) != 10 || doc.Items[9].ID != 10 || doc.Items[0].Name != "item-01" {
				t.Errorf("unexpected document %+v", doc)
			}
		}},

		{name: "login json", method: "POST", target: "/login", contentType: "application/json", body: `{"user":"ann","password":"pw"}`, wantStatus: 200, check: wantToken},
		{name: "login json with charset", method: "POST", target: "/login", contentType: "application/json; charset=utf-8", body: `{"user":"ann","password":"pw"}`, wantStatus: 200, check: wantToken},
		{name: "login form", method: "POST", target: "/login", contentType: "application/x-www-form-urlencoded", body: "user=ann&password=pw", wantStatus: 200, check: wantToken},
		{name: "login multipart", method: "POST", target: "/login", contentType: mpCT, body: mpBody, wantStatus: 200, check: wantToken},
		{name: "login empty password", method: "POST", target: "/login", contentType: "application/json", body: `{"user":"ann","password":""}`, wantStatus: 401, check: wantErrorContaining("non-empty")},
		{name: "login missing user", method: "POST", target: "/login", contentType: "application/x-www-form-urlencoded", body: "password=pw", wantStatus: 401},
		{name: "login no body", method: "POST", target: "/login", wantStatus: 401},
		{name: "login query does not count", method: "POST", target: "/login?user=ann&password=pw", wantStatus: 401},
		{name: "login malformed json", method: "POST", target: "/login", contentType: "application/json", body: `{"user":`, wantStatus: 400, check: wantErrorContaining("JSON")},
		{name: "login too large", method: "POST", target: "/login", contentType: "application/json", body: `{"user":"` + strings.Repeat("a", maxLoginBody) + `"}`, wantStatus: 400},
		{name: "login wrong method", method: "GET", target: "/login", wantStatus: 405},

		{name: "healthz", method: "GET", target: "/healthz", wantStatus: 200, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			if rec.Body.String() != "ok" {
				t.Errorf("body = %q, want ok", rec.Body.String())
			}
		}},
		{name: "stats", method: "GET", target: "/stats", wantStatus: 200, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			m := decodeJSON(t, rec)
			for _, k := range []string{"total", "by_path", "by_status"} {
				if _, ok := m[k]; !ok {
					t.Errorf("stats lacks %q: %v", k, m)
				}
			}
		}},
		{name: "reset", method: "POST", target: "/reset", wantStatus: 204},
		{name: "reset wrong method", method: "GET", target: "/reset", wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := New(Options{MaxSlow: 20 * time.Millisecond, MaxCPUWork: 1_000_000, MaxCPUTime: 30 * time.Millisecond})
			rec := serve(t, s, tt.method, tt.target, tt.contentType, tt.body)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %q", rec.Code, tt.wantStatus, rec.Body.String())
			}
			if tt.check != nil {
				tt.check(t, rec)
			}
		})
	}
}

func wantJSONField(key string, want float64) func(*testing.T, *httptest.ResponseRecorder) {
	return func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		if got := decodeJSON(t, rec)[key]; got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
}

func wantErrorContaining(sub string) func(*testing.T, *httptest.ResponseRecorder) {
	return func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		msg, _ := decodeJSON(t, rec)["error"].(string)
		if !strings.Contains(msg, sub) {
			t.Errorf("error = %q, want it to contain %q", msg, sub)
		}
	}
}

func wantEmptyBody(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Body.Len() != 0 {
		t.Errorf("body = %q, want none", rec.Body.String())
	}
}

func wantToken(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if tok, _ := decodeJSON(t, rec)["token"].(string); len(tok) < 16 {
		t.Errorf("token = %q, want a random string", tok)
	}
}

func TestSlowHonoursCancellation(t *testing.T) {
	t.Parallel()
	s := New(Options{MaxSlow: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	req := httptest.NewRequestWithContext(ctx, "GET", "/slow?ms=3600000", nil)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ServeHTTP(rec, req)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("/slow kept waiting after its request was cancelled")
	}
	if rec.Code != StatusClientClosedRequest {
		t.Errorf("status = %d, want %d", rec.Code, StatusClientClosedRequest)
	}
	want := Counts{Total: 1, ByPath: map[string]int64{"/slow": 1}, ByStatus: map[int]int64{StatusClientClosedRequest: 1}}
	assertCounts(t, s.Counts(), want)
}

// TestCPUTime burns on the real clock and checks what can be checked on a busy
// machine: the burn took at least what was asked, by its clock and by the
// wall clock, and its answer is consistent. How much longer it took is not a
// pass/fail condition.
func TestCPUTime(t *testing.T) {
	t.Parallel()
	const ms = 25
	s := New(Options{})
	began := time.Now()
	rec := serve(t, s, "GET", fmt.Sprintf("/cpu?ms=%d", ms), "", "")
	elapsed := time.Since(began)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d; body %q", rec.Code, rec.Body.String())
	}
	var got struct {
		MS       int64   `json:"ms"`
		Clock    string  `json:"clock"`
		BurnedMS float64 `json:"burned_ms"`
		WallMS   float64 `json:"wall_ms"`
		Work     int64   `json:"work"`
		Result   string  `json:"result"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if elapsed < ms*time.Millisecond {
		t.Errorf("GET /cpu?ms=%d answered after %s", ms, elapsed)
	}
	if got.MS != ms || got.BurnedMS < ms || got.WallMS < ms {
		t.Errorf("answer %+v: want ms %d, burned_ms and wall_ms at least that", got, ms)
	}
	wantClock := "wall"
	if runtime.GOOS == "linux" {
		wantClock = "thread_cpu"
	}
	if got.Clock != wantClock {
		t.Errorf("clock = %q, want %q on %s", got.Clock, wantClock, runtime.GOOS)
	}
	if got.Work <= 0 || got.Result != fmt.Sprintf("%016x", burn(got.Work)) {
		t.Errorf("work %d, result %s: want some rounds, and result burn(work)", got.Work, got.Result)
	}
}

// steppingClock advances by step at every reading; step 0 never advances.
func steppingClock(step time.Duration) burnClock {
	var now time.Duration
	return burnClock{name: "test", now: func() time.Duration {
		now += step
		return now
	}}
}

// TestCPUTimeStopsOnItsClock: the burn reads its clock between chunks of
// rounds and stops at the first reading at or past ms.
func TestCPUTimeStopsOnItsClock(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	s.clock = steppingClock(time.Millisecond)
	rec := serve(t, s, "GET", "/cpu?ms=10", "", "")
	m := decodeJSON(t, rec)
	// Readings at 1 ms to 9 ms are each followed by a chunk; 10 ms ends it.
	const work = 9 * burnChunk
	if m["clock"] != "test" || m["burned_ms"] != 10.0 || m["work"] != float64(work) || m["result"] != fmt.Sprintf("%016x", burn(work)) {
		t.Errorf("body = %v, want clock test, burned_ms 10, work %d and result burn(work)", m, work)
	}
}

func TestCPUTimeHonoursCancellation(t *testing.T) {
	t.Parallel()
	s := New(Options{MaxCPUTime: time.Hour})
	s.clock = steppingClock(0) // a burn that would never end
	ctx, cancel := context.WithCancel(t.Context())
	req := httptest.NewRequestWithContext(ctx, "GET", "/cpu?ms=3600000", nil)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ServeHTTP(rec, req)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("/cpu?ms= kept burning after its request was cancelled")
	}
	if rec.Code != StatusClientClosedRequest {
		t.Errorf("status = %d, want %d", rec.Code, StatusClientClosedRequest)
	}
	want := Counts{Total: 1, ByPath: map[string]int64{"/cpu": 1}, ByStatus: map[int]int64{StatusClientClosedRequest: 1}}
	assertCounts(t, s.Counts(), want)
}

func assertCounts(t *testing.T, got, want Counts) {
	t.Helper()
	if got.Total != want.Total || !maps.Equal(got.ByPath, want.ByPath) || !maps.Equal(got.ByStatus, want.ByStatus) {
		t.Errorf("counts = %+v\nwant     %+v", got, want)
	}
}

func TestCounting(t *testing.T) {
	t.Parallel()
	s := New(Options{MaxSlow: time.Second})

	t.Run("starts empty", func(t *testing.T) {
		rec := serve(t, s, "GET", "/stats", "", "")
		if got, want := strings.TrimSpace(rec.Body.String()), `{"total":0,"by_path":{},"by_status":{}}`; got != want {
			t.Errorf("GET /stats = %s, want %s", got, want)
		}
	})

	requests := []struct{ method, target, contentType, body string }{
		{"GET", "/", "", ""},
		{"HEAD", "/", "", ""},
		{"GET", "/json", "", ""},
		{"GET", "/slow?ms=0", "", ""},
		{"GET", "/slow?ms=x", "", ""},
		{"GET", "/cpu?work=10", "", ""},
		{"GET", "/cpu?ms=0", "", ""},
		{"GET", "/cpu?work=1&ms=1", "", ""},
		{"GET", "/status/503", "", ""},
		{"GET", "/status/0503", "", ""}, // same code, same key
		{"GET", "/status/204", "", ""},
		{"GET", "/status/42", "", ""},
		{"POST", "/login", "application/json", `{"user":"u","password":"p"}`},
		{"POST", "/login", "application/json", `{}`},
		{"GET", "/missing", "", ""},
		{"DELETE", "/json", "", ""},
		// Never counted.
		{"GET", "/stats", "", ""},
		{"GET", "/healthz", "", ""},
		{"POST", "/stats", "", ""},
		{"GET", "//healthz", "", ""},
		{"GET", "/reset", "", ""},
	}
	for _, r := range requests {
		serve(t, s, r.method, r.target, r.contentType, r.body)
	}
	want := Counts{
		Total: 16,
		ByPath: map[string]int64{
			"/": 2, "/json": 1, "/slow": 2, "/cpu": 3, "/status/503": 2, "/status/204": 1,
			"/status/{code}": 1, "/login": 2, KeyUnmatched: 2,
		},
		ByStatus: map[int]int64{200: 7, 204: 1, 400: 3, 401: 1, 404: 1, 405: 1, 503: 2},
	}

	t.Run("Counts", func(t *testing.T) {
		assertCounts(t, s.Counts(), want)
	})
	t.Run("GET /stats", func(t *testing.T) {
		var got Counts
		if err := json.Unmarshal(serve(t, s, "GET", "/stats", "", "").Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		assertCounts(t, got, want)
	})
	t.Run("Counts returns a copy", func(t *testing.T) {
		c := s.Counts()
		c.ByPath["/"] = 1000
		c.ByStatus[200] = 1000
		assertCounts(t, s.Counts(), want)
	})
	t.Run("POST /reset", func(t *testing.T) {
		if rec := serve(t, s, "POST", "/reset", "", ""); rec.Code != http.StatusNoContent {
			t.Fatalf("POST /reset = %d", rec.Code)
		}
		assertCounts(t, s.Counts(), Counts{ByPath: map[string]int64{}, ByStatus: map[int]int64{}})
		serve(t, s, "GET", "/json", "", "")
		assertCounts(t, s.Counts(), Counts{Total: 1, ByPath: map[string]int64{"/json": 1}, ByStatus: map[int]int64{200: 1}})
	})
}

// TestConcurrentCountsAreExact drives a real listener from many goroutines and
// checks that /stats saw every request, no more and no less.
func TestConcurrentCountsAreExact(t *testing.T) {
	t.Parallel()
	const (
		workers   = 50
		perWorker = 200
	)
	s := New(Options{})
	ts := httptest.NewServer(s) // listens on 127.0.0.1:0
	t.Cleanup(ts.Close)
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: workers},
		Timeout:   30 * time.Second,
	}
	t.Cleanup(client.CloseIdleConnections)

	// Each worker cycles through these; perWorker is a multiple of len(paths).
	paths := []struct {
		target, key string
		status      int
	}{
		{"/", "/", 200},
		{"/json", "/json", 200},
		{"/slow?ms=0", "/slow", 200},
		{"/status/503", "/status/503", 503},
		{"/nope", KeyUnmatched, 404},
		// Interleaved observation requests must not disturb the counts.
		{"/healthz", "", 200},
		{"/stats", "", 200},
		{"/cpu?work=100", "/cpu", 200},
	}
	if perWorker%len(paths) != 0 {
		t.Fatalf("perWorker %d is not a multiple of %d", perWorker, len(paths))
	}

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				p := paths[(w+i)%len(paths)]
				resp, err := client.Get(ts.URL + p.target)
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != p.status {
					errs <- fmt.Errorf("GET %s = %d, want %d", p.target, resp.StatusCode, p.status)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	each := int64(workers * perWorker / len(paths))
	want := Counts{ByPath: map[string]int64{}, ByStatus: map[int]int64{}}
	for _, p := range paths {
		if p.key == "" {
			continue
		}
		want.Total += each
		want.ByPath[p.key] += each
		want.ByStatus[p.status] += each
	}

	resp, err := client.Get(ts.URL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got Counts
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	assertCounts(t, got, want)
}

func TestOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{name: "zero value", opts: Options{}},
		{name: "explicit", opts: Options{MaxSlow: time.Minute, MaxCPUWork: 5, MaxCPUTime: time.Millisecond}},
		{name: "negative max slow", opts: Options{MaxSlow: -time.Second}, wantErr: true},
		{name: "negative max cpu work", opts: Options{MaxCPUWork: -1}, wantErr: true},
		{name: "negative max cpu time", opts: Options{MaxCPUTime: -time.Millisecond}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.opts.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("Validate() = %v, want it to wrap ErrInvalidOptions", err)
			}
			defer func() {
				if r := recover(); (r != nil) != tt.wantErr {
					t.Errorf("New panicked: %v, want panic: %v", r, tt.wantErr)
				}
			}()
			New(tt.opts)
		})
	}
}

func TestDefaultCaps(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	tests := []struct {
		target string
		want   int
	}{
		{fmt.Sprintf("/slow?ms=%d", DefaultMaxSlow.Milliseconds()+1), 400},
		{fmt.Sprintf("/cpu?work=%d", DefaultMaxCPUWork+1), 400},
		{fmt.Sprintf("/cpu?ms=%d", DefaultMaxCPUTime.Milliseconds()+1), 400},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			if rec := serve(t, s, "GET", tt.target, "", ""); rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
		})
	}
}
