package flow

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// JSONPath is the subset of JSONPath that captures and checks use: $ followed by keys and
// indexes, $.a.b[0].c, $['a key'] or $["a key"]. No wildcards, filters, slices or recursion:
// a path names one value or none.
type JSONPath struct {
	Source string
	Steps  []PathStep
}

// PathStep is one key or one index (from 0) of a path.
type PathStep struct {
	Key     string
	Index   int
	IsIndex bool
}

func parseJSONPath(s string) (*JSONPath, error) {
	rest, ok := strings.CutPrefix(s, "$")
	if !ok {
		return nil, fmt.Errorf("JSON path %q must start with $, e.g. $.items[0].id", s)
	}
	p := &JSONPath{Source: s}
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			n := strings.IndexAny(rest, ".[")
			if n < 0 {
				n = len(rest)
			}
			if n == 0 {
				return nil, fmt.Errorf("JSON path %q: empty key after a dot", s)
			}
			p.Steps = append(p.Steps, PathStep{Key: rest[:n]})
			rest = rest[n:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("JSON path %q: [ is not closed with ]", s)
			}
			in := rest[1:end]
			if len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0] {
				p.Steps = append(p.Steps, PathStep{Key: in[1 : len(in)-1]})
			} else {
				i, err := strconv.Atoi(in)
				if err != nil || i < 0 || in != strconv.Itoa(i) {
					return nil, fmt.Errorf("JSON path %q: [%s] is neither an index (0, 1, ...) nor a quoted key; wildcards, slices and filters are not supported", s, in)
				}
				p.Steps = append(p.Steps, PathStep{Index: i, IsIndex: true})
			}
			rest = rest[end+1:]
		default:
			return nil, fmt.Errorf("JSON path %q: want . or [ after %q", s, s[:len(s)-len(rest)])
		}
	}
	return p, nil
}

// Lookup returns the value at the path in doc, a value decoded by encoding/json (into any).
func (p *JSONPath) Lookup(doc any) (any, bool) {
	for _, st := range p.Steps {
		if st.IsIndex {
			a, ok := doc.([]any)
			if !ok || st.Index >= len(a) {
				return nil, false
			}
			doc = a[st.Index]
			continue
		}
		m, ok := doc.(map[string]any)
		if !ok {
			return nil, false
		}
		if doc, ok = m[st.Key]; !ok {
			return nil, false
		}
	}
	return doc, true
}

// ValueKind is the JSON type of a Value.
type ValueKind int

const (
	Null ValueKind = iota
	Bool
	Number
	String
	Array
	Object
)

// Value is a request's json body: a JSON document whose strings are templates. Object fields
// keep the file's order, so the body sent reads as the file does.
type Value struct {
	Kind   ValueKind
	Bool   bool
	Number string    // JSON text
	String *Template // a template expands to a JSON string, whatever it holds
	Items  []*Value
	Fields []Field
}

// Field is one key of an object Value.
type Field struct {
	Key   string
	Value *Value
}

// AppendJSON appends v encoded as JSON to dst; value expands the strings' references (see
// Template.Append).
func (v *Value) AppendJSON(dst []byte, value func(*Ref) string) []byte {
	switch v.Kind {
	case Null:
		return append(dst, "null"...)
	case Bool:
		return strconv.AppendBool(dst, v.Bool)
	case Number:
		return append(dst, v.Number...)
	case String:
		return appendJSONString(dst, v.String.String(value))
	case Array:
		dst = append(dst, '[')
		for i, it := range v.Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = it.AppendJSON(dst, value)
		}
		return append(dst, ']')
	default:
		dst = append(dst, '{')
		for i, f := range v.Fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, f.Key)
			dst = append(dst, ':')
			dst = f.Value.AppendJSON(dst, value)
		}
		return append(dst, '}')
	}
}

func appendJSONString(dst []byte, s string) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(errors.New("flow: a string does not encode: " + err.Error())) // never: strings always encode
	}
	return append(dst, b...)
}
