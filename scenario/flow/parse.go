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
)

// keySets are the keys each kind of mapping takes, named as the JSON Schema's $defs are (a test
// holds the two together). A key not in its set is an error that lists the set.
var keySets = map[string][]string{
	"scenario": {"kind", "baseUrl", "headers", "vars", "data", "think", "timeout", "maxRedirects", "tls", "http2", "shareConnections",
		"setup", "teardown", "classes", "shape", "scenarios", "thresholds"},
	"tls":       {"ca", "serverName", "insecureSkipVerify"},
	"dataSet":   {"file", "each"},
	"think":     {"constant", "uniform", "pacing", "exponential"},
	"class":     {"weight", "tags", "headers", "think", "onStart", "steps", "tasks"},
	"task":      {"weight", "steps"},
	"request":   {"get", "post", "put", "patch", "delete", "head", "options", "name", "headers", "query", "body", "json", "form", "timeout", "maxRedirects", "capture", "check"},
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
	p := &parser{file: name, s: &Scenario{File: name, Timeout: DefaultTimeout, MaxRedirects: -1}, vars: map[string]bool{},
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
	if n := f["shareConnections"]; n != nil {
		p.s.ShareConnections, _ = p.boolean(n, "shareConnections")
	}
	if n := f["maxRedirects"]; n != nil {
		if v, ok := p.integer(n, "maxRedirects", 0, MaxRedirects); ok {
			p.s.MaxRedirects = int(v)
		}
	}
	if n := f["tls"]; n != nil {
		p.tlsOf(n)
	}
	if n := f["http2"]; n != nil {
		p.s.HTTP2, _ = p.boolean(n, "http2")
		if p.s.HTTP2 && p.s.ShareConnections {
			p.errf(n, "http2", "not with shareConnections: over HTTP/2 each user keeps its own transport, so that each request's bytes on the wire are its own")
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
			clean, ok := p.relPath(fn, dp+".file", s)
			ext := strings.ToLower(path.Ext(clean))
			switch {
			case !ok:
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

// relPath checks a file name the run's bundle must hold: relative to the scenario's directory,
// with / and never outside it. It returns the name cleaned.
func (p *parser) relPath(n *yaml.Node, at, s string) (string, bool) {
	clean := path.Clean(s)
	if strings.Contains(s, `\`) || path.IsAbs(s) || clean == ".." || strings.HasPrefix(clean, "../") {
		p.errf(n, at, "%q: want a path relative to the scenario's directory, with / and without .., so the run's bundle holds it", s)
		return "", false
	}
	return clean, true
}

func (p *parser) tlsOf(n *yaml.Node) {
	f, _, ok := p.fields(n, "tls", "tls")
	if !ok {
		return
	}
	t := &TLS{Line: n.Line, Col: n.Column, Path: "tls"}
	if v := f["ca"]; v != nil {
		if s, ok := p.name(v, "tls.ca"); ok {
			t.CA, _ = p.relPath(v, "tls.ca", s)
		}
		t.Line, t.Col, t.Path = v.Line, v.Column, "tls.ca"
	}
	if v := f["serverName"]; v != nil {
		if s, ok := p.name(v, "tls.serverName"); ok {
			if strings.ContainsAny(s, " /:@") {
				p.errf(v, "tls.serverName", "%q: want a host name, without scheme, port or path", s)
			}
			t.ServerName = s
		}
	}
	if v := f["insecureSkipVerify"]; v != nil {
		t.InsecureSkipVerify, _ = p.boolean(v, "tls.insecureSkipVerify")
	}
	p.s.TLS = t
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
