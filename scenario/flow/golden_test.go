package flow

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// TestGolden parses the full examples and compares what Parse made of them with golden files
// (refresh with go test ./scenario/flow -run TestGolden -update).
func TestGolden(t *testing.T) {
	for _, name := range []string{"tour", "shop"} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile("../../examples/flow/" + name + ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(name+".yaml", src)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(s); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Parse(%s.yaml) differs from %s (run with -update and review the diff)", name, golden)
			}
		})
	}
}

// TestExamples: every example is told from a script, parses, and its data files load.
func TestExamples(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../../examples/flow/*.yaml")
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !IsFlow(src) {
			t.Errorf("IsFlow(%s) is false", f)
		}
		s, err := Parse(filepath.Base(f), src)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if _, err := s.LoadData(os.DirFS(filepath.Dir(f))); err != nil {
			t.Errorf("%v", err)
		}
	}
	for _, js := range []string{"../../examples/shop.js", "../../examples/arrival-rate.js"} {
		src, err := os.ReadFile(js)
		if err != nil {
			t.Fatal(err)
		}
		if IsFlow(src) {
			t.Errorf("IsFlow(%s) is true for a k6 script", js)
		}
	}
}
