package flow

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal(Schema, &s); err != nil {
		t.Fatalf("flow.schema.json: %v", err)
	}
	return s
}

// TestSchemaKeys holds the schema and the parser together: each $defs entry with properties
// lists exactly the keys the parser takes in that place, and every property has a description.
func TestSchemaKeys(t *testing.T) {
	t.Parallel()
	s := loadSchema(t)
	defs := s["$defs"].(map[string]any)
	for name, keys := range keySets {
		def, ok := defs[name].(map[string]any)
		if !ok {
			t.Errorf("the parser's %s has no $defs entry in the schema", name)
			continue
		}
		props, _ := def["properties"].(map[string]any)
		got := slices.Sorted(maps.Keys(props))
		want := slices.Sorted(slices.Values(keys))
		if !slices.Equal(got, want) {
			t.Errorf("$defs.%s.properties %v, the parser takes %v", name, got, want)
		}
		if def["additionalProperties"] != false {
			t.Errorf("$defs.%s: want additionalProperties: false, as the parser refuses unknown keys", name)
		}
	}
	var walk func(path string, n any)
	walk = func(path string, n any) {
		switch n := n.(type) {
		case map[string]any:
			if props, ok := n["properties"].(map[string]any); ok {
				for k, p := range props {
					if d, _ := p.(map[string]any)["description"].(string); d == "" {
						t.Errorf("%s.properties.%s has no description", path, k)
					}
				}
				if _, ok := keySets[strings.TrimPrefix(path, "$defs.")]; !ok {
					t.Errorf("%s has properties, but the parser has no key set of that name", path)
				}
			}
			for k, v := range n {
				walk(path+"."+k, v)
			}
		case []any:
			for i, v := range n {
				walk(fmt.Sprintf("%s[%d]", path, i), v)
			}
		}
	}
	for name, def := range defs {
		walk("$defs."+name, def)
	}
	if s["$ref"] != "#/$defs/scenario" {
		t.Errorf("the schema's root is %v, want $ref #/$defs/scenario", s["$ref"])
	}
}

// TestSchemaExamples validates the examples, and files that must fail, with the schema.
func TestSchemaExamples(t *testing.T) {
	t.Parallel()
	s := loadSchema(t)
	files, _ := filepath.Glob("../../examples/flow/*.yaml")
	if len(files) < 3 {
		t.Fatalf("examples/flow has %d scenarios, want at least 3", len(files))
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(src, &doc); err != nil {
			t.Fatal(err)
		}
		if errs := validate(s, s, doc, ""); len(errs) > 0 {
			t.Errorf("%s does not validate:\n%s", f, strings.Join(errs, "\n"))
		}
	}
	for _, bad := range []string{
		head + "classes: {a: {steps: [{get: /, nmae: x}]}}",
		head + "classes: {a: {steps: [{get: /, post: /}]}}",
		head + "classes: {a: {steps: [{think: 1s}], tasks: []}}",
		head + "classes: {a: {steps: [{get: /, check: {status: 700}}]}}",
		head + "classes: {a: {steps: [{think: 1 second}]}}",
		head + "classes: {a: {steps: [{think: 1s}]}}\nscenarios: {s: {executor: constant-vus, class: a, duration: 1m, rate: 5}}",
		head + "classes: {a: {steps: [{think: 1s}]}}\nscenarios: {s: {executor: per-vu-iteration, class: a}}",
		"kind: stampede/flow/v2\nclasses: {a: {steps: [{think: 1s}]}}",
	} {
		var doc any
		if err := yaml.Unmarshal([]byte(bad), &doc); err != nil {
			t.Fatal(err)
		}
		if len(validate(s, s, doc, "")) == 0 {
			t.Errorf("the schema accepts\n%s", bad)
		}
		if _, err := Parse("bad.yaml", []byte(bad)); err == nil {
			t.Errorf("Parse accepts\n%s", bad)
		}
	}
}

// validate checks v against schema node n: the subset of JSON Schema flow.schema.json uses
// ($ref to $defs, type, const, enum, properties, additionalProperties, required, propertyNames,
// items, minItems, maxItems, pattern, minimum, maximum, oneOf). It returns what fails.
func validate(root, n map[string]any, v any, path string) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	if ref, ok := n["$ref"].(string); ok {
		def := root["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		errs = append(errs, validate(root, def, v, path)...)
	}
	if c, ok := n["const"]; ok && !reflect.DeepEqual(c, v) {
		fail("%v is not %v", v, c)
	}
	if e, ok := n["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return reflect.DeepEqual(x, v) }) {
		fail("%v is not one of %v", v, e)
	}
	if typ, ok := n["type"]; ok {
		types, isList := typ.([]any)
		if !isList {
			types = []any{typ}
		}
		if !slices.ContainsFunc(types, func(t any) bool { return hasType(v, t.(string)) }) {
			fail("%v (%T) is not of type %v", v, v, typ)
			return errs
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := n["properties"].(map[string]any)
		for _, r := range asList(n["required"]) {
			if _, ok := v[r.(string)]; !ok {
				fail("missing %s", r)
			}
		}
		for k, x := range v {
			if pn, ok := n["propertyNames"].(map[string]any); ok {
				errs = append(errs, validate(root, pn, k, path+"."+k)...)
			}
			if p, ok := props[k].(map[string]any); ok {
				errs = append(errs, validate(root, p, x, path+"."+k)...)
				continue
			}
			switch ap := n["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("unknown key %s", k)
				}
			case map[string]any:
				errs = append(errs, validate(root, ap, x, path+"."+k)...)
			}
		}
	case []any:
		if m, ok := n["minItems"].(float64); ok && float64(len(v)) < m {
			fail("%d items, fewer than %v", len(v), m)
		}
		if m, ok := n["maxItems"].(float64); ok && float64(len(v)) > m {
			fail("%d items, more than %v", len(v), m)
		}
		if it, ok := n["items"].(map[string]any); ok {
			for i, x := range v {
				errs = append(errs, validate(root, it, x, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case string:
		if p, ok := n["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(v) {
			fail("%q does not match %s", v, p)
		}
	}
	if f, ok := toFloat(v); ok {
		if m, ok := n["minimum"].(float64); ok && f < m {
			fail("%v is less than %v", v, m)
		}
		if m, ok := n["maximum"].(float64); ok && f > m {
			fail("%v is more than %v", v, m)
		}
	}
	if one := asList(n["oneOf"]); len(one) > 0 {
		valid := 0
		for _, sub := range one {
			if len(validate(root, sub.(map[string]any), v, path)) == 0 {
				valid++
			}
		}
		if valid != 1 {
			fail("matches %d of oneOf's %d schemas, want exactly 1", valid, len(one))
		}
	}
	return errs
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := toFloat(v)
		return ok
	case "integer":
		f, ok := toFloat(v)
		return ok && f == math.Trunc(f)
	}
	return false
}
