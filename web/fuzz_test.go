package web

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/scenario"
)

// FuzzRunBodies sends arbitrary bodies to the start (POST /api/v1/runs) and update (PATCH
// /api/v1/runs/current) endpoints. Whatever the body, the answer is a JSON object and never a 5xx; a
// 4xx carries an error message and leaves the master untouched; a 2xx came from a valid body whose
// settings reached the master within range.
func FuzzRunBodies(f *testing.F) {
	for _, s := range []string{
		`{"users": 10, "spawn_rate": 2.5, "run_time": "30s", "env": {"HOST": "http://127.0.0.1:1"}}`,
		`{"mode": "script"}`, `{"mode": "script", "users": 3}`, `{"mode": "other"}`,
		`{"users": -1}`, `{"users": 1, "spawn_rate": -0.5}`, `{"users": 1, "run_time": "-1s"}`,
		`{"users": 1, "env": {"": "x"}}`, `{"users": 1, "workers": -2}`, `{"users": 1e30}`,
		`{"users": 1} {"users": 2}`, `{"users": 1, "bogus": true}`, `[]`, `null`, ``, `{`, `"x"`,
		`{"users": 5, "spawn_rate": 1}`, `{"spawn_rate": 3}`, `{}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, update bool) {
		core := newFakeCore()
		if update {
			core.snap.Run = &master.RunInfo{ID: "run1", State: master.Running, Mode: scenario.Swarm, Users: 4, Started: time.Now()}
		}
		s, err := New(Options{Core: core, Template: master.RunConfig{Script: "test.js"}, MaxBody: 1024,
			Assets: fstest.MapFS{}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		method, path := http.MethodPost, "/api/v1/runs"
		if update {
			method, path = http.MethodPatch, "/api/v1/runs/current"
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewReader(body)))

		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out == nil {
			t.Fatalf("%d: the answer is not a JSON object (%v): %q", rec.Code, err, rec.Body.Bytes())
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q", ct)
		}
		starts, updates, _, _ := core.calls()
		switch {
		case rec.Code >= 500:
			t.Fatalf("%d for body %q: %v", rec.Code, body, out)
		case rec.Code >= 400:
			if msg, _ := out["error"].(string); msg == "" {
				t.Fatalf("%d without an error message: %v", rec.Code, out)
			}
			if starts != 0 || updates != 0 {
				t.Fatalf("%d, yet the master saw %d starts and %d updates", rec.Code, starts, updates)
			}
		case rec.Code >= 200 && rec.Code < 300:
			if !json.Valid(body) {
				t.Fatalf("%d for a body that is not JSON: %q", rec.Code, body)
			}
			if update {
				if updates != 1 {
					t.Fatalf("%d, yet %d updates", rec.Code, updates)
				}
				return
			}
			if starts != 1 {
				t.Fatalf("%d, yet %d starts", rec.Code, starts)
			}
			cfg := core.starts[0]
			if cfg.Users < 0 || cfg.SpawnRate < 0 || cfg.RunTime < 0 || cfg.Workers < 0 || cfg.Script != "test.js" {
				t.Fatalf("the master got %+v", cfg)
			}
			if _, ok := cfg.Env[""]; ok {
				t.Fatalf("the master got an empty env key: %v", cfg.Env)
			}
		default:
			t.Fatalf("unexpected status %d: %v", rec.Code, out)
		}
	})
}
