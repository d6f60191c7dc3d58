package flow

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/textproto"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/net/http/httpguts"

	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// keySets are the keys each kind of mapping takes, named as the JSON Schema's $defs are (a test
// holds the two together). A key not in its set is an error that lists the set.
var keySets = map[string][]string{
	"scenario": {"kind", "baseUrl", "headers", "vars", "data", "think", "timeout", "setup", "teardown",
		"classes", "shape", "scenarios", "thresholds"},
	"dataSet":   {"file", "each"},
	"think":     {"constant", "uniform", "pacing", "exponential"},
	"class":     {"weight", "tags", "headers", "think", "onStart", "steps", "tasks"},
	"task":      {"weight", "steps"},
	"request":   {"get", "post", "put", "patch", "delete", "head", "options", "name", "headers", "query", "body", "json", "form", "timeout", "capture", "check"},
	"group":     {"group", "steps"},
	"thinkStep": {"think"},
	"capture":   {"json", "regex", "header", "cookie", "from"},
	"check":     {"status", "duration", "body", "json"},
	"bodyCheck": {"contains", "notContains", "matches"},
	"stage":     {"duration", "users", "spawnRate"},
	"rampStage": {"duration", "target"},
	"threshold": {"threshold", "abortOnFail", "delayAbortEval"},

	"constant-vus":          {"executor", "class", "startTime", "gracefulStop", "tags", "vus", "duration"},
	"ramping-vus":           {"executor", "class", "startTime", "gracefulStop", "tags", "startVUs", "stages", "gracefulRampDown"},
	"per-vu-iterations":     {"executor", "class", "startTime", "gracefulStop", "tags", "vus", "iterations", "maxDuration"},
	"shared-iterations":     {"executor", "class", "startTime", "gracefulStop", "tags", "vus", "iterations", "maxDuration"},
	"constant-arrival-rate": {"executor", "class", "startTime", "gracefulStop", "tags", "rate", "timeUnit", "duration", "preAllocatedVUs", "maxVUs"},
	"ramping-arrival-rate":  {"executor", "class", "startTime", "gracefulStop", "tags", "startRate", "timeUnit", "stages", "preAllocatedVUs", "maxVUs"},
}

const (
	maxJSONDepth = 32          // nesting of a json body
	maxVUs       = 100_000_000 // k6's maxConcurrentVUs
	minDuration  = time.Second // k6's least duration and maxDuration
)

