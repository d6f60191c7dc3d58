package scenario

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLoadBundle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		entry string
		want  string   // Bundle.Entry
		files []string // keys of Bundle.Files
		same  string   // directory whose files must be loaded byte for byte, "" for the entry's
	}{
		{
			name:  "nested imports, export from, side effect, require, dynamic import",
			entry: "testdata/bundles/nested/main.js",
			want:  "main.js",
			files: []string{
				"lib/auth.js", "lib/checks.js", "lib/helpers.js", "lib/lazy.js",
				"lib/side-effect.js", "lib/token.js", "main.js",
			},
		},
		{
			name:  "parent directory import moves the root up",
			entry: "testdata/bundles/updir/scripts/main.js",
			want:  "scripts/main.js",
			files: []string{"scripts/main.js", "shared/format.js", "shared/util.js"},
			same:  "testdata/bundles/updir",
		},
		{
			name:  "cycle",
			entry: "testdata/bundles/cycle/a.js",
			want:  "a.js",
			files: []string{"a.js", "b.js"},
		},
		{
			name:  "open relative to the calling file, binary data, import.meta.resolve",
			entry: "testdata/bundles/open/main.js",
			want:  "main.js",
			files: []string{
				"data/blob.bin", "data/extra.txt", "data/users.csv",
				"lib/config.js", "lib/config.json", "main.js",
			},
		},
		{
			name:  "comments, strings, templates, regexps and variables are not references",
			entry: "testdata/bundles/comments/main.js",
			want:  "main.js",
			files: []string{"main.js"},
		},
		{
			name:  "builtins, remote URLs and bare names left alone",
			entry: "testdata/bundles/remote/main.js",
			want:  "main.js",
			files: []string{"main.js"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := LoadBundle(tt.entry)
			if err != nil {
				t.Fatalf("LoadBundle(%q): %v", tt.entry, err)
			}
			if b.Entry != tt.want {
				t.Errorf("Entry = %q, want %q", b.Entry, tt.want)
			}
			if got := slices.Sorted(maps.Keys(b.Files)); !slices.Equal(got, tt.files) {
				t.Errorf("Files = %q, want %q", got, tt.files)
			}
			dir := tt.same
			if dir == "" {
				dir = filepath.Dir(tt.entry)
			}
			for name, got := range b.Files {
				want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != string(want) {
					t.Errorf("Files[%q] differs from the file on disk", name)
				}
			}
			if err := b.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestLoadBundleErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		entry   string
		wantIs  error
		wantMsg string
	}{
		{
			name:    "missing import names file, line and specifier",
			entry:   "testdata/bundles/missing/main.js",
			wantIs:  ErrNotFound,
			wantMsg: `testdata/bundles/missing/main.js:3: import "./lib/missing.js": file not found`,
		},
		{
			name:    "missing file opened by a nested module",
			entry:   "testdata/bundles/missingopen/main.js",
			wantIs:  ErrNotFound,
			wantMsg: `testdata/bundles/missingopen/lib/data.js:2: open "./rows.csv": file not found`,
		},
		{
			name:    "missing entry",
			entry:   "testdata/bundles/nope/main.js",
			wantIs:  ErrNotFound,
			wantMsg: `testdata/bundles/nope/main.js: file not found`,
		},
		{
			name:    "entry is a directory",
			entry:   "testdata/bundles/nested",
			wantMsg: "is a directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := LoadBundle(tt.entry)
			if err == nil {
				t.Fatalf("LoadBundle(%q) = %v, want an error", tt.entry, b)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestLoadBundleLimits(t *testing.T) {
	t.Parallel()
	const entry = "testdata/bundles/nested/main.js" // 7 files, under 2 KiB
	tests := []struct {
		name     string
		maxFiles int
		maxBytes int64
		wantErr  bool
		wantMsg  []string
	}{
		{name: "within", maxFiles: 7, maxBytes: 4096},
		{name: "too many files", maxFiles: 6, maxBytes: 4096, wantErr: true, wantMsg: []string{"more than the limit of 6 files"}},
		{name: "too many bytes", maxFiles: 7, maxBytes: 600, wantErr: true,
			wantMsg: []string{"more than the limit of 600 B (600 bytes) in all; biggest files: ", "testdata/bundles/nested/"}},
		{name: "entry alone too big", maxFiles: 7, maxBytes: 10, wantErr: true,
			wantMsg: []string{"biggest files: testdata/bundles/nested/main.js ("}},
		{name: "invalid limit", maxFiles: 0, maxBytes: 10, wantMsg: []string{"bundle file limit 0: must be 1..10000"}},
		{name: "over the ceiling", maxFiles: 7, maxBytes: MaxBundleBytes + 1, wantMsg: []string{"must be 1..104857600 (100.0 MiB)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadBundleLimits(entry, Limits{Files: tt.maxFiles, Bytes: tt.maxBytes})
			if tt.wantErr != errors.Is(err, ErrTooLarge) {
				t.Errorf("LoadBundleLimits(%d files, %d bytes) = %v, want ErrTooLarge: %v", tt.maxFiles, tt.maxBytes, err, tt.wantErr)
			}
			for _, m := range tt.wantMsg {
				if err == nil || !strings.Contains(err.Error(), m) {
					t.Errorf("error %v does not contain %q", err, m)
				}
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 16 << 20: "16.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestLoadBundleAbsolute checks that absolute imports and file:// URLs are
// bundled and rewritten to relative ones, so the bundle works elsewhere.
func TestLoadBundleAbsolute(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lib := filepath.Join(dir, "lib", "a.js")
	data := filepath.Join(dir, "data.txt")
	files := map[string]string{
		"scripts/main.js": "import { a } from '" + filepath.ToSlash(lib) + "';\n" +
			"const d = open('file://" + filepath.ToSlash(data) + "');\n" +
			"export default function () { a(d); }\n",
		"lib/a.js": "export const a = (x) => x;\n",
		"data.txt": "data\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	b, err := LoadBundle(filepath.Join(dir, "scripts", "main.js"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Bundle{Entry: "scripts/main.js", Files: map[string][]byte{
		"scripts/main.js": []byte("import { a } from \"../lib/a.js\";\n" +
			"const d = open(\"../data.txt\");\n" +
			"export default function () { a(d); }\n"),
		"lib/a.js": []byte(files["lib/a.js"]),
		"data.txt": []byte(files["data.txt"]),
	}}
	if !reflect.DeepEqual(b, want) {
		t.Fatalf("LoadBundle = %q\nwant %q", b.Files, want.Files)
	}

	// Written elsewhere, the rewritten bundle loads back the same.
	entry, err := b.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadBundle(entry)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, b) {
		t.Errorf("reloaded bundle = %q, want %q", again.Files, b.Files)
	}
}

func TestWriteRoundTrip(t *testing.T) {
	t.Parallel()
	for _, entry := range []string{
		"testdata/bundles/nested/main.js",
		"testdata/bundles/updir/scripts/main.js",
		"testdata/bundles/open/main.js",
	} {
		t.Run(entry, func(t *testing.T) {
			t.Parallel()
			b, err := LoadBundle(entry)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "not", "yet")
			written, err := b.Write(dir)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := filepath.Abs(filepath.Join(dir, filepath.FromSlash(b.Entry)))
			if written != want || !filepath.IsAbs(written) {
				t.Errorf("Write = %q, want %q", written, want)
			}
			again, err := LoadBundle(written)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, b) {
				t.Errorf("reloaded bundle = %q, want %q", again.Files, b.Files)
			}
		})
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
