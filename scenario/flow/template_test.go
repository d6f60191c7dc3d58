package flow

import (
	"strconv"
	"strings"
	"testing"
)

func TestTemplate(t *testing.T) {
	t.Parallel()
	value := func(r *Ref) string {
		switch r.Kind {
		case RefEnv:
			return "env:" + r.Name + "|" + r.Default
		case RefRandomInt:
			return "rand:" + strconv.FormatInt(r.Min, 10) + ".." + strconv.FormatInt(r.Max, 10)
		}
		return "<" + r.Name + "." + r.Field + ">"
	}
	tests := []struct {
		src, want, err string
		literal        bool
	}{
		{src: "", want: "", literal: true},
		{src: "/plain?a=1&b=$2", want: "/plain?a=1&b=$2", literal: true},
		{src: "$${not} a ref", want: "${not} a ref", literal: true},
		{src: "${__ENV.HOST}", want: "env:HOST|"},
		{src: "${HOST:-http://x:1/}/p", want: "env:HOST|http://x:1//p"},
		{src: "${__ENV.HOST:-}", want: "env:HOST|"},
		{src: "a${randomInt(-5, 10)}b", want: "arand:-5..10b"},
		{src: "${accounts.first-name}${iteration}", want: "<accounts.first-name><iteration.>"},
		{src: "${", err: "is not closed"},
		{src: "${}", err: "empty reference"},
		{src: "${1x}", err: `"1x" is not a name`},
		{src: "${a.b c}", err: `"b c" is not a column name`},
		{src: "${__ENV.A-B}", err: "not an environment variable name"},
		{src: "${randomInt(1)}", err: "want randomInt(min,max)"},
		{src: "${randomInt(99999999999999999999,1)}", err: "fit 64 bits"},
	}
	for _, tt := range tests {
		tmpl, err := parseTemplate(tt.src)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseTemplate(%q): error %v, want one with %q", tt.src, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseTemplate(%q): %v", tt.src, err)
			continue
		}
		if got := tmpl.String(value); got != tt.want {
			t.Errorf("parseTemplate(%q) expands to %q, want %q", tt.src, got, tt.want)
		}
		if _, lit := tmpl.Literal(); lit != tt.literal {
			t.Errorf("parseTemplate(%q).Literal() is %v, want %v", tt.src, lit, tt.literal)
		}
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	s, err := Parse("t.yaml", []byte(head+`vars: {v: x}
data:
  d: {file: d.csv}
setup: [{get: /, capture: {s: {cookie: c}}}]
classes:
  a:
    onStart: [{get: /, capture: {u: {cookie: c}}}]
    steps:
      - get: /${v}/${d.col}/${s}/${u}/${vu}/${uuid}/${E:-1}
        capture: {c: {cookie: c}}
      - get: /${c}
`))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []RefKind
	for _, p := range s.Classes[0].Steps[0].Request.URL.Parts {
		if p.Ref != nil {
			kinds = append(kinds, p.Ref.Kind)
		}
	}
	want := []RefKind{RefVar, RefData, RefSetup, RefCapture, RefVU, RefUUID, RefEnv}
	if !slicesEqual(kinds, want) {
		t.Errorf("references resolve to %v, want %v", kinds, want)
	}
	if got := s.Classes[0].Steps[1].Request.URL.Parts[1].Ref.Kind; got != RefCapture {
		t.Errorf("${c} after its capture resolves to %v, want RefCapture", got)
	}
	if f := s.Data[0].Fields; len(f) != 1 || f[0].Field != "col" || f[0].Line != 11 {
		t.Errorf("data set fields %+v, want col first read at line 11", f)
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestJSONPath(t *testing.T) {
	t.Parallel()
	doc := map[string]any{"a": map[string]any{"b c": []any{"x", map[string]any{"d": 1.0}}}, "n": nil}
	for src, want := range map[string]any{
		"$":                doc,
		"$.a['b c'][0]":    "x",
		`$.a["b c"][1].d`:  1.0,
		"$.n":              nil,
		"$.a.missing":      "(none)",
		"$.a['b c'][2]":    "(none)",
		"$.a['b c'][0].no": "(none)",
	} {
		p, err := parseJSONPath(src)
		if err != nil {
			t.Errorf("parseJSONPath(%q): %v", src, err)
			continue
		}
		got, ok := p.Lookup(doc)
		if !ok {
			got = "(none)"
		}
		if src != "$" && got != want {
			t.Errorf("%s: %v, want %v", src, got, want)
		}
	}
	for _, bad := range []string{"a", "$.", "$[", "$[-1]", "$[01]", "$..a", "$.a[*]", "$[0:2]", "$a"} {
		if _, err := parseJSONPath(bad); err == nil {
			t.Errorf("parseJSONPath(%q) succeeds, want an error", bad)
		}
	}
}

func TestValueJSON(t *testing.T) {
	t.Parallel()
	s, err := Parse("t.yaml", []byte(head+`classes:
  a:
    steps:
      - post: /
        json: {z: 1, a: [true, null, 2.5, 0x10, "${vu}"], s: 'quote " and \'}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := string(s.Classes[0].Steps[0].Request.JSON.AppendJSON(nil, func(*Ref) string { return "7" }))
	if want := `{"z":1,"a":[true,null,2.5,16,"7"],"s":"quote \" and \\"}`; got != want {
		t.Errorf("json body %s, want %s", got, want)
	}
}
