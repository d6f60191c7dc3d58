package flow

import (
	"maps"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

func (p *parser) classesOf(n *yaml.Node) {
	pairs, ok := p.mapping(n, "classes")
	if !ok {
		return
	}
	if len(pairs) == 0 {
		p.errf(n, "classes", "empty: a scenario needs at least one class of users")
	}
	if len(pairs) > MaxClasses {
		p.errf(n, "classes", "%d classes, over the limit of %d (MaxClasses)", len(pairs), MaxClasses)
		return
	}
	anyWeight := false
	for _, kv := range pairs {
		path := join("classes", kv.key)
		if !classNameRe.MatchString(kv.key) {
			p.errf(kv.k, path, "%q: a class name has only letters, digits, _ and -", kv.key)
			continue
		}
		p.classes[kv.key] = true
		c := p.class(kv.v, path, kv.key)
		if c == nil {
			continue
		}
		anyWeight = anyWeight || c.Weight > 0
		p.s.Classes = append(p.s.Classes, c)
	}
	slices.SortFunc(p.s.Classes, func(a, b *Class) int { return strings.Compare(a.Name, b.Name) })
	if len(p.s.Classes) > 0 && len(p.s.Classes) == len(pairs) && !anyWeight {
		p.errf(n, "classes", "every weight is 0; give at least one class a weight")
	}
}

func (p *parser) class(n *yaml.Node, path, name string) *Class {
	f, _, ok := p.fields(n, path, "class")
	if !ok {
		return nil
	}
	c := &Class{Name: name, Weight: 1, Line: n.Line}
	if v := f["weight"]; v != nil {
		if w, ok := p.integer(v, path+".weight", 0, scenario.MaxClassWeight); ok {
			c.Weight = w
		}
	}
	if v := f["tags"]; v != nil {
		items, _ := p.sequence(v, path+".tags")
		for i, it := range items {
			s, ok := p.str(it, index(path+".tags", i))
			if ok && (strings.TrimSpace(s) == "" || strings.Contains(s, ",")) {
				p.errf(it, index(path+".tags", i), "%q is not a tag (no empty tags, no commas)", s)
				continue
			}
			c.Tags = append(c.Tags, s)
		}
	}
	sc := &scope{where: path, setupCaps: true, caps: map[string]bool{}, classCaps: map[string]bool{}}
	if v := f["headers"]; v != nil {
		hs := *sc
		hs.where = path + ".headers"
		c.Headers = p.headers(v, path+".headers", &hs)
	}
	if v := f["think"]; v != nil {
		c.Think = p.think(v, path+".think")
	}
	if v := f["onStart"]; v != nil {
		c.OnStart = p.steps(v, path+".onStart", sc, 0)
	}
	steps, tasks := f["steps"], f["tasks"]
	switch {
	case steps != nil && tasks != nil:
		p.errf(tasks, path+".tasks", "a class has steps or tasks, not both")
	case steps != nil:
		c.Steps = p.steps(steps, path+".steps", sc.fork(), 0)
	case tasks != nil:
		c.Tasks = p.tasks(tasks, path+".tasks", sc)
	default:
		p.errf(n, path, "a class needs steps (run in order each iteration) or tasks (one, chosen by weight, each iteration)")
	}
	return c
}

func (p *parser) tasks(n *yaml.Node, path string, sc *scope) []*Task {
	items, ok := p.sequence(n, path)
	if !ok {
		return nil
	}
	if len(items) == 0 || len(items) > MaxTasks {
		p.errf(n, path, "%d tasks: want 1 to %d (MaxTasks)", len(items), MaxTasks)
		return nil
	}
	var out []*Task
	anyWeight := false
	for i, it := range items {
		tp := index(path, i)
		f, _, ok := p.fields(it, tp, "task")
		if !ok {
			continue
		}
		t := &Task{Weight: 1, Line: it.Line}
		if v := f["weight"]; v != nil {
			if w, ok := p.integer(v, tp+".weight", 0, scenario.MaxClassWeight); ok {
				t.Weight = w
			}
		}
		anyWeight = anyWeight || t.Weight > 0
		if v := f["steps"]; v == nil {
			p.errf(it, tp+".steps", "missing: a task needs steps")
		} else {
			t.Steps = p.steps(v, tp+".steps", sc.fork(), 0)
		}
		out = append(out, t)
	}
	if len(out) == len(items) && !anyWeight {
		p.errf(n, path, "every task's weight is 0; give at least one task a weight")
	}
	return out
}

func (p *parser) shapeOf(n *yaml.Node) {
	items, _ := p.sequence(n, "shape")
	for i, it := range items {
		path := index("shape", i)
		f, _, ok := p.fields(it, path, "stage")
		if !ok {
			continue
		}
		var st scenario.Stage
		if v := f["duration"]; v == nil {
			p.errf(it, path+".duration", "missing: how long the stage lasts, e.g. 1m")
		} else {
			st.Duration, _ = p.duration(v, path+".duration", time.Millisecond)
		}
		if v := f["users"]; v == nil {
			p.errf(it, path+".users", "missing: the users the stage heads for")
		} else {
			st.Users, _ = p.integer(v, path+".users", 0, maxVUs)
		}
		if v := f["spawnRate"]; v != nil {
			st.SpawnRate, _ = p.number(v, path+".spawnRate")
		}
		p.s.Shape = append(p.s.Shape, st)
	}
}

func (p *parser) scenariosOf(n *yaml.Node) {
	pairs, _ := p.mapping(n, "scenarios")
	if len(pairs) > MaxScenarios {
		p.errf(n, "scenarios", "%d scenarios, over the limit of %d (MaxScenarios)", len(pairs), MaxScenarios)
		return
	}
	for _, kv := range pairs {
		path := join("scenarios", kv.key)
		if !classNameRe.MatchString(kv.key) {
			p.errf(kv.k, path, "%q: the scenario name should contain only numbers, latin letters, underscores, and dashes (k6)", kv.key)
			continue
		}
		if e := p.executor(kv.v, path, kv.key); e != nil {
			p.s.Scenarios = append(p.s.Scenarios, e)
		}
	}
	slices.SortFunc(p.s.Scenarios, func(a, b *Executor) int { return strings.Compare(a.Name, b.Name) })
}

// executor reads one k6 scenario, with k6's defaults and rules (lib/executor's Validate).
func (p *parser) executor(n *yaml.Node, path, name string) *Executor {
	if n.Kind != yaml.MappingNode {
		p.mapping(n, path) // reports it
		return nil
	}
	var typ *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "executor" {
			typ = n.Content[i+1]
		}
	}
	if typ == nil {
		p.errf(n, path+".executor", "missing: one of %s", strings.Join(executors, ", "))
		return nil
	}
	if typ.Kind != yaml.ScalarNode || !slices.Contains(executors, typ.Value) {
		p.errf(typ, path+".executor", "%s: want one of %s", describe(typ), strings.Join(executors, ", "))
		return nil
	}
	f, _, _ := p.fields(n, path, typ.Value)
	e := &Executor{Name: name, Type: typ.Value, GracefulStop: 30 * time.Second, Line: n.Line,
		VUs: 1, Iterations: 1, MaxDuration: 10 * time.Minute, StartVUs: 1, GracefulRampDown: 30 * time.Second, TimeUnit: time.Second}
	switch e.Type {
	case "constant-vus", "per-vu-iterations", "shared-iterations":
		e.StartVUs, e.GracefulRampDown, e.TimeUnit = 0, 0, 0
		if e.Type == "constant-vus" {
			e.Iterations, e.MaxDuration = 0, 0
		}
	case "ramping-vus":
		e.VUs, e.Iterations, e.MaxDuration, e.TimeUnit = 0, 0, 0, 0
	default:
		e.VUs, e.Iterations, e.MaxDuration, e.StartVUs, e.GracefulRampDown = 0, 0, 0, 0, 0
	}
	missing := func(key, what string) {
		p.errf(n, path+"."+key, "missing: %s", what)
	}
	dur := func(key string, least time.Duration, dst *time.Duration) bool {
		if v := f[key]; v != nil {
			d, ok := p.duration(v, path+"."+key, least)
			if ok {
				*dst = d
			}
			return true
		}
		return false
	}
	num := func(key string, lo int64, dst *int64) bool {
		if v := f[key]; v != nil {
			x, ok := p.integer(v, path+"."+key, lo, maxVUs)
			if ok {
				*dst = x
			}
			return true
		}
		return false
	}
	if v := f["class"]; v == nil {
		missing("class", "the class whose flow the scenario's VUs run")
	} else if s, ok := p.str(v, path+".class"); ok {
		if !p.classes[s] {
			p.errf(v, path+".class", "%q is not a class of this file", s)
		}
		e.Class = s
	}
	dur("startTime", 0, &e.StartTime)
	dur("gracefulStop", 0, &e.GracefulStop)
	if v := f["tags"]; v != nil {
		tpairs, _ := p.mapping(v, path+".tags")
		e.Tags = map[string]string{}
		for _, t := range tpairs {
			e.Tags[t.key], _ = p.str(t.v, join(path+".tags", t.key))
		}
	}
	switch e.Type {
	case "constant-vus":
		num("vus", 1, &e.VUs)
		if !dur("duration", minDuration, &e.Duration) {
			missing("duration", "how long the VUs run, at least 1s")
		}
	case "per-vu-iterations", "shared-iterations":
		num("vus", 1, &e.VUs)
		num("iterations", 1, &e.Iterations)
		dur("maxDuration", minDuration, &e.MaxDuration)
		if e.Type == "shared-iterations" && e.Iterations < e.VUs {
			p.errf(n, path+".iterations", "the number of iterations (%d) can't be less than the number of VUs (%d)", e.Iterations, e.VUs)
		}
	case "ramping-vus":
		num("startVUs", 0, &e.StartVUs)
		dur("gracefulRampDown", 0, &e.GracefulRampDown)
		e.Stages = p.rampStages(n, f["stages"], path+".stages")
		if e.StartVUs == 0 && !slices.ContainsFunc(e.Stages, func(s RampStage) bool { return s.Target > 0 }) && len(e.Stages) > 0 {
			p.errf(n, path, "either startVUs or one of the stages' target values must be greater than 0")
		}
	case "constant-arrival-rate", "ramping-arrival-rate":
		if e.Type == "constant-arrival-rate" {
			if !num("rate", 1, &e.Rate) {
				missing("rate", "iterations to start per timeUnit, more than 0")
			}
			if !dur("duration", minDuration, &e.Duration) {
				missing("duration", "how long iterations start, at least 1s")
			}
		} else {
			num("startRate", 0, &e.StartRate)
			e.Stages = p.rampStages(n, f["stages"], path+".stages")
		}
		dur("timeUnit", time.Millisecond, &e.TimeUnit)
		if !num("preAllocatedVUs", 0, &e.PreAllocatedVUs) {
			missing("preAllocatedVUs", "the VUs to start with (k6 requires it)")
		}
		e.MaxVUs = e.PreAllocatedVUs
		if num("maxVUs", 0, &e.MaxVUs) && e.MaxVUs < e.PreAllocatedVUs {
			p.errf(f["maxVUs"], path+".maxVUs", "maxVUs (%d) can't be less than preAllocatedVUs (%d)", e.MaxVUs, e.PreAllocatedVUs)
		}
	}
	return e
}

