package version

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		info Info
		want string
	}{
		{"everything", Info{Version: "v0.2.0", Commit: "0123abc", Date: "2026-01-02T03:04:05Z", Go: "go1.26.8", K6: "v1.8.1"},
			"x v0.2.0\n  commit: 0123abc\n  built:  2026-01-02T03:04:05Z\n  go:     go1.26.8\n  k6:     v1.8.1\n"},
		{"modified", Info{Version: "dev", Commit: "0123abc", Modified: true},
			"x dev\n  commit: 0123abc (modified)\n  built:  unknown\n  go:     unknown\n  k6:     unknown\n"},
		{"nothing", Info{},
			"x unknown\n  commit: unknown\n  built:  unknown\n  go:     unknown\n  k6:     unknown\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.info.String("x"); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestBinariesPrintVersion builds both binaries as `make build` does (so the build cache it left is
// used; only the link differs) and checks what --version prints: what the flags set, the toolchain, and the k6 that go.mod requires.
func TestBinariesPrintVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the master and the worker")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("needs the go command:", err)
	}
	t.Parallel()
	ctx := t.Context() // no time limit of its own: a cold build on a busy machine takes what it takes
	k6, err := exec.CommandContext(ctx, goTool, "list", "-m", "-f", "{{.Version}}", "go.k6.io/k6").Output()
	if err != nil {
		t.Fatalf("go list -m go.k6.io/k6: %v", err)
	}
	const pkg = "github.com/stampede-load/stampede/internal/version"
	ldflags := "-X main.version=v9.8.7 -X " + pkg + ".commit=0123456789abcdef0123456789abcdef01234567 -X " + pkg + ".date=2026-01-02T03:04:05Z"
	dir := t.TempDir()
	for _, name := range []string{"master", "worker"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			bin := filepath.Join(dir, "stampede-"+name)
			build := exec.CommandContext(ctx, goTool, "build", "-ldflags", ldflags, "-o", bin, "github.com/stampede-load/stampede/cmd/"+name)
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
			if err != nil {
				t.Fatalf("--version: %v\n%s", err, out)
			}
			for _, want := range []string{
				"stampede-" + name + " v9.8.7\n",
				"commit: 0123456789abcdef0123456789abcdef01234567",
				"built:  2026-01-02T03:04:05Z\n",
				"go:     " + runtime.Version() + "\n",
				"k6:     " + strings.TrimSpace(string(k6)) + "\n",
			} {
				if !strings.Contains(string(out), want) {
					t.Errorf("--version printed\n%s\nwithout %q", out, want)
				}
			}
			if regexp.MustCompile(`(?i)unknown`).Match(out) {
				t.Errorf("--version printed an unknown field:\n%s", out)
			}
		})
	}
}
