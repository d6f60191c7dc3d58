package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrBadInspect means ParseInspect was given something other than the output
// of `k6 inspect --execution-requirements`.
var ErrBadInspect = errors.New("invalid k6 inspect output")

// DefaultPhaseTimeout is k6's default setupTimeout and teardownTimeout.
const DefaultPhaseTimeout = 60 * time.Second

// Options is what the master needs from `k6 inspect --execution-requirements`.
type Options struct {
	// Scenarios are k6's consolidated scenarios by name. k6 derives them from
	// the shortcuts (vus, duration, iterations, stages), and, when the script
	// sets none, makes a "default" scenario of 1 VU and 1 iteration.
	Scenarios map[string]ScenarioInfo
	// Thresholds maps a metric expression ("http_req_duration{scenario:a}")
	// to its threshold sources ("p(95)<300"), in the script's order.
	Thresholds map[string][]string
	// ThresholdConfigs has the same keys and order as Thresholds, with the
	// abort settings of each threshold.
	ThresholdConfigs map[string][]ThresholdConfig
	// TotalDuration is the longest the test can run, graceful stops included.
	TotalDuration time.Duration
	// MaxVUs is the most VUs the test can need at once.
	MaxVUs int
	// SetupTimeout and TeardownTimeout are how long k6 lets setup() and teardown() run (k6's
	// default: 60s each).
	SetupTimeout, TeardownTimeout time.Duration
	// HasScenarios is true when the script says how it runs (scenarios,
	// stages, vus with duration, or iterations), false when k6 would run
	// its default of 1 VU for 1 iteration.
	HasScenarios bool
	// Swarm is the script's options.ext.stampede (nil: none): its user classes and load shape.
	Swarm *SwarmOptions
}

// ScenarioInfo is one k6 scenario.
type ScenarioInfo struct {
	Executor string // "constant-vus", "ramping-arrival-rate", ...
	Exec     string // exported function it runs; "default" when the script does not say
}

// ThresholdConfig is one threshold with its abort settings.
type ThresholdConfig struct {
	Source         string        // "p(95)<300"
	AbortOnFail    bool          // stop the test when the threshold fails
	DelayAbortEval time.Duration // do not abort before this much of the test has run
}

