package scenario

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

func TestSwarmWrapperGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		entry    string
		maxVUs   int
		duration time.Duration
	}{
		{"swarm_wrapper", "./quickstart.js", 100, time.Hour + 2*time.Minute + 3*time.Second},
		{"swarm_wrapper_unlimited", "./it's \"quoted\".js", 5000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := SwarmWrapper(tt.entry, tt.maxVUs, tt.duration)
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("SwarmWrapper differs from %s (go test -update rewrites it):\n%s", golden, got)
			}
		})
	}
}

func TestSwarmWrapperContent(t *testing.T) {
	t.Parallel()
	src := string(SwarmWrapper("./quickstart.js", 100, time.Hour+2*time.Minute+3*time.Second))
	for _, want := range []string{
		`import * as script from "./quickstart.js";`,
		`export * from "./quickstart.js";`,
		`export default script.default;`,
		`executor: "externally-controlled",`,
		`vus: 0,`,
		`maxVUs: 100,`,
		`duration: "1h2m3s",`,
		`Object.assign({}, script.options)`,
		`"scenarios", "stages", "vus", "duration", "iterations"`,
	} {
		if !strings.Contains(src, want) {
			t.Errorf("wrapper lacks %q:\n%s", want, src)
		}
	}
	if strings.Contains(src, "gracefulStop") {
		t.Error("wrapper sets gracefulStop, which externally-controlled rejects")
	}
}

func TestWithSwarmWrapper(t *testing.T) {
	t.Parallel()
	orig := &Bundle{Entry: "scripts/test.js", Files: map[string][]byte{
		"scripts/test.js": []byte("export default function () {}\n"),
		"lib/a.js":        []byte("export const a = 1;\n"),
	}}
	w := orig.WithSwarmWrapper(10, time.Minute)
	if w.Entry != "scripts/__stampede_swarm.js" {
		t.Errorf("Entry = %q, want scripts/__stampede_swarm.js", w.Entry)
	}
	if got, want := string(w.Files[w.Entry]), string(SwarmWrapper("./test.js", 10, time.Minute)); got != want {
		t.Errorf("wrapper = %s\nwant %s", got, want)
	}
	if len(w.Files) != 3 || string(w.Files["lib/a.js"]) != "export const a = 1;\n" {
		t.Errorf("wrapped files = %q", w.Files)
	}
	if orig.Entry != "scripts/test.js" || len(orig.Files) != 2 {
		t.Errorf("original bundle changed: %q %q", orig.Entry, orig.Files)
	}
	if err := w.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}

	// Wrapping again must not make the wrapper import itself.
	ww := w.WithSwarmWrapper(20, 0)
	if ww.Entry != "scripts/__stampede_swarm_1.js" {
		t.Errorf("rewrapped Entry = %q", ww.Entry)
	}
	if src := string(ww.Files[ww.Entry]); !strings.Contains(src, `from "./__stampede_swarm.js"`) {
		t.Errorf("rewrapped wrapper does not import the first one:\n%s", src)
	}

	top := (&Bundle{Entry: "main.js", Files: map[string][]byte{"main.js": nil}}).WithSwarmWrapper(1, time.Second)
	if top.Entry != "__stampede_swarm.js" {
		t.Errorf("Entry at the root = %q", top.Entry)
	}
}
