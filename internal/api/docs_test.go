package api

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// docSection says which published types a section of a doc describes: every JSON field of those
// types must be named in the section, in a code span, a field table or a JSON example. root is the
// type of the section's JSON examples and field tables (nil: it has none); their keys and first
// column must be fields of it.
type docSection struct {
	doc, heading string
	root         any
	types        []any
}

var docSections = []docSection{
	{"api.md", "# The master's HTTP API", ErrorResponse{}, []any{ErrorResponse{}}},
	{"api.md", "### `POST /api/v1/runs`", StartRequest{}, []any{StartRequest{}}},
	{"api.md", "### `GET /api/v1/runs/current`", RunView{}, []any{RunView{}, UserClass{}, Shape{}, Stage{}}},
	{"api.md", "### `PATCH /api/v1/runs/current`", UpdateRequest{}, []any{UpdateRequest{}}},
	{"api.md", "### `GET /api/v1/stats`", StatsResponse{}, []any{StatsResponse{}, StatsView{}, Row{}, Stat{}, Distribution{}, Error{}, Check{}}},
	{"api.md", "### `GET /api/v1/workers`", WorkersResponse{}, []any{WorkersResponse{}, WorkerInfo{}}},
	{"api.md", "### `GET /api/v1/config`", Defaults{}, []any{Defaults{}}},
	{"api.md", "## The live feed", Frame{}, []any{Frame{}, Point{}, LogEntry{}, FleetStatus{}}},
	{"summary-json.md", "# The JSON summary", Summary{}, []any{Summary{}, Outcome{}, ThresholdResult{}, Stat{},
		Distribution{}, Error{}, Check{}, Metric{}, WorkerResult{}, Point{}, UserClass{}, Shape{}, Stage{}}},
}

// TestDocsDescribeEveryField checks docs/api.md and docs/summary-json.md against the types: every
// field is named where its type is documented, and every field a JSON example or a field table of
// the docs names exists.
func TestDocsDescribeEveryField(t *testing.T) {
	t.Parallel()
	documented := map[reflect.Type]bool{}
	for _, sec := range docSections {
		text := section(t, sec.doc, sec.heading)
		names := namedIn(text)
		for _, v := range sec.types {
			typ := reflect.TypeOf(v)
			documented[typ] = true
			for _, f := range jsonFields(typ) {
				if !names[f.name] {
					t.Errorf("docs/%s, %q: %s.%s (%q) is not described", sec.doc, sec.heading, typ.Name(), f.goName, f.name)
				}
			}
		}
		root := reflect.TypeOf(sec.root)
		for _, ex := range jsonExamples(text) {
			var v any
			if err := json.Unmarshal([]byte(ex), &v); err != nil {
				t.Errorf("docs/%s, %q: an example is not JSON (%v):\n%s", sec.doc, sec.heading, err, ex)
				continue
			}
			for _, path := range unknownKeys(v, root, root.Name()) {
				t.Errorf("docs/%s, %q: an example has %s, which %s does not have", sec.doc, sec.heading, path, root.Name())
			}
		}
		for _, path := range tableFields(text) {
			if !hasPath(root, path) {
				t.Errorf("docs/%s, %q: the field table names %q, which %s does not have", sec.doc, sec.heading, path, root.Name())
			}
		}
	}
	for _, g := range goldens { // every published type is some section's
		for _, typ := range structTypes(reflect.TypeOf(g.v), map[reflect.Type]bool{}) {
			if !documented[typ] {
				t.Errorf("%s (in %s) is documented in no section of docSections", typ.Name(), g.name)
			}
		}
	}
}

// section is the text under heading (a line starting with it) up to the next heading.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/" + doc)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in, fence := false, false
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "```") {
			fence = !fence
		}
		if !fence && strings.HasPrefix(line, "#") {
			if in {
				return strings.Join(out, "")
			}
			in = strings.HasPrefix(line, heading)
		}
		if in {
			out = append(out, line)
		}
	}
	if !in {
		t.Fatalf("docs/%s has no heading %q", doc, heading)
	}
	return strings.Join(out, "")
}

var (
	codeSpan   = regexp.MustCompile("`([^`]+)`")
	fenced     = regexp.MustCompile("(?s)```.*?```")
	fieldPath  = regexp.MustCompile(`^[a-z][a-z0-9_]*((\[\]|\{\})?\.[a-z][a-z0-9_]*)*(\[\]|\{\})?$`)
	quotedName = regexp.MustCompile(`"([a-z][a-z0-9_]*)"`)
)

