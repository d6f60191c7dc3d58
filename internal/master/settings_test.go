package master

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestRunConfigValidate(t *testing.T) {
	t.Parallel()
	valid := RunConfig{Script: "s.js", Users: 10, SpawnRate: 2.5, RunTime: time.Minute, Env: map[string]string{"A": "1", "B": ""},
		ExpectWorkers: 2, ExpectTimeout: time.Minute, Workers: 3}
	tests := []struct {
		name    string
		change  func(*RunConfig)
		field   string // the SettingError's field; "" for no error
		message string // the whole message, when field is set
	}{
		{"valid swarm", func(*RunConfig) {}, "", ""},
		{"script mode, every number zero", func(c *RunConfig) { *c = RunConfig{Script: "s.js"} }, "", ""},
		{"no script", func(c *RunConfig) { c.Script = "" }, "script", "invalid run settings: script: no script given"},
		{"negative users", func(c *RunConfig) { c.Users = -5 }, "users", "invalid run settings: users -5: must be 0 (script mode) or more"},
		{"negative spawn rate", func(c *RunConfig) { c.SpawnRate = -0.5 },
			"spawn_rate", "invalid run settings: spawn_rate -0.5: must be a number, 0 or more (0 starts every user at once)"},
		{"spawn rate NaN", func(c *RunConfig) { c.SpawnRate = math.NaN() },
			"spawn_rate", "invalid run settings: spawn_rate NaN: must be a number, 0 or more (0 starts every user at once)"},
		{"spawn rate infinite", func(c *RunConfig) { c.SpawnRate = math.Inf(1) },
			"spawn_rate", "invalid run settings: spawn_rate +Inf: must be a number, 0 or more (0 starts every user at once)"},
		{"negative run time", func(c *RunConfig) { c.RunTime = -time.Second }, "run_time", "invalid run settings: run_time -1s: must not be negative (0 sets no limit)"},
		{"negative expected workers", func(c *RunConfig) { c.ExpectWorkers = -1 }, "expect_workers", "invalid run settings: expect_workers -1: must not be negative"},
		{"negative expect timeout", func(c *RunConfig) { c.ExpectTimeout = -time.Minute },
			"expect_timeout", "invalid run settings: expect_timeout -1m0s: must not be negative"},
		{"negative workers", func(c *RunConfig) { c.Workers = -2 },
			"workers", "invalid run settings: workers -2: must not be negative (0 runs on the workers connected)"},
		{"empty env key", func(c *RunConfig) { c.Env = map[string]string{"": "x"} },
			"env", `invalid run settings: env "": a key must be non-empty and without "="`},
		{"env key with =", func(c *RunConfig) { c.Env = map[string]string{"A=B": "x"} },
			"env", `invalid run settings: env "A=B": a key must be non-empty and without "="`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tt.change(&cfg)
			err := cfg.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var se *SettingError
			if !errors.As(err, &se) || !errors.Is(err, ErrBadSettings) {
				t.Fatalf("Validate() = %v (%T), want a *SettingError wrapping ErrBadSettings", err, err)
			}
			if se.Field != tt.field || err.Error() != tt.message {
				t.Errorf("Validate() = field %q, %q\nwant field %q, %q", se.Field, err, tt.field, tt.message)
			}
		})
	}
}

// The environment's size limits are part of Validate, so the command line and the API refuse an
// environment k6 could not be started with before any run begins.
func TestRunConfigValidateEnvSize(t *testing.T) {
	t.Parallel()
	cfg := RunConfig{Script: "s.js", Env: map[string]string{"TOKEN": strings.Repeat("v", MaxEnvEntryBytes)}}
	err := cfg.Validate()
	if !errors.Is(err, ErrBadSettings) || !strings.Contains(err.Error(), "env TOKEN: KEY=VALUE is") {
		t.Fatalf("Validate() = %v, want ErrBadSettings naming env TOKEN", err)
	}
}