var (
	classNameRe = regexp.MustCompile(`^[0-9A-Za-z_-]+$`) // k6's rule for scenario names, also for classes
	yamlLineRe  = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// Parse reads a flow scenario; name is the file's name as errors should show it. Every problem
// found is reported, as *Error values joined with errors.Join, sorted by line (at most
// MaxErrors, then a count of the rest).
func Parse(name string, src []byte) (*Scenario, error) {
	if len(src) > MaxFileBytes {
		return nil, &Error{File: name, Line: 1, Msg: fmt.Sprintf("the file is %d bytes, over the limit of %d (MaxFileBytes); put data in data files", len(src), MaxFileBytes)}
	}
	root, err := decodeYAML(name, src)
	if err != nil {
		return nil, err
	}
	p := &parser{file: name, s: &Scenario{File: name, Timeout: DefaultTimeout}, vars: map[string]bool{},
		data: map[string]*DataSet{}, env: map[string]bool{}, setupCaps: map[string]bool{}}
	p.scenario(root)
	if len(p.errs) > 0 {
		return nil, p.joined()
	}
	for e := range p.env {
		p.s.RequiredEnv = append(p.s.RequiredEnv, e)
	}
	slices.Sort(p.s.RequiredEnv)
	return p.s, nil
}

// decodeYAML returns the document's root node. The YAML library is third-party code fed
// untrusted text, so a panic in it becomes an error rather than the master's crash.
func decodeYAML(name string, src []byte) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, &Error{File: name, Line: 1, Msg: fmt.Sprintf("YAML: the parser failed: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Line: 1, Msg: "empty file: want kind: " + Kind + " first"}
		}
		return nil, yamlError(name, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(name, err)
		}
		return nil, &Error{File: name, Line: next.Line, Col: next.Column, Msg: "a second YAML document: a scenario is one document"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &Error{File: name, Line: 1, Msg: "empty file: want kind: " + Kind + " first"}
	}
	return doc.Content[0], nil
}

func yamlError(name string, err error) error {
	msg := err.Error()
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: name, Line: line, Msg: "YAML: " + m[2]}
	}
	return &Error{File: name, Line: 1, Msg: "YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

type parser struct {
	file      string
	s         *Scenario
	errs      []*Error
	nsteps    int
	vars      map[string]bool
	data      map[string]*DataSet
	env       map[string]bool // read without a default
	setupCaps map[string]bool
	classes   map[string]bool
}

func (p *parser) errf(n *yaml.Node, path, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: n.Line, Col: n.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) joined() error {
	slices.SortStableFunc(p.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	var errs []error
	for i, e := range p.errs {
		if i == MaxErrors {
			errs = append(errs, fmt.Errorf("%w: %d more errors", ErrInvalid, len(p.errs)-MaxErrors))
			break
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// pair is one key and its value in a mapping.
type pair struct {
	key  string
	k, v *yaml.Node
}

// describe names a node's type for "want X, not Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!null":
		return "nothing"
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	case "!!bool":
		return "the boolean " + n.Value
	}
	return n.Value
}

// join appends key to path: .key, or ["key"] when the key is not a plain name.
func join(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// mapping returns n's pairs, reporting a node that is not a mapping, keys that are not strings,
// duplicate keys and aliases (refused: they would let a small file expand into a huge one).
func (p *parser) mapping(n *yaml.Node, path string) ([]pair, bool) {
	if n.Kind == yaml.AliasNode {
		p.errf(n, path, "YAML aliases (*name) are not supported: write the value out")
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		p.errf(n, path, "want a mapping (key: value), not %s", describe(n))
		return nil, false
	}
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			p.errf(k, path, "keys must be plain strings (no YAML merge keys, aliases or complex keys)")
			continue
		}
		if seen[k.Value] {
			p.errf(k, join(path, k.Value), "duplicate key")
			continue
		}
		seen[k.Value] = true
		if v.Kind == yaml.AliasNode {
			p.errf(v, join(path, k.Value), "YAML aliases (*name) are not supported: write the value out")
			continue
		}
		out = append(out, pair{k.Value, k, v})
	}
	return out, true
}

// fields returns n's values by key, reporting keys not in keySets[set].
func (p *parser) fields(n *yaml.Node, path, set string) (map[string]*yaml.Node, []pair, bool) {
	pairs, ok := p.mapping(n, path)
	if !ok {
		return nil, nil, false
	}
	allowed := keySets[set]
	m := make(map[string]*yaml.Node, len(pairs))
	var kept []pair
	for _, kv := range pairs {
		if !slices.Contains(allowed, kv.key) {
			p.errf(kv.k, join(path, kv.key), "unknown key; allowed: %s", strings.Join(allowed, ", "))
			continue
		}
		m[kv.key] = kv.v
		kept = append(kept, kv)
	}
	return m, kept, true
}

func (p *parser) sequence(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	if n.Kind == yaml.AliasNode {
		p.errf(n, path, "YAML aliases (*name) are not supported: write the value out")
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		p.errf(n, path, "want a list, not %s", describe(n))
		return nil, false
	}
	return n.Content, true
}

// str reads a scalar as text: strings, and numbers or booleans as written.
func (p *parser) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		p.errf(n, path, "want a string, not %s", describe(n))
		return "", false
	}
	return n.Value, true
}

// name reads a non-empty string.
func (p *parser) name(n *yaml.Node, path string) (string, bool) {
	s, ok := p.str(n, path)
	if ok && strings.TrimSpace(s) == "" {
		p.errf(n, path, "empty: want a name")
		return "", false
	}
	return s, ok
}

func (p *parser) integer(n *yaml.Node, path string, lo, hi int64) (int64, bool) {
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil || v < lo || v > hi {
		p.errf(n, path, "want a whole number from %d to %d, not %s", lo, hi, describe(n))
		return 0, false
	}
	return v, true
}

func (p *parser) number(n *yaml.Node, path string) (float64, bool) {
	var v float64
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || tag != "!!int" && tag != "!!float" || n.Decode(&v) != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		p.errf(n, path, "want a number, 0 or more, not %s", describe(n))
		return 0, false
	}
	return v, true
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, bool) {
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		p.errf(n, path, "want true or false, not %s", describe(n))
		return false, false
	}
	return v, true
}

// duration reads a Go duration with a unit, "500ms", "30s", "1m30s", at least least.
func (p *parser) duration(n *yaml.Node, path string, least time.Duration) (time.Duration, bool) {
	d, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" && n.Value != "0" || err != nil {
		p.errf(n, path, "want a duration with a unit, such as 500ms, 30s or 1m30s, not %s", describe(n))
		return 0, false
	}
	if d < least {
		p.errf(n, path, "%s: want at least %s", n.Value, least)
		return 0, false
	}
	return d, true
}

