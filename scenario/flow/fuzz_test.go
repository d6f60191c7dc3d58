package flow

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, every error it returns is an Error naming the file (or the
// count of the errors left out), and a scenario it accepts has templates that compile again to
// the same parts.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../examples/flow/*.yaml")
	more, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range append(files, more...) {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, s := range []string{
		head + "classes: {a: {steps: [{get: /${x}, capture: {x: {regex: '(a)'}}}]}}",
		head + "vars: {a: &x 1, b: *x}\n",
		head + "x: &u /\nclasses: {a: {steps: [{get: *u}, {group: *u}, {think: *u}, {get: /, check: *u}]}}\n",
		head + "classes: {a: {tasks: [{weight: 0, steps: [{group: g, steps: [{think: {uniform: [1s, 2s]}}]}]}]}}",
		"kind: stampede/flow/v1\n<<: {a: 1}\n",
		"kind: stampede/flow/v1\nclasses: !!binary aGVsbG8=\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Parse("f.yaml", src)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "f.yaml:") && !strings.HasPrefix(line, "invalid flow scenario: ") {
					t.Fatalf("error line %q names no place", line)
				}
			}
			return
		}
		var walk func([]*Step)
		walk = func(steps []*Step) {
			for _, st := range steps {
				if st.Request != nil {
					again, err := parseTemplate(st.Request.URL.Source)
					if err != nil || len(again.Parts) != len(st.Request.URL.Parts) {
						t.Fatalf("%s: URL %q does not compile again the same: %v", st.Path, st.Request.URL.Source, err)
					}
				}
				walk(st.Steps)
			}
		}
		walk(s.Setup)
		for _, c := range s.Classes {
			walk(c.OnStart)
			walk(c.Steps)
			for _, tk := range c.Tasks {
				walk(tk.Steps)
			}
		}
	})
}
