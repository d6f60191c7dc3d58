package master

import (
	"fmt"
	"github.com/stampede-load/stampede/scenario"
	"maps"
	"math"
	"slices"
	"strings"
)

// SettingError is a run setting that is wrong on its own, whatever the master: a negative number, a
// missing script. It wraps ErrBadSettings. Field names the setting as the API does (users,
// spawn_rate, run_time); a command line restates it with its flag.
type SettingError struct {
	Field   string
	Value   string // the value given, as the user would write it; "" when there is none
	Problem string // what is wrong, and what would be right
}

func (e *SettingError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s: %s", ErrBadSettings, e.Field, e.Problem)
	}
	return fmt.Sprintf("%s: %s %s: %s", ErrBadSettings, e.Field, e.Value, e.Problem)
}

func (e *SettingError) Unwrap() error { return ErrBadSettings }

// Validate checks a run's settings by themselves, before anything runs, and returns the first
// problem: a *SettingError, or for an environment too large for k6's command line an error wrapping
// ErrBadSettings. It is a pure function. What depends on the master is checked when a run starts:
// its limits (--max-users, --max-worker-vus), its worker pool (Workers), the script's own options.
func (cfg RunConfig) Validate() error {
	switch {
	case cfg.Script == "":
		return &SettingError{Field: "script", Problem: "no script given"}
	case cfg.Users < 0:
		return bad("users", cfg.Users, "must be 0 (script mode) or more")
	case cfg.SpawnRate < 0 || math.IsNaN(cfg.SpawnRate) || math.IsInf(cfg.SpawnRate, 0):
		return bad("spawn_rate", cfg.SpawnRate, "must be a number, 0 or more (0 starts every user at once)")
	case cfg.RunTime < 0:
		return bad("run_time", cfg.RunTime, "must not be negative (0 sets no limit)")
	case cfg.ExpectWorkers < 0:
		return bad("expect_workers", cfg.ExpectWorkers, "must not be negative")
	case cfg.ExpectTimeout < 0:
		return bad("expect_timeout", cfg.ExpectTimeout, "must not be negative")
	case cfg.Shaped && cfg.Users != 0:
		return bad("users", cfg.Users, "a run driven by the script's load shape takes its users from the shape; leave users out")
	case cfg.Workers < 0:
		return bad("workers", cfg.Workers, "must not be negative (0 runs on the workers connected)")
	}
	for _, k := range slices.Sorted(maps.Keys(cfg.Env)) {
		// Each pair reaches k6 as --env KEY=VALUE: a key with "=" would become another key.
		if k == "" || strings.Contains(k, "=") {
			return &SettingError{Field: "env", Value: fmt.Sprintf("%q", k), Problem: "a key must be non-empty and without \"=\""}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(cfg.ClassWeights)) {
		switch w := cfg.ClassWeights[k]; {
		case k == "":
			return &SettingError{Field: "class_weights", Value: fmt.Sprintf("=%d", w), Problem: "a class name is empty; name a class the script declares"}
		case w < 0 || w > scenario.MaxClassWeight:
			return &SettingError{Field: "class_weights", Value: fmt.Sprintf("%s=%d", k, w),
				Problem: fmt.Sprintf("a weight is a whole number from 0 to %d (0: the class runs no user)", scenario.MaxClassWeight)}
		}
	}
	for _, list := range []struct {
		field string
		tags  []string
	}{{"tags", cfg.Tags}, {"exclude_tags", cfg.ExcludeTags}} { // in this order: one error, always the same
		if i := slices.Index(list.tags, ""); i >= 0 {
			return &SettingError{Field: list.field, Value: fmt.Sprintf("%q", list.tags), Problem: fmt.Sprintf("tag %d is empty", i+1)}
		}
	}
	return checkEnv(cfg.Env)
}

func bad(field string, value any, problem string) *SettingError {
	return &SettingError{Field: field, Value: fmt.Sprint(value), Problem: problem}
}