// scope is what the templates of one place may read.
type scope struct {
	where     string // for messages: "vars", "setup", "classes.buyer.headers", ...
	envOnly   bool   // only ${__ENV.X} and ${X:-default}
	noData    bool   // data sets are per user: not in setup, teardown or the file's headers
	inSetup   bool   // captures go to setupCaps
	setupCaps bool   // setup's captures may be read (after setup)
	caps      map[string]bool
	classCaps map[string]bool // every capture name of the class, for MaxCaptures
}

func (sc *scope) fork() *scope {
	c := *sc
	c.caps = make(map[string]bool, len(sc.caps))
	for k := range sc.caps {
		c.caps[k] = true
	}
	return &c
}

// template compiles n's text and resolves its references in sc.
func (p *parser) template(n *yaml.Node, path string, sc *scope) *Template {
	s, ok := p.str(n, path)
	if !ok {
		return nil
	}
	t, err := parseTemplate(s)
	if err != nil {
		p.errf(n, path, "%v", err)
		return nil
	}
	bad := false
	for _, part := range t.Parts {
		if part.Ref != nil && !p.resolve(part.Ref, n, path, sc) {
			bad = true
		}
	}
	if bad {
		return nil
	}
	return t
}

func (p *parser) resolve(r *Ref, n *yaml.Node, path string, sc *scope) bool {
	show := "${" + r.Name + "}"
	if r.Field != "" {
		show = "${" + r.Name + "." + r.Field + "}"
	}
	switch {
	case r.Kind == RefEnv:
		if !r.HasDefault {
			p.env[r.Name] = true
		}
		return true
	case sc.envOnly:
		p.errf(n, path, "%s: %s reads only the environment, ${__ENV.NAME} or ${NAME:-default}", show, sc.where)
		return false
	case r.Kind != 0:
		return true
	case p.vars[r.Name]:
		r.Kind = RefVar
	case p.data[r.Name] != nil:
		if sc.noData {
			p.errf(n, path, "%s: data sets are read per user; %s cannot read them", show, sc.where)
			return false
		}
		if r.Field == "" {
			p.errf(n, path, "%s: a data set is read a column at a time: ${%s.<column>}", show, r.Name)
			return false
		}
		d := p.data[r.Name]
		if !slices.ContainsFunc(d.Fields, func(f FieldUse) bool { return f.Field == r.Field }) {
			d.Fields = append(d.Fields, FieldUse{Field: r.Field, Line: n.Line, Col: n.Column, Path: path})
		}
		r.Kind = RefData
		return true
	case sc.caps[r.Name]:
		r.Kind = RefCapture
	case sc.inSetup && p.setupCaps[r.Name], sc.setupCaps && p.setupCaps[r.Name]:
		r.Kind = RefSetup
	default:
		p.errf(n, path, "%s is not defined here: no var, data set or setup capture has that name, and no earlier step of this flow captures it", show)
		return false
	}
	if r.Field != "" {
		p.errf(n, path, "%s: %s is a single value, it has no fields (capture the field you need with a JSON path)", show, r.Name)
		return false
	}
	return true
}