func (p *parser) rampStages(parent, n *yaml.Node, path string) []RampStage {
	if n == nil {
		p.errf(parent, path, "missing: at least one stage, e.g. [{duration: 30s, target: 10}]")
		return nil
	}
	items, ok := p.sequence(n, path)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.errf(n, path, "empty: at least one stage has to be specified")
	}
	var out []RampStage
	for i, it := range items {
		sp := index(path, i)
		f, _, ok := p.fields(it, sp, "rampStage")
		if !ok {
			continue
		}
		var st RampStage
		if v := f["duration"]; v == nil {
			p.errf(it, sp+".duration", "missing: stage %d doesn't have a duration", i+1)
		} else {
			st.Duration, _ = p.duration(v, sp+".duration", 0)
		}
		if v := f["target"]; v == nil {
			p.errf(it, sp+".target", "missing: stage %d doesn't have a target", i+1)
		} else {
			st.Target, _ = p.integer(v, sp+".target", 0, maxVUs)
		}
		out = append(out, st)
	}
	return out
}

func (p *parser) thresholdsOf(n *yaml.Node) {
	pairs, _ := p.mapping(n, "thresholds")
	for _, kv := range pairs {
		path := join("thresholds", kv.key)
		items, ok := p.sequence(kv.v, path)
		if !ok {
			continue
		}
		for i, it := range items {
			ip := index(path, i)
			src, abort, delay := it, false, time.Duration(0)
			if it.Kind == yaml.MappingNode {
				f, _, _ := p.fields(it, ip, "threshold")
				if src = f["threshold"]; src == nil {
					p.errf(it, ip+".threshold", "missing: the expression, e.g. p(95)<300")
					continue
				}
				if v := f["abortOnFail"]; v != nil {
					abort, _ = p.boolean(v, ip+".abortOnFail")
				}
				if v := f["delayAbortEval"]; v != nil {
					delay, _ = p.duration(v, ip+".delayAbortEval", 0)
				}
				ip += ".threshold"
			}
			s, ok := p.str(src, ip)
			if !ok {
				continue
			}
			t, err := stats.ParseThreshold(kv.key, s)
			if err != nil {
				p.errf(src, ip, "%v", err)
				continue
			}
			typ, known := metricTypes[t.Selector.Metric]
			if !known {
				p.errf(kv.k, path, "%q is not a metric a flow scenario records; it records k6's built-in metrics: %s",
					t.Selector.Metric, strings.Join(slices.Sorted(maps.Keys(metricTypes)), ", "))
				break
			}
			if err := t.CheckType(typ); err != nil {
				p.errf(src, ip, "%v", err)
				continue
			}
			t.AbortOnFail, t.DelayAbortEval = abort, delay
			p.s.Thresholds = append(p.s.Thresholds, t)
		}
	}
	slices.SortStableFunc(p.s.Thresholds, func(a, b *stats.Threshold) int {
		return strings.Compare(a.Selector.Key(), b.Selector.Key())
	})
}