// ParseInspect parses the JSON printed by `k6 inspect --execution-requirements`:
// k6's Options plus "totalDuration" and "maxVUs". Errors match ErrBadInspect.
func ParseInspect(data []byte) (*Options, error) {
	var raw struct {
		Duration      k6Duration                   `json:"duration"`
		Iterations    *int64                       `json:"iterations"`
		Stages        []json.RawMessage            `json:"stages"`
		Scenarios     map[string]rawScenario       `json:"scenarios"`
		Thresholds    map[string][]ThresholdConfig `json:"thresholds"`
		TotalDuration *k6Duration                  `json:"totalDuration"`
		MaxVUs        *uint64                      `json:"maxVUs"`
		SetupTimeout  k6Duration                   `json:"setupTimeout"`
		Teardown      k6Duration                   `json:"teardownTimeout"`
		Ext           map[string]json.RawMessage   `json:"ext"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInspect, err)
	}
	if raw.TotalDuration == nil || raw.MaxVUs == nil {
		return nil, fmt.Errorf("%w: no totalDuration or maxVUs; was k6 inspect run with --execution-requirements?", ErrBadInspect)
	}
	if *raw.MaxVUs > math.MaxInt {
		return nil, fmt.Errorf("%w: maxVUs %d out of range", ErrBadInspect, *raw.MaxVUs)
	}

	o := &Options{
		Scenarios:        make(map[string]ScenarioInfo, len(raw.Scenarios)),
		Thresholds:       make(map[string][]string, len(raw.Thresholds)),
		ThresholdConfigs: make(map[string][]ThresholdConfig, len(raw.Thresholds)),
		TotalDuration:    raw.TotalDuration.d,
		MaxVUs:           int(*raw.MaxVUs),
		SetupTimeout:     DefaultPhaseTimeout,
		TeardownTimeout:  DefaultPhaseTimeout,
	}
	if raw.SetupTimeout.valid {
		o.SetupTimeout = raw.SetupTimeout.d
	}
	if raw.Teardown.valid {
		o.TeardownTimeout = raw.Teardown.d
	}
	for name, s := range raw.Scenarios {
		if s.Executor == "" {
			return nil, fmt.Errorf("%w: scenario %q has no executor", ErrBadInspect, name)
		}
		exec := "default"
		if s.Exec != nil && *s.Exec != "" {
			exec = *s.Exec
		}
		o.Scenarios[name] = ScenarioInfo{Executor: s.Executor, Exec: exec}
	}
	for metric, ts := range raw.Thresholds {
		sources := make([]string, len(ts))
		for i, t := range ts {
			sources[i] = t.Source
		}
		o.Thresholds[metric] = sources
		o.ThresholdConfigs[metric] = ts
	}
	swarm, err := ParseSwarmOptions(raw.Ext["stampede"])
	if err != nil {
		return nil, err
	}
	o.Swarm = swarm
	o.HasScenarios = raw.Duration.valid || raw.Iterations != nil || len(raw.Stages) > 0 ||
		!isDefaultScenarios(raw.Scenarios)
	return o, nil
}

type rawScenario struct {
	Executor   string  `json:"executor"`
	Exec       *string `json:"exec"`
	VUs        *int64  `json:"vus"`
	Iterations *int64  `json:"iterations"`
}

// isDefaultScenarios reports whether scenarios are what k6 makes up for a
// script that says nothing about how it runs.
func isDefaultScenarios(scenarios map[string]rawScenario) bool {
	if len(scenarios) == 0 {
		return true // plain `k6 inspect`, or `scenarios: {}`: k6 will use its default
	}
	s, ok := scenarios["default"]
	one := func(p *int64) bool { return p == nil || *p == 1 }
	return len(scenarios) == 1 && ok && s.Executor == "per-vu-iterations" &&
		one(s.VUs) && one(s.Iterations) && (s.Exec == nil || *s.Exec == "default")
}

// UnmarshalJSON accepts both forms k6 prints a threshold in: the source
// string alone, or {"threshold": ..., "abortOnFail": ..., "delayAbortEval": ...}.
func (t *ThresholdConfig) UnmarshalJSON(data []byte) error {
	if err := json.Unmarshal(data, &t.Source); err == nil {
		*t = ThresholdConfig{Source: t.Source}
		return nil
	}
	var obj struct {
		Threshold      *string    `json:"threshold"`
		AbortOnFail    bool       `json:"abortOnFail"`
		DelayAbortEval k6Duration `json:"delayAbortEval"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return fmt.Errorf("threshold: %w", err)
	}
	if obj.Threshold == nil {
		return fmt.Errorf("threshold without source: %s", data)
	}
	*t = ThresholdConfig{Source: *obj.Threshold, AbortOnFail: obj.AbortOnFail, DelayAbortEval: obj.DelayAbortEval.d}
	return nil
}

// k6Duration decodes a k6 duration: null, a Go duration string ("1m0s"), a
// string with days ("1d2h"), or a number or numeric string of milliseconds.
type k6Duration struct {
	d     time.Duration
	valid bool
}

func (k *k6Duration) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		*k = k6Duration{}
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		var ms float64
		if err := json.Unmarshal(data, &ms); err != nil {
			return fmt.Errorf("duration %s: not a string or number", data)
		}
		s = strconv.FormatFloat(ms, 'f', -1, 64)
	}
	d, err := parseK6Duration(s)
	if err != nil {
		return err
	}
	*k = k6Duration{d: d, valid: true}
	return nil
}

// parseK6Duration parses durations as k6's types.ParseExtendedDuration does.
func parseK6Duration(s string) (time.Duration, error) {
	if ms, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(ms * float64(time.Millisecond)), nil
	}
	days, rest, hasDays := strings.Cut(s, "d")
	if !hasDays {
		return time.ParseDuration(s)
	}
	n, err := strconv.ParseInt(days, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/int64(24*time.Hour) {
		return 0, fmt.Errorf("duration %q: bad number of days", s)
	}
	d := time.Duration(n) * 24 * time.Hour
	if rest == "" {
		return d, nil
	}
	r, err := time.ParseDuration(rest)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	return d + r, nil
}