func (p *parser) scenario(root *yaml.Node) {
	f, _, ok := p.fields(root, "", "scenario")
	if !ok {
		return
	}
	if len(root.Content) == 0 || root.Content[0].Value != "kind" {
		p.errf(root, "", "the first key must be kind: %s (it tells a flow scenario from a k6 script)", Kind)
	} else if k := f["kind"]; k != nil && (k.Kind != yaml.ScalarNode || k.Value != Kind) {
		p.errf(k, "kind", "%s: want %s", describe(k), Kind)
	}
	top := &scope{where: "vars", envOnly: true}
	if n := f["vars"]; n != nil {
		p.varsOf(n)
	}
	if n := f["data"]; n != nil {
		p.dataOf(n)
	}
	if n := f["baseUrl"]; n != nil {
		top.where = "baseUrl"
		if t := p.template(n, "baseUrl", top); t != nil {
			if !strings.HasPrefix(t.Source, "http://") && !strings.HasPrefix(t.Source, "https://") && t.Parts[0].Ref == nil {
				p.errf(n, "baseUrl", "%q: want an absolute http:// or https:// URL", t.Source)
			}
			p.s.BaseURL = t
		}
	}
	if n := f["headers"]; n != nil {
		p.s.Headers = p.headers(n, "headers", &scope{where: "the file's headers", noData: true})
	}
	if n := f["think"]; n != nil {
		p.s.Think = p.think(n, "think")
	}
	if n := f["timeout"]; n != nil {
		if d, ok := p.duration(n, "timeout", time.Millisecond); ok {
			p.s.Timeout = d
		}
	}
	if n := f["setup"]; n != nil {
		sc := &scope{where: "setup", noData: true, inSetup: true, caps: map[string]bool{}, classCaps: map[string]bool{}}
		p.s.Setup = p.steps(n, "setup", sc, 0)
	}
	if n := f["teardown"]; n != nil {
		sc := &scope{where: "teardown", noData: true, setupCaps: true, caps: map[string]bool{}, classCaps: map[string]bool{}}
		p.s.Teardown = p.steps(n, "teardown", sc, 0)
	}
	p.classes = map[string]bool{}
	if n := f["classes"]; n != nil {
		p.classesOf(n)
	} else {
		p.errf(root, "classes", "missing: a scenario needs at least one class of users")
	}
	if n := f["shape"]; n != nil {
		p.shapeOf(n)
	}
	if n := f["scenarios"]; n != nil {
		p.scenariosOf(n)
	}
	if n := f["thresholds"]; n != nil {
		p.thresholdsOf(n)
	}
}

// checkName reports a name that would clash with a var, data set, built-in or setup capture.
func (p *parser) newName(n *yaml.Node, path, what, name string, notSetup bool) bool {
	switch {
	case !identRe.MatchString(name):
		p.errf(n, path, "%q is not a %s name: letters, digits and _, not first a digit", name, what)
	case reserved[name]:
		p.errf(n, path, "%q is a built-in name; choose another %s name", name, what)
	case p.vars[name] && what != "var":
		p.errf(n, path, "%q is already a var; a %s needs a name of its own", name, what)
	case p.data[name] != nil && what != "data set":
		p.errf(n, path, "%q is already a data set; a %s needs a name of its own", name, what)
	case notSetup && p.setupCaps[name]:
		p.errf(n, path, "%q is captured by setup, shared and read-only; capture into another name", name)
	default:
		return true
	}
	return false
}

func (p *parser) varsOf(n *yaml.Node) {
	pairs, _ := p.mapping(n, "vars")
	sc := &scope{where: "vars", envOnly: true}
	for _, kv := range pairs {
		path := join("vars", kv.key)
		if !p.newName(kv.k, path, "var", kv.key, false) {
			continue
		}
		if t := p.template(kv.v, path, sc); t != nil {
			p.s.Vars = append(p.s.Vars, Var{Name: kv.key, Value: t})
		}
		p.vars[kv.key] = true
	}
}

