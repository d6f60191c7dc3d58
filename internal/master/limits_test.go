package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/scenario"
)

type nopLoader struct{}

func (nopLoader) Archive(context.Context, string, string, map[string]string) error {
	return errors.New("not used")
}

func (nopLoader) Inspect(context.Context, string, string, map[string]string) (*scenario.Options, error) {
	return &scenario.Options{}, nil
}

// nopConn is a connected worker that takes every message.
type nopConn struct{}

func (nopConn) Assign(scenario.Part) error          { return nil }
func (nopConn) RunSetup(string) error               { return nil }
func (nopConn) Start(string, json.RawMessage) error { return nil }
func (nopConn) Control(protocol.Control) error      { return nil }
func (nopConn) RunTeardown(string) error            { return nil }
func (nopConn) Finish(string, string) error         { return nil }
func (nopConn) Close()                              {}

func newLimitCore(t *testing.T, workers int) *Coordinator {
	t.Helper()
	c, err := New(Options{Loader: nopLoader{}, WorkDir: t.TempDir(), MaxUsers: 1000, MaxWorkerVUs: 300, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	for i := range workers {
		if _, err := c.Join(protocol.Hello{ProtocolMajor: protocol.Major, WorkerID: fmt.Sprintf("w%d", i)}, nopConn{}); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestCheckLimits(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 60<<10)
	cases := []struct {
		name      string
		connected int
		cfg       RunConfig
		want      string // "" accepts; otherwise a part of the error
	}{
		{"at the fleet limit", 4, RunConfig{Users: 1000}, ""},
		{"over the fleet limit", 4, RunConfig{Users: 1001}, "users 1001: over this master's limit of 1000 users (--max-users)"},
		{"absurd", 4, RunConfig{Users: 1_000_000_000_000}, "--max-users"},
		{"share over the worker limit", 2, RunConfig{Users: 900}, "(900) over 2 worker(s) are 450 VUs per worker, over the limit of 300 per worker (--max-worker-vus): add workers"},
		{"share rounds up", 3, RunConfig{Users: 901}, "301 VUs per worker"},
		{"share at the worker limit", 3, RunConfig{Users: 900}, ""},
		{"the workers it waits for count", 0, RunConfig{Users: 900, ExpectWorkers: 3}, ""},
		{"the workers it scales to count", 1, RunConfig{Users: 900, Workers: 3}, ""},
		{"no worker yet: one", 0, RunConfig{Users: 301}, "over 1 worker(s)"},
		{"script mode: checked after inspection", 0, RunConfig{}, ""},
		{"env at the entry limit", 1, RunConfig{Users: 1, Env: map[string]string{"K": strings.Repeat("v", MaxEnvEntryBytes-2)}}, ""},
		{"env entry over", 1, RunConfig{Users: 1, Env: map[string]string{"A": "1", "TOKEN": strings.Repeat("v", 200<<10)}},
			"env TOKEN: KEY=VALUE is 200.0 KiB, over the limit of 64.0 KiB for one variable"},
		{"env total over", 1, RunConfig{Env: map[string]string{"A": big, "B": big, "C": big, "D": big, "E": big, "F": big, "G": big, "H": big, "I": big + "xx"}},
			"env: 9 variables of 540.0 KiB in all, over the limit of 512.0 KiB (they reach k6 as command-line arguments); the biggest: I (60.0 KiB), A (60.0 KiB), B (60.0 KiB)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			core := newLimitCore(t, c.connected)
			cfg := c.cfg
			cfg.Script = "s.js"
			var err error
			core.do(func() { // as a run's claim checks them
				if err = cfg.Validate(); err == nil {
					err = core.checkLimits(cfg)
				}
			})
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want == "":
			case err == nil:
				t.Fatalf("accepted; want %q", c.want)
			case !errors.Is(err, ErrBadSettings) || !strings.Contains(err.Error(), c.want):
				t.Fatalf("got %v; want ErrBadSettings with %q", err, c.want)
			}
		})
	}
}

// TestLimitsRefuseBeforeAnyWork: Start and Run refuse a run over a limit before they claim it, so
// nothing is inspected, scaled or assigned.
func TestLimitsRefuseBeforeAnyWork(t *testing.T) {
	t.Parallel()
	core := newLimitCore(t, 1)
	cfg := RunConfig{Script: "does-not-matter.js", Users: 5000, ExpectWorkers: 1}
	if _, err := core.Start(context.Background(), cfg, nil); !errors.Is(err, ErrBadSettings) {
		t.Fatalf("Start: %v; want ErrBadSettings", err)
	}
	if res, err := core.Run(context.Background(), cfg); !errors.Is(err, ErrBadSettings) || res != nil {
		t.Fatalf("Run: %v, %v; want ErrBadSettings and no result", res, err)
	}
	if s := core.Snapshot(); s.Run != nil {
		t.Fatalf("a refused run was claimed: %+v", s.Run)
	}
}

func TestCheckScriptVUs(t *testing.T) {
	t.Parallel()
	core := newLimitCore(t, 0)
	for _, c := range []struct {
		vus     int64
		workers int
		want    string
	}{
		{1000, 4, ""},
		{1001, 4, "the script's scenarios need up to 1001 VUs: over this master's limit of 1000 users (--max-users)"},
		{900, 2, "the script's VUs (900) over 2 worker(s) are 450 VUs per worker"},
		{300, 0, ""},
	} {
		err := core.checkScriptVUs(c.vus, c.workers)
		if (c.want == "") != (err == nil) || (err != nil && (!errors.Is(err, ErrBadSettings) || !strings.Contains(err.Error(), c.want))) {
			t.Errorf("%d VUs on %d workers: %v; want %q", c.vus, c.workers, err, c.want)
		}
	}
}

// TestCheckScript: a script-mode run is checked on the VUs k6 found in its scenarios, over the
// workers it will have; a swarm run is not (checkLimits did).
func TestCheckScript(t *testing.T) {
	t.Parallel()
	core := newLimitCore(t, 2)
	for _, c := range []struct {
		cfg  RunConfig
		vus  int
		want string
	}{
		{RunConfig{}, 600, ""},
		{RunConfig{}, 601, "the script's VUs (601) over 2 worker(s) are 301 VUs per worker"},
		{RunConfig{ExpectWorkers: 3}, 900, ""},
		{RunConfig{ExpectWorkers: 4}, 1001, "--max-users"},
		{RunConfig{Users: 10}, 5000, ""},
	} {
		var err error
		core.do(func() { err = core.checkScript(c.cfg, &scenario.Options{MaxVUs: c.vus}) })
		if (c.want == "") != (err == nil) || (err != nil && (!errors.Is(err, ErrBadSettings) || !strings.Contains(err.Error(), c.want))) {
			t.Errorf("%+v with %d VUs: %v; want %q", c.cfg, c.vus, err, c.want)
		}
	}
}

// TestUpdateBounded: a live change of users obeys the same limits, counted on the workers running
// the load, and a refused change leaves the run as it was.
func TestUpdateBounded(t *testing.T) {
	t.Parallel()
	core := newLimitCore(t, 2)
	r := &run{id: "r", cfg: RunConfig{Script: "s.js", Users: 10}, mode: scenario.Swarm, state: Running, target: 10, members: map[string]*member{}}
	core.do(func() {
		for _, w := range core.connected() {
			m := &member{w: w, started: true}
			r.members[w.id], r.order = m, append(r.order, m)
		}
		core.run = r
	})

	for _, c := range []struct {
		users int64
		want  string
	}{
		{600, ""},
		{601, "301 VUs per worker"},
		{1001, "--max-users"},
	} {
		users := c.users
		err := core.Update(&users, nil)
		var target int64
		core.do(func() { target = r.target })
		switch {
		case c.want == "" && (err != nil || target != users):
			t.Errorf("users %d: %v, target %d; want accepted", users, err, target)
		case c.want != "" && (!errors.Is(err, ErrBadSettings) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("users %d: %v; want ErrBadSettings with %q", users, err, c.want)
		case c.want != "" && target == users:
			t.Errorf("users %d: refused, yet the target changed", users)
		}
	}
}
