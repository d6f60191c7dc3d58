package master

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stampede-load/stampede/scenario"
)

const shopFlow = `kind: stampede/flow/v1
baseUrl: ${TARGET:-http://127.0.0.1:8080}
data:
  accounts: { file: data/accounts.csv, each: user }
classes:
  browse:
    weight: 3
    steps: [ { get: / } ]
  buy:
    steps:
      - post: /login
        form: { user: "${accounts.name}" }
thresholds:
  http_req_failed: ["rate<0.01"]
`

// writeFlow writes a flow and its data file beside the fake loader's script, and returns its path.
func writeFlow(t *testing.T, script, src string) string {
	t.Helper()
	dir := filepath.Dir(script)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "accounts.csv"), []byte("name\nann\nbob\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "shop.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFlowRun: a flow runs without k6 on the master. Its bundle is the file and its data file, its
// classes split the users as a script's do, and its thresholds are judged.
func TestFlowRun(t *testing.T) {
	t.Parallel()
	c, script := newCore(t, fakeLoader{opts: &scenario.Options{}})
	path := writeFlow(t, script, shopFlow)
	a, _ := join(t, c, "a")
	wait := runInBackground(t, c, RunConfig{Script: path, Users: 4})
	until(t, "4 users as 3 browse, 1 buy", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.classes["browse"] == 3 && a.classes["buy"] == 1
	})
	m, _ := a.message("assign")
	b := m.part.Bundle
	if b == nil || b.Entry != "shop.yaml" || string(b.Files["shop.yaml"]) != shopFlow || string(b.Files["data/accounts.csv"]) != "name\nann\nbob\n" || len(b.Files) != 2 {
		t.Errorf("the bundle %+v; want the flow and its data file", b)
	}
	if th := c.Snapshot().Run.Thresholds; len(th) != 1 || th[0].Metric != "http_req_failed" {
		t.Errorf("thresholds %+v", th)
	}
	if err := c.Stop("test over"); err != nil {
		t.Fatal(err)
	}
	res, err := wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Archive != nil {
		t.Errorf("a flow's result has an archive")
	}
}

// TestFlowRefused: a flow's errors stop the run before any load, each with its kind and where.
func TestFlowRefused(t *testing.T) {
	t.Parallel()
	c, script := newCore(t, fakeLoader{opts: &scenario.Options{}})
	join(t, c, "a")
	for _, tc := range []struct {
		name, src string
		cfg       RunConfig
		kind      error
		want      string
	}{
		{"a bad key", "kind: stampede/flow/v1\nclasses:\n  a:\n    stepz: []\n", RunConfig{Users: 1}, ErrInvalidOptions, "shop.yaml:4:5"},
		{"a missing data file", "kind: stampede/flow/v1\ndata:\n  d: { file: none.csv }\nclasses:\n  a:\n    steps: [ { get: \"http://h/${d.x}\" } ]\n",
			RunConfig{Users: 1}, ErrInvalidOptions, "none.csv"},
		{"an environment variable not given", "kind: stampede/flow/v1\nclasses:\n  a:\n    steps: [ { get: \"http://h/${__ENV.TOKEN}\" } ]\n",
			RunConfig{Users: 1}, ErrBadSettings, "reads ${__ENV.TOKEN} without a default: give it with -e TOKEN=..."},
		{"no users, no scenarios, no shape", shopFlow, RunConfig{}, ErrBadSettings, "has no scenarios and no shape"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Script = writeFlow(t, script, tc.src)
			_, err := c.Run(t.Context(), cfg)
			wantErr(t, err, tc.kind, tc.want)
			c.WaitIdle(t.Context())
		})
	}
}
