package flow

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.k6.io/k6/lib"
	_ "go.k6.io/k6/lib/executor" // registers k6's executors with lib.ScenarioConfigs

	"github.com/stampede-load/stampede/scenario"
)

// Options are what the master needs of a flow, in the shape `k6 inspect --execution-requirements`
// gives it for a script: its thresholds, its script-mode scenarios with the longest they can run and
// the most users they can need, and its swarm (classes and shape). Everything the master does with
// a run reads these, so a flow runs through the same dispatch, segments, thresholds and reports as a
// script.
//
// The scenarios' duration and users are k6's own figures: each executor is handed to k6's
// lib.ScenarioConfigs, as a script's options.scenarios is, and k6 plans them (a library call). So a
// flow's constant-arrival-rate is planned exactly as the same executor in a script.
func (s *Scenario) Options() (*scenario.Options, error) {
	o := &scenario.Options{
		Scenarios:        map[string]scenario.ScenarioInfo{},
		Thresholds:       map[string][]string{},
		ThresholdConfigs: map[string][]scenario.ThresholdConfig{},
		SetupTimeout:     scenario.DefaultPhaseTimeout,
		TeardownTimeout:  scenario.DefaultPhaseTimeout,
	}
	for _, t := range s.Thresholds {
		key := t.Selector.Key()
		o.Thresholds[key] = append(o.Thresholds[key], t.Source)
		o.ThresholdConfigs[key] = append(o.ThresholdConfigs[key],
			scenario.ThresholdConfig{Source: t.Source, AbortOnFail: t.AbortOnFail, DelayAbortEval: t.DelayAbortEval})
	}
	if len(s.Classes) > 0 || len(s.Shape) > 0 {
		o.Swarm = &scenario.SwarmOptions{Shape: s.Shape}
		for _, c := range s.Classes {
			o.Swarm.Classes = append(o.Swarm.Classes, scenario.Class{Name: c.Name, Weight: c.Weight, Tags: c.Tags})
		}
	}
	if len(s.Scenarios) == 0 {
		return o, nil
	}
	o.HasScenarios = true
	configs, err := s.k6Scenarios()
	if err != nil {
		return nil, err
	}
	for name, c := range configs {
		o.Scenarios[name] = scenario.ScenarioInfo{Executor: c.GetType(), Exec: c.GetExec()}
	}
	full, err := lib.NewExecutionTuple(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, s.File, err)
	}
	steps := configs.GetFullExecutionRequirements(full)
	o.TotalDuration, _ = lib.GetEndOffset(steps)
	o.MaxVUs = int(lib.GetMaxPossibleVUs(steps))
	return o, nil
}

// k6Scenarios hands the flow's executors to k6, as the options.scenarios of a script, and has k6
// check them. The parser has checked them already with k6's rules; an error here means the two
// disagree, and it names the executor's line.
func (s *Scenario) k6Scenarios() (lib.ScenarioConfigs, error) {
	raw := make(map[string]map[string]any, len(s.Scenarios))
	lines := make(map[string]int, len(s.Scenarios))
	for _, e := range s.Scenarios {
		raw[e.Name] = e.k6JSON()
		lines[e.Name] = e.Line
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, s.File, err)
	}
	var configs lib.ScenarioConfigs
	if err := json.Unmarshal(data, &configs); err != nil {
		return nil, fmt.Errorf("%w: %s: scenarios: %w", ErrInvalid, s.File, err)
	}
	var errs []error
	for name, c := range configs {
		for _, e := range c.Validate() {
			errs = append(errs, &Error{File: s.File, Line: lines[name], Col: 1, Path: "scenarios." + name, Msg: e.Error()})
		}
	}
	return configs, errors.Join(errs...)
}

// k6JSON is the executor as k6's options.scenarios writes it. The class is the scenario's exec: the
// engine runs that class's steps.
func (e *Executor) k6JSON() map[string]any {
	m := map[string]any{"executor": e.Type, "exec": e.Class, "startTime": k6Duration(e.StartTime),
		"gracefulStop": k6Duration(e.GracefulStop)}
	if len(e.Tags) > 0 {
		m["tags"] = e.Tags
	}
	switch e.Type {
	case "constant-vus":
		m["vus"], m["duration"] = e.VUs, k6Duration(e.Duration)
	case "ramping-vus":
		m["startVUs"], m["gracefulRampDown"], m["stages"] = e.StartVUs, k6Duration(e.GracefulRampDown), e.k6Stages()
	case "per-vu-iterations", "shared-iterations":
		m["vus"], m["iterations"], m["maxDuration"] = e.VUs, e.Iterations, k6Duration(e.MaxDuration)
	case "constant-arrival-rate":
		m["rate"], m["timeUnit"], m["duration"] = e.Rate, k6Duration(e.TimeUnit), k6Duration(e.Duration)
		m["preAllocatedVUs"], m["maxVUs"] = e.PreAllocatedVUs, e.MaxVUs
	case "ramping-arrival-rate":
		m["startRate"], m["timeUnit"], m["stages"] = e.StartRate, k6Duration(e.TimeUnit), e.k6Stages()
		m["preAllocatedVUs"], m["maxVUs"] = e.PreAllocatedVUs, e.MaxVUs
	}
	return m
}

func (e *Executor) k6Stages() []map[string]any {
	out := make([]map[string]any, 0, len(e.Stages))
	for _, st := range e.Stages {
		out = append(out, map[string]any{"duration": k6Duration(st.Duration), "target": st.Target})
	}
	return out
}

// k6Duration writes d as k6 reads a duration in JSON: a string such as "1m30s".
func k6Duration(d time.Duration) string { return d.String() }
