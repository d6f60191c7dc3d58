package scenario

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestFormatBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 16 << 20: "16.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestWriteRoundTrip(t *testing.T) {
	t.Parallel()
	b := &Bundle{Entry: "scripts/main.js", Files: map[string][]byte{
		"scripts/main.js": []byte("import './lib/a.js';\n"), "scripts/lib/a.js": []byte("export {};\n"), "data/users.csv": []byte("a,b\n"),
	}}
	dir := filepath.Join(t.TempDir(), "not", "yet")
	written, err := b.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.Abs(filepath.Join(dir, "scripts", "main.js"))
	if written != want {
		t.Errorf("Write = %q, want %q", written, want)
	}
	got := map[string][]byte{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b.Files) {
		t.Errorf("written files = %q, want %q", got, b.Files)
	}
}

func TestWriteRejectsUnsafePaths(t *testing.T) {
	t.Parallel()
	main := []byte("export default function () {}\n")
	tests := []struct {
		name   string
		bundle Bundle
	}{
		{"absolute", Bundle{Entry: "main.js", Files: map[string][]byte{"main.js": main, "/etc/cron.d/x": main}}},
		{"parent", Bundle{Entry: "main.js", Files: map[string][]byte{"main.js": main, "../x": main}}},
		{"escapes after cleaning", Bundle{Entry: "main.js", Files: map[string][]byte{"main.js": main, "a/../../x": main}}},
		{"entry escapes", Bundle{Entry: "../main.js", Files: map[string][]byte{"../main.js": main}}},
		{"empty", Bundle{Entry: "main.js", Files: map[string][]byte{"main.js": main, "": main}}},
		{"dot", Bundle{Entry: "main.js", Files: map[string][]byte{"main.js": main, ".": main}}},
		{"same file twice", Bundle{Entry: "main.js", Files: map[string][]byte{"main.js": main, "./main.js": main}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.bundle.Validate(); !errors.Is(err, ErrUnsafePath) {
				t.Errorf("Validate = %v, want ErrUnsafePath", err)
			}
			dir := t.TempDir()
			if _, err := tt.bundle.Write(dir); !errors.Is(err, ErrUnsafePath) {
				t.Errorf("Write = %v, want ErrUnsafePath", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("Write left %d entries in %s after refusing", len(entries), dir)
			}
		})
	}
}

func TestWriteDoesNotFollowSymlinksOut(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	dir := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	b := &Bundle{Entry: "link/main.js", Files: map[string][]byte{"link/main.js": []byte("x")}}
	if _, err := b.Write(dir); err == nil {
		t.Error("Write through a symlink leaving dir succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "main.js")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file written outside dir: stat = %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	main := []byte("export default function () {}\n")
	many := map[string][]byte{"main.js": main}
	for i := range MaxBundleFiles {
		many[fmt.Sprintf("gen/%d.js", i)] = nil
	}
	tests := []struct {
		name   string
		bundle *Bundle
		want   error
	}{
		{"ok", &Bundle{Entry: "main.js", Files: map[string][]byte{"main.js": main}}, nil},
		{"ok nested, unclean but safe", &Bundle{Entry: "a/b/main.js", Files: map[string][]byte{"a/b/main.js": main, "a/./c.js": main}}, nil},
		{"entry not in files", &Bundle{Entry: "main.js", Files: map[string][]byte{"other.js": main}}, ErrNotFound},
		{"no entry", &Bundle{Files: map[string][]byte{"main.js": main}}, ErrUnsafePath},
		{"too many files", &Bundle{Entry: "main.js", Files: many}, ErrTooLarge},
		{"too many bytes", &Bundle{Entry: "main.js", Files: map[string][]byte{
			"main.js": main, "big": make([]byte, MaxBundleBytes),
		}}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.bundle.Validate()
			if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
				t.Errorf("Validate = %v, want %v", err, tt.want)
			}
		})
	}
}
