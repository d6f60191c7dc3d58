package flow

import (
	"fmt"
	"math"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/net/http/httpguts"
)

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
			if _, ok := methodOf[k]; ok {
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
	r := &Request{Method: methodOf[method], MaxRedirects: -1}
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
			r.Named = true
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
	if v := f["maxRedirects"]; v != nil {
		if n, ok := p.integer(v, path+".maxRedirects", 0, MaxRedirects); ok {
			r.MaxRedirects = int(n)
		}
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
