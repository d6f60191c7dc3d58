package flow

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// RefKind is what a template reference reads.
type RefKind int

const (
	RefEnv       RefKind = iota + 1 // the run's environment (-e), Name; Default when unset and HasDefault
	RefVar                          // a constant of vars, Name
	RefSetup                        // a value setup captured, Name: shared and read-only
	RefCapture                      // a value the user captured, Name: in onStart or earlier in the flow
	RefData                         // column Field of the user's row of data set Name
	RefIteration                    // the user's iteration number, from 0 (0 in setup and teardown)
	RefVU                           // the user's number, fleet-wide, from 1 (0 in setup and teardown)
	RefUUID                         // a random UUID (version 4), new at each use
	RefRandomInt                    // a random integer in [Min, Max], new at each use
)

// Ref is one ${...} of a template.
type Ref struct {
	Kind       RefKind
	Name       string
	Field      string
	Default    string
	HasDefault bool
	Min, Max   int64
}

// Part is a literal run of a template or a reference: exactly one of them is set.
type Part struct {
	Literal string
	Ref     *Ref
}

// Template is a string of the scenario compiled once: literal parts and references, so that
// the engine never re-parses a string per request.
type Template struct {
	Source string // as written, e.g. "/json?page=${iteration}"
	Parts  []Part
}

// Literal returns the template's text when it has no reference.
func (t *Template) Literal() (string, bool) {
	switch {
	case len(t.Parts) == 0:
		return "", true
	case len(t.Parts) == 1 && t.Parts[0].Ref == nil:
		return t.Parts[0].Literal, true
	}
	return "", false
}

// Append appends the template's expansion to dst: literals as they are, each reference as value
// returns it. value is the engine's lookup; it is called once per reference, in order.
func (t *Template) Append(dst []byte, value func(*Ref) string) []byte {
	for _, p := range t.Parts {
		if p.Ref == nil {
			dst = append(dst, p.Literal...)
		} else {
			dst = append(dst, value(p.Ref)...)
		}
	}
	return dst
}

// String expands the template with value (see Append).
func (t *Template) String(value func(*Ref) string) string {
	return string(t.Append(nil, value))
}

var (
	identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	fieldRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	randRe  = regexp.MustCompile(`^randomInt\((-?[0-9]+),\s*(-?[0-9]+)\)$`)
)

// builtins are the reserved names a template reads without declaring them.
var builtins = map[string]RefKind{"iteration": RefIteration, "vu": RefVU, "uuid": RefUUID}

// reserved are names no var, data set or capture may take.
var reserved = map[string]bool{"iteration": true, "vu": true, "uuid": true, "randomInt": true, "__ENV": true}

// parseTemplate splits s into parts. References are returned unresolved: Kind is RefEnv,
// RefIteration, RefVU, RefUUID or RefRandomInt when the syntax says so, and 0 for a name (with a
// Field after a dot) that the parser resolves against its scope. "$${" is a literal "${".
func parseTemplate(s string) (*Template, error) {
	t := &Template{Source: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.Parts = append(t.Parts, Part{Literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			lit.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			lit.WriteByte(s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%q: ${ is not closed with }; write $${ for a literal ${", s)
		}
		body := s[i+2 : i+2+end]
		r, err := parseRef(body)
		if err != nil {
			return nil, fmt.Errorf("${%s}: %w", body, err)
		}
		flush()
		t.Parts = append(t.Parts, Part{Ref: r})
		i += 2 + end + 1
	}
	flush()
	return t, nil
}

func parseRef(body string) (*Ref, error) {
	if body == "" {
		return nil, errors.New("empty reference: want ${name}, ${set.column}, ${__ENV.NAME}, ${NAME:-default} or a built-in (iteration, vu, uuid, randomInt(min,max))")
	}
	name, def, hasDef := strings.Cut(body, ":-")
	if env, ok := strings.CutPrefix(name, "__ENV."); ok || hasDef {
		if !ok {
			env = name
		}
		if !identRe.MatchString(env) {
			return nil, fmt.Errorf("%q is not an environment variable name (letters, digits and _, not first a digit)", env)
		}
		return &Ref{Kind: RefEnv, Name: env, Default: def, HasDefault: hasDef}, nil
	}
	if k, ok := builtins[body]; ok {
		return &Ref{Kind: k, Name: body}, nil
	}
	if strings.HasPrefix(body, "randomInt") {
		m := randRe.FindStringSubmatch(body)
		if m == nil {
			return nil, errors.New("want randomInt(min,max) with whole numbers, e.g. randomInt(1,100)")
		}
		lo, err1 := strconv.ParseInt(m[1], 10, 64)
		hi, err2 := strconv.ParseInt(m[2], 10, 64)
		if err1 != nil || err2 != nil || lo > hi {
			return nil, errors.New("randomInt(min,max): min and max must be whole numbers that fit 64 bits, min <= max")
		}
		return &Ref{Kind: RefRandomInt, Name: "randomInt", Min: lo, Max: hi}, nil
	}
	name, field, hasField := strings.Cut(body, ".")
	if !identRe.MatchString(name) {
		return nil, fmt.Errorf("%q is not a name: want letters, digits and _ (not first a digit), or set.column for a data set", body)
	}
	if hasField && !fieldRe.MatchString(field) {
		return nil, fmt.Errorf("%q is not a column name (letters, digits, _ and -)", field)
	}
	return &Ref{Name: name, Field: field}, nil
}

var refKindNames = [...]string{RefEnv: "env", RefVar: "var", RefSetup: "setup", RefCapture: "capture", RefData: "data",
	RefIteration: "iteration", RefVU: "vu", RefUUID: "uuid", RefRandomInt: "randomInt"}

func (k RefKind) String() string {
	if k > 0 && int(k) < len(refKindNames) {
		return refKindNames[k]
	}
	return "unresolved"
}