func (p *parser) dataOf(n *yaml.Node) {
	pairs, _ := p.mapping(n, "data")
	if len(pairs) > MaxDataSets {
		p.errf(n, "data", "%d data sets, over the limit of %d (MaxDataSets)", len(pairs), MaxDataSets)
		return
	}
	for _, kv := range pairs {
		dp := join("data", kv.key)
		if !p.newName(kv.k, dp, "data set", kv.key, false) {
			continue
		}
		f, _, ok := p.fields(kv.v, dp, "dataSet")
		if !ok {
			continue
		}
		d := &DataSet{Name: kv.key, Each: EachUser, Line: kv.k.Line, Col: kv.k.Column, Path: dp}
		p.data[kv.key] = d // even if invalid, so uses are not reported as undefined
		if fn := f["file"]; fn == nil {
			p.errf(kv.v, dp+".file", "missing: the data file, relative to the scenario's directory")
		} else if s, ok := p.name(fn, dp+".file"); ok {
			clean := path.Clean(s)
			ext := strings.ToLower(path.Ext(clean))
			switch {
			case strings.Contains(s, `\`) || path.IsAbs(s) || clean == ".." || strings.HasPrefix(clean, "../"):
				p.errf(fn, dp+".file", "%q: want a path relative to the scenario's directory, with / and without .., so the run's bundle holds it", s)
			case ext != ".csv" && ext != ".json":
				p.errf(fn, dp+".file", "%q: want a .csv file (with a header row) or a .json file (an array of objects)", s)
			default:
				d.File = clean
			}
		}
		if e := f["each"]; e != nil {
			switch s, _ := p.str(e, dp+".each"); Each(s) {
			case EachUser, EachIteration, EachRandom:
				d.Each = Each(s)
			case "":
			default:
				p.errf(e, dp+".each", "%s: want user (a row per user), iteration (the next row each iteration) or random (a random row each iteration)", describe(e))
			}
		}
		if d.File != "" {
			p.s.Data = append(p.s.Data, d)
		}
	}
}

func (p *parser) headers(n *yaml.Node, path string, sc *scope) []Header {
	pairs, _ := p.mapping(n, path)
	var out []Header
	seen := map[string]bool{}
	for _, kv := range pairs {
		hp := join(path, kv.key)
		if !httpguts.ValidHeaderFieldName(kv.key) {
			p.errf(kv.k, hp, "%q is not a header name", kv.key)
			continue
		}
		canon := textproto.CanonicalMIMEHeaderKey(kv.key)
		if seen[canon] {
			p.errf(kv.k, hp, "header %s is set twice (names are case-insensitive)", canon)
			continue
		}
		seen[canon] = true
		if t := p.template(kv.v, hp, sc); t != nil {
			out = append(out, Header{Name: canon, Value: t})
		}
	}
	return out
}

func (p *parser) params(n *yaml.Node, path string, sc *scope) []Param {
	pairs, _ := p.mapping(n, path)
	var out []Param
	for _, kv := range pairs {
		if t := p.template(kv.v, join(path, kv.key), sc); t != nil {
			out = append(out, Param{Name: kv.key, Value: t})
		}
	}
	return out
}

// think reads a think time: a duration (constant) or a mapping with one distribution.
func (p *parser) think(n *yaml.Node, path string) *Think {
	if n.Kind == yaml.ScalarNode {
		if d, ok := p.duration(n, path, 0); ok {
			return &Think{Kind: ThinkConstant, Min: d, Max: d}
		}
		return nil
	}
	_, pairs, ok := p.fields(n, path, "think")
	if !ok {
		return nil
	}
	if len(pairs) != 1 {
		p.errf(n, path, "want exactly one of constant, uniform, pacing and exponential, e.g. {uniform: [0.5s, 1.5s]}")
		return nil
	}
	kv := pairs[0]
	kp := join(path, kv.key)
	switch ThinkKind(kv.key) {
	case ThinkUniform:
		items, ok := p.sequence(kv.v, kp)
		if !ok {
			return nil
		}
		if len(items) != 2 {
			p.errf(kv.v, kp, "want [min, max], e.g. [0.5s, 1.5s]")
			return nil
		}
		lo, ok1 := p.duration(items[0], index(kp, 0), 0)
		hi, ok2 := p.duration(items[1], index(kp, 1), 0)
		if !ok1 || !ok2 {
			return nil
		}
		if lo > hi {
			p.errf(kv.v, kp, "min %s is more than max %s", lo, hi)
			return nil
		}
		return &Think{Kind: ThinkUniform, Min: lo, Max: hi}
	case ThinkConstant:
		if d, ok := p.duration(kv.v, kp, 0); ok {
			return &Think{Kind: ThinkConstant, Min: d, Max: d}
		}
	default: // pacing, exponential
		if d, ok := p.duration(kv.v, kp, time.Millisecond); ok {
			return &Think{Kind: ThinkKind(kv.key), Min: d, Max: d}
		}
	}
	return nil
}

func (p *parser) steps(n *yaml.Node, path string, sc *scope, depth int) []*Step {
	items, ok := p.sequence(n, path)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.errf(n, path, "empty: want at least one step")
	}
	var out []*Step
	for i, it := range items {
		if st := p.step(it, index(path, i), sc, depth); st != nil {
			out = append(out, st)
		}
	}
	return out
}

func (p *parser) step(n *yaml.Node, path string, sc *scope, depth int) *Step {
	p.nsteps++
	if p.nsteps == MaxSteps+1 {
		p.errf(n, path, "more than %d steps in the file (MaxSteps)", MaxSteps)
	}
	if n.Kind != yaml.MappingNode {
		p.mapping(n, path) // reports it
		return nil
	}
	// The keys say which kind of step this is; fields then reports what else is wrong, once.
	st := &Step{Line: n.Line, Col: n.Column, Path: path}
	var methods []string
	has := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if !has[k] {
			if _, ok := Methods[k]; ok {
				methods = append(methods, k)
			}
		}
		has[k] = true
	}
	switch {
	case len(methods) > 1:
		p.errf(n, path, "one request per step: this one has %s", strings.Join(methods, " and "))
	case len(methods) == 1:
		st.Request = p.request(n, path, methods[0], sc)
	case has["group"]:
		f, _, _ := p.fields(n, path, "group")
		if f["group"] == nil {
			return nil // an alias, reported
		}
		name, ok := p.name(f["group"], path+".group")
		if ok && strings.Contains(name, "::") {
			p.errf(f["group"], path+".group", "%q: k6 group names may not contain ::", name)
		}
		st.Group = name
		if depth+1 > MaxDepth {
			p.errf(n, path, "groups nested more than %d deep (MaxDepth)", MaxDepth)
			return nil
		}
		if s := f["steps"]; s == nil {
			p.errf(n, path+".steps", "missing: a group needs steps")
		} else {
			st.Steps = p.steps(s, path+".steps", sc, depth+1)
		}
	case has["think"]:
		f, _, _ := p.fields(n, path, "thinkStep")
		if f["think"] == nil {
			return nil // an alias, reported
		}
		st.Think = p.think(f["think"], path+".think")
	default:
		p.errf(n, path, "a step is a request (a key get, post, put, patch, delete, head or options), a group (group: name, steps: [...]) or a pause (think: 1s)")
		return nil
	}
	return st
}

func (p *parser) request(n *yaml.Node, path, method string, sc *scope) *Request {
	f, pairs, _ := p.fields(n, path, "request")
	if f[method] == nil {
		return nil // an alias, reported
	}
	r := &Request{Method: Methods[method]}
	up := path + "." + method
	if r.URL = p.template(f[method], up, sc); r.URL != nil {
		src := r.URL.Source
		switch {
		case strings.HasPrefix(src, "http://"), strings.HasPrefix(src, "https://"), len(r.URL.Parts) > 0 && r.URL.Parts[0].Ref != nil:
		case strings.HasPrefix(src, "/"):
			if p.s.BaseURL == nil {
				p.errf(f[method], up, "%q is a path, but the file has no baseUrl: set baseUrl or write an absolute URL", src)
			}
		default:
			p.errf(f[method], up, "%q: want a path starting with / (joined to baseUrl) or an absolute http:// or https:// URL", src)
		}
		r.Name, _, _ = strings.Cut(src, "?")
	}
	if v := f["name"]; v != nil {
		if s, ok := p.name(v, path+".name"); ok {
			r.Name = s
		}
	}
	if strings.Contains(r.Name, "::") {
		p.errf(n, path+".name", "%q: names may not contain :: (k6 check names are built from them)", r.Name)
	}
	if v := f["headers"]; v != nil {
		r.Headers = p.headers(v, path+".headers", sc)
	}
	if v := f["query"]; v != nil {
		r.Query = p.params(v, path+".query", sc)
	}
	var body []string
	for _, kv := range pairs {
		if kv.key != "body" && kv.key != "json" && kv.key != "form" {
			continue
		}
		body = append(body, kv.key)
		if len(body) > 1 {
			p.errf(kv.k, join(path, kv.key), "body, json and form are exclusive: this request already has %s", body[0])
			continue
		}
		switch kv.key {
		case "body":
			r.Body = p.template(kv.v, path+".body", sc)
		case "json":
			r.JSON = p.value(kv.v, path+".json", sc, 0)
		case "form":
			r.Form = p.params(kv.v, path+".form", sc)
		}
	}
	if v := f["timeout"]; v != nil {
		r.Timeout, _ = p.duration(v, path+".timeout", time.Millisecond)
	}
	if v := f["check"]; v != nil {
		r.Checks = p.checks(v, path+".check", r.Name)
	}
	// Last: a request's templates cannot read what it captures itself.
	if v := f["capture"]; v != nil {
		r.Captures = p.captures(v, path+".capture", sc)
	}
	return r
}

// value reads a json body: strings are templates, other scalars kept as JSON.
func (p *parser) value(n *yaml.Node, path string, sc *scope, depth int) *Value {
	if depth > maxJSONDepth {
		p.errf(n, path, "json nested more than %d deep", maxJSONDepth)
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		pairs, _ := p.mapping(n, path)
		v := &Value{Kind: Object}
		for _, kv := range pairs {
			if fv := p.value(kv.v, join(path, kv.key), sc, depth+1); fv != nil {
				v.Fields = append(v.Fields, Field{Key: kv.key, Value: fv})
			}
		}
		return v
	case yaml.SequenceNode:
		v := &Value{Kind: Array}
		for i, it := range n.Content {
			if iv := p.value(it, index(path, i), sc, depth+1); iv != nil {
				v.Items = append(v.Items, iv)
			}
		}
		return v
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return &Value{Kind: Null}
		case "!!bool":
			b, _ := p.boolean(n, path)
			return &Value{Kind: Bool, Bool: b}
		case "!!int", "!!float":
			var x any
			if err := n.Decode(&x); err == nil {
				if f, ok := x.(float64); !ok || !math.IsInf(f, 0) && !math.IsNaN(f) {
					num := fmt.Sprint(x)
					if f, ok := x.(float64); ok {
						num = strconv.FormatFloat(f, 'g', -1, 64)
					}
					return &Value{Kind: Number, Number: num}
				}
			}
			p.errf(n, path, "%s is not a JSON number", n.Value)
			return nil
		}
		if t := p.template(n, path, sc); t != nil {
			return &Value{Kind: String, String: t}
		}
		return nil
	}
	p.errf(n, path, "YAML aliases (*name) are not supported: write the value out")
	return nil
}

func (p *parser) captures(n *yaml.Node, path string, sc *scope) []*Capture {
	pairs, _ := p.mapping(n, path)
	var out []*Capture
	for _, kv := range pairs {
		cp := join(path, kv.key)
		if !p.newName(kv.k, cp, "capture", kv.key, !sc.inSetup) {
			continue
		}
		f, cpairs, ok := p.fields(kv.v, cp, "capture")
		if !ok {
			continue
		}
		c := &Capture{Name: kv.key}
		var sources []string
		for _, x := range cpairs {
			if x.key != "from" {
				sources = append(sources, x.key)
			}
		}
		if len(sources) != 1 {
			p.errf(kv.v, cp, "want exactly one of json, regex, header and cookie, not %d", len(sources))
			continue
		}
		src := f[sources[0]]
		sp := cp + "." + sources[0]
		c.Source = Source(sources[0])
		if from := f["from"]; from != nil {
			s, _ := p.str(from, cp+".from")
			switch {
			case c.Source != FromRegex:
				p.errf(from, cp+".from", "from applies to regex captures only")
			case s != "body" && s != "headers":
				p.errf(from, cp+".from", "%s: want body or headers", describe(from))
			default:
				c.In = s
			}
		} else if c.Source == FromRegex {
			c.In = "body"
		}
		s, ok := p.name(src, sp)
		if !ok {
			continue
		}
		switch c.Source {
		case FromJSON:
			jp, err := parseJSONPath(s)
			if err != nil {
				p.errf(src, sp, "%v", err)
				continue
			}
			c.Path = jp
		case FromRegex:
			re, err := regexp.Compile(s)
			if err != nil {
				p.errf(src, sp, "%v", err)
				continue
			}
			if re.NumSubexp() != 1 {
				p.errf(src, sp, "%q has %d groups: want exactly one, (...), around the value to capture", s, re.NumSubexp())
				continue
			}
			c.Regexp = re
		case FromHeader:
			if !httpguts.ValidHeaderFieldName(s) {
				p.errf(src, sp, "%q is not a header name", s)
				continue
			}
			c.Header = textproto.CanonicalMIMEHeaderKey(s)
		case FromCookie:
			c.Cookie = s
		}
		out = append(out, c)
		if sc.inSetup {
			p.setupCaps[kv.key] = true
		} else {
			sc.caps[kv.key] = true
		}
		sc.classCaps[kv.key] = true
		if len(sc.classCaps) == MaxCaptures+1 {
			p.errf(kv.k, cp, "more than %d capture names in %s (MaxCaptures)", MaxCaptures, sc.where)
		}
	}
	return out
}

var durationOps = []string{"<=", ">=", "<", ">"}

func (p *parser) checks(n *yaml.Node, path, reqName string) []*Check {
	_, pairs, _ := p.fields(n, path, "check")
	var out []*Check
	add := func(c *Check, what string) {
		c.Name = reqName + ": " + what
		out = append(out, c)
	}
	for _, kv := range pairs {
		kp := path + "." + kv.key
		switch kv.key {
		case "status":
			items := []*yaml.Node{kv.v}
			if kv.v.Kind == yaml.SequenceNode {
				items = kv.v.Content
				if len(items) == 0 {
					p.errf(kv.v, kp, "empty: want a status or a list of them")
					continue
				}
			}
			c := &Check{Kind: CheckStatus}
			var texts []string
			for i, it := range items {
				ip := kp
				if kv.v.Kind == yaml.SequenceNode {
					ip = index(kp, i)
				}
				if code, ok := p.integer(it, ip, 100, 599); ok {
					c.Statuses = append(c.Statuses, int(code))
					texts = append(texts, strconv.Itoa(int(code)))
				}
			}
			if len(texts) == 1 {
				add(c, "status is "+texts[0])
			} else if len(texts) > 1 {
				add(c, "status is one of "+strings.Join(texts, ", "))
			}
		case "duration":
			s, _ := p.str(kv.v, kp)
			c := &Check{Kind: CheckDuration}
			for _, op := range durationOps {
				if rest, ok := strings.CutPrefix(s, op); ok {
					c.Op, s = op, strings.TrimSpace(rest)
					break
				}
			}
			d, err := time.ParseDuration(s)
			if c.Op == "" || err != nil || d <= 0 {
				p.errf(kv.v, kp, "%s: want an operator (<, <=, >, >=) and a duration, e.g. \"<500ms\"", describe(kv.v))
				continue
			}
			c.Duration = d
			add(c, "duration "+c.Op+" "+d.String())
		case "body":
			_, bpairs, _ := p.fields(kv.v, kp, "bodyCheck")
			for _, b := range bpairs {
				bp := kp + "." + b.key
				s, ok := p.name(b.v, bp)
				if !ok {
					continue
				}
				switch b.key {
				case "contains":
					add(&Check{Kind: CheckContains, Text: s}, "body contains "+strconv.Quote(s))
				case "notContains":
					add(&Check{Kind: CheckNotContains, Text: s}, "body does not contain "+strconv.Quote(s))
				case "matches":
					re, err := regexp.Compile(s)
					if err != nil {
						p.errf(b.v, bp, "%v", err)
						continue
					}
					add(&Check{Kind: CheckMatches, Regexp: re}, "body matches /"+s+"/")
				}
			}
		case "json":
			jpairs, _ := p.mapping(kv.v, kp)
			for _, j := range jpairs {
				jp := join(kp, j.key)
				jpath, err := parseJSONPath(j.key)
				if err != nil {
					p.errf(j.k, jp, "%v", err)
					continue
				}
				want, ok := p.jsonScalar(j.v, jp)
				if !ok {
					continue
				}
				text, _ := jsonText(want)
				add(&Check{Kind: CheckJSON, Path: jpath, Want: want}, j.key+" is "+text)
			}
		}
	}
	return out
}

// jsonScalar reads a check's expected JSON value.
func (p *parser) jsonScalar(n *yaml.Node, path string) (any, bool) {
	if n.Kind != yaml.ScalarNode {
		p.errf(n, path, "want a string, number, boolean or null to compare with, not %s", describe(n))
		return nil, false
	}
	switch n.ShortTag() {
	case "!!null":
		return nil, true
	case "!!bool":
		return p.boolean(n, path)
	case "!!int", "!!float":
		var f float64
		if n.Decode(&f) != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			p.errf(n, path, "%s is not a JSON number", n.Value)
			return nil, false
		}
		return f, true
	}
	return n.Value, true
}

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
		p.errf(n, path+".executor", "missing: one of %s", strings.Join(Executors, ", "))
		return nil
	}
	if typ.Kind != yaml.ScalarNode || !slices.Contains(Executors, typ.Value) {
		p.errf(typ, path+".executor", "%s: want one of %s", describe(typ), strings.Join(Executors, ", "))
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
			t.AbortOnFail, t.DelayAbortEval = abort, delay
			p.s.Thresholds = append(p.s.Thresholds, t)
		}
	}
	slices.SortStableFunc(p.s.Thresholds, func(a, b *stats.Threshold) int {
		return strings.Compare(a.Selector.Key(), b.Selector.Key())
	})
}

// IsFlow reports whether src is a flow scenario rather than a k6 script: whether its first line
// other than blanks, comments and a document start is kind: stampede/flow/v1.
func IsFlow(src []byte) bool {
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	for len(src) > 0 {
		var line []byte
		line, src, _ = bytes.Cut(src, []byte("\n"))
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' || t[0] == '%' || string(t) == "---" {
			continue
		}
		k, v, ok := bytes.Cut(t, []byte(":"))
		if !ok || string(k) != "kind" {
			return false
		}
		if i := bytes.Index(v, []byte(" #")); i >= 0 {
			v = v[:i]
		}
		v = bytes.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		return string(v) == Kind
	}
	return false
}

// jsonText is a check's expected value as JSON, for its name.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