// namedIn is every field name the text names: in code spans (`run.stats_reset` names both), as
// quoted names in code spans (`{"script", "users"}`), and as keys of its JSON examples.
func namedIn(text string) map[string]bool {
	names := map[string]bool{}
	for _, m := range codeSpan.FindAllStringSubmatch(fenced.ReplaceAllString(text, ""), -1) {
		span := strings.Join(strings.Fields(m[1]), " ")
		if fieldPath.MatchString(span) {
			for _, part := range strings.Split(span, ".") {
				names[strings.TrimRight(part, "[]{}")] = true
			}
		}
		for _, q := range quotedName.FindAllStringSubmatch(span, -1) {
			names[q[1]] = true
		}
	}
	for _, ex := range jsonExamples(text) {
		var v any
		if json.Unmarshal([]byte(ex), &v) == nil {
			keys(v, names)
		}
	}
	return names
}

func keys(v any, into map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			into[k] = true
			keys(e, into)
		}
	case []any:
		for _, e := range v {
			keys(e, into)
		}
	}
}

// jsonExamples are the text's ```json blocks and its code spans that are JSON objects.
func jsonExamples(text string) []string {
	var out []string
	for _, block := range strings.Split(text, "```json\n")[1:] {
		out = append(out, block[:strings.Index(block, "```")])
	}
	for _, m := range codeSpan.FindAllStringSubmatch(fenced.ReplaceAllString(text, ""), -1) {
		if strings.HasPrefix(m[1], "{\"") && json.Valid([]byte(m[1])) {
			out = append(out, m[1])
		}
	}
	return out
}

// tableFields are the field paths in the first column of the text's field tables (a header
// "| field | ..."), e.g. "outcome.ok" and "thresholds[]".
func tableFields(text string) []string {
	var out []string
	in := false
	for line := range strings.Lines(text) {
		cells := strings.Split(strings.TrimSpace(line), "|")
		switch {
		case len(cells) < 3:
			in = false
		case strings.TrimSpace(cells[1]) == "field":
			in = true
		case in:
			for _, m := range codeSpan.FindAllStringSubmatch(cells[1], -1) {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// unknownKeys walks an example alongside typ and lists the object keys that are not fields;
// a key "..." stands for the rest of the object and is skipped.
func unknownKeys(v any, typ reflect.Type, path string) []string {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
		typ = typ.Elem()
		if arr, ok := v.([]any); ok {
			var out []string
			for _, e := range arr {
				out = append(out, unknownKeys(e, typ, path+"[]")...)
			}
			return out
		}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	var out []string
	for k, e := range obj {
		switch {
		case typ.Kind() == reflect.Map:
			out = append(out, unknownKeys(e, typ.Elem(), path+"{}")...)
		case typ.Kind() != reflect.Struct || k == "...":
		default:
			f, ok := field(typ, k)
			if !ok {
				out = append(out, path+"."+k)
				continue
			}
			out = append(out, unknownKeys(e, f.typ, path+"."+k)...)
		}
	}
	return out
}

// hasPath says whether a documented path ("outcome.ok", "metrics{}", "thresholds[]") is in typ.
func hasPath(typ reflect.Type, path string) bool {
	for _, part := range strings.Split(path, ".") {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct {
			return false
		}
		f, ok := field(typ, strings.TrimSuffix(strings.TrimSuffix(part, "[]"), "{}"))
		if !ok {
			return false
		}
		typ = f.typ
	}
	return true
}

type jsonField struct {
	name, goName string
	typ          reflect.Type
}

func field(typ reflect.Type, name string) (jsonField, bool) {
	for _, f := range jsonFields(typ) {
		if f.name == name {
			return f, true
		}
	}
	return jsonField{}, false
}

// jsonFields are a struct's fields as encoding/json names them, embedded structs' fields included.
func jsonFields(typ reflect.Type) []jsonField {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	var out []jsonField
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name != "-" && f.IsExported() {
			out = append(out, jsonField{name, f.Name, f.Type})
		}
	}
	return out
}

// structTypes lists the published struct types under typ (time.Time is the standard library's).
func structTypes(typ reflect.Type, seen map[reflect.Type]bool) []reflect.Type {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct || typ.PkgPath() != reflect.TypeFor[Frame]().PkgPath() || seen[typ] {
		return nil
	}
	seen[typ] = true
	out := []reflect.Type{typ}
	for i := range typ.NumField() {
		out = append(out, structTypes(typ.Field(i).Type, seen)...)
	}
	return out
}
