package native

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/stampede-load/stampede/scenario/flow"
)

// tmpl is a flow.Template resolved against one program's slots: the environment, vars and the
// base URL become literal text at compile time, and every other reference an index. It is what
// flow.Template.Append would do with a lookup function, without the per-reference map lookup and
// without making a string of a number (${iteration}, ${vu}, ${randomInt}), so a request that
// expands one allocates nothing.
type tmpl struct {
	parts []tpart
}

type tpart struct {
	lit      string
	kind     flow.RefKind // 0: lit
	slot     int          // RefCapture, RefSetup: a slot; RefData: a data set's index
	col      int          // RefData: the column
	min, max int64        // RefRandomInt
}

// literal returns the text of a template without run-time references.
func (t *tmpl) literal() (string, bool) {
	switch {
	case len(t.parts) == 0:
		return "", true
	case len(t.parts) == 1 && t.parts[0].kind == 0:
		return t.parts[0].lit, true
	}
	return "", false
}

// scope says what a program's references resolve to.
type scope struct {
	env     map[string]string
	vars    map[string]string
	setup   map[string]int // setup's captures, by name: slots of the run's setup values
	caps    map[string]int // the program's own captures: slots of the user's values
	data    map[string]int // data sets by name: indexes of Engine.tables
	tables  []*flow.Table
	noCheck bool // compiling vars and the base URL: only the environment may be read
}

// compileTemplate resolves t in sc. Only a scenario Parse did not check could fail here.
func (sc *scope) compileTemplate(t *flow.Template) (*tmpl, error) {
	out := &tmpl{}
	addLit := func(s string) {
		if s == "" {
			return
		}
		if n := len(out.parts); n > 0 && out.parts[n-1].kind == 0 {
			out.parts[n-1].lit += s
			return
		}
		out.parts = append(out.parts, tpart{lit: s})
	}
	if t == nil {
		return out, nil
	}
	for _, p := range t.Parts {
		r := p.Ref
		if r == nil {
			addLit(p.Literal)
			continue
		}
		switch r.Kind {
		case flow.RefEnv:
			v, ok := sc.env[r.Name]
			if !ok {
				if !r.HasDefault {
					return nil, fmt.Errorf("%s: ${__ENV.%s} is not set: pass -e %s=...", t.Source, r.Name, r.Name)
				}
				v = r.Default
			}
			addLit(v)
		case flow.RefVar:
			v, ok := sc.vars[r.Name]
			if !ok {
				return nil, fmt.Errorf("%s: var %q is not defined", t.Source, r.Name)
			}
			addLit(v)
		case flow.RefSetup:
			slot, ok := sc.setup[r.Name]
			if !ok {
				return nil, fmt.Errorf("%s: %q is not captured by setup", t.Source, r.Name)
			}
			out.parts = append(out.parts, tpart{kind: r.Kind, slot: slot})
		case flow.RefCapture:
			slot, ok := sc.caps[r.Name]
			if !ok {
				return nil, fmt.Errorf("%s: %q is not captured by this flow", t.Source, r.Name)
			}
			out.parts = append(out.parts, tpart{kind: r.Kind, slot: slot})
		case flow.RefData:
			i, ok := sc.data[r.Name]
			if !ok {
				return nil, fmt.Errorf("%s: data set %q is not loaded", t.Source, r.Name)
			}
			col := sc.tables[i].Column(r.Field)
			if col < 0 {
				return nil, fmt.Errorf("%s: data set %q has no column %q", t.Source, r.Name, r.Field)
			}
			out.parts = append(out.parts, tpart{kind: r.Kind, slot: i, col: col})
		case flow.RefIteration, flow.RefVU, flow.RefUUID:
			out.parts = append(out.parts, tpart{kind: r.Kind})
		case flow.RefRandomInt:
			out.parts = append(out.parts, tpart{kind: r.Kind, min: r.Min, max: r.Max})
		default:
			return nil, fmt.Errorf("%s: ${%s} is unresolved", t.Source, r.Name)
		}
		if sc.noCheck && r.Kind != flow.RefEnv {
			return nil, fmt.Errorf("%s: only the environment may be read here", t.Source)
		}
	}
	return out, nil
}

// vals is what a template reads at run time: one user's state, or setup's or teardown's.
type vals struct {
	iter   int64
	vu     int64
	caps   []string // the program's capture slots
	setup  []string // setup's captures
	rows   []int    // per data set, the row this iteration reads
	tables []*flow.Table
	rng    *rand.Rand
}

// appendTo appends t's expansion for v to dst.
func (t *tmpl) appendTo(dst []byte, v *vals) []byte {
	for i := range t.parts {
		p := &t.parts[i]
		switch p.kind {
		case 0:
			dst = append(dst, p.lit...)
		case flow.RefCapture:
			dst = append(dst, v.caps[p.slot]...)
		case flow.RefSetup:
			if p.slot < len(v.setup) {
				dst = append(dst, v.setup[p.slot]...)
			}
		case flow.RefData:
			dst = append(dst, v.tables[p.slot].Rows[v.rows[p.slot]][p.col]...)
		case flow.RefIteration:
			dst = strconv.AppendInt(dst, v.iter, 10)
		case flow.RefVU:
			dst = strconv.AppendInt(dst, v.vu, 10)
		case flow.RefUUID:
			dst = appendUUID(dst, v.rng)
		case flow.RefRandomInt:
			// In uint64 arithmetic, so randomInt(-9223372036854775808,9223372036854775807) works.
			span := uint64(p.max) - uint64(p.min)
			var off uint64
			if span == ^uint64(0) {
				off = v.rng.Uint64()
			} else {
				off = v.rng.Uint64N(span + 1)
			}
			dst = strconv.AppendInt(dst, int64(uint64(p.min)+off), 10)
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendUUID appends a random (version 4) UUID.
func appendUUID(dst []byte, rng *rand.Rand) []byte {
	hi, lo := rng.Uint64(), rng.Uint64()
	hi = hi&^(0xf<<12) | 4<<12   // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // variant 10
	var b [16]byte
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return dst
}
