package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadBundle loads an arbitrary entry script that sits next to a module, a data file and a
// subdirectory. Whatever the source, the loader must not panic, its errors must be the documented
// ones or a file's own, and a bundle it returns must be valid, within the limits, hold the entry, and
// write out (inside the target directory) and read back to the same files. Every reference the
// scanner reports must point inside the source, at the literal it names.
func FuzzLoadBundle(f *testing.F) {
	for _, s := range []string{
		"import http from 'k6/http';\nimport { a } from './lib.js';\nexport default function () { a(); }\n",
		"const d = open('./data.txt');\nconst e = open(import.meta.resolve('./sub/x.js'));\n",
		"import('./lib.js'); require(\"./lib.js\"); export * from './sub/x.js';\n",
		"// import './missing.js'\n/* open('./nope') */ const t = `./lib.js`;\n",
		"import x from '/etc/passwd'; import y from 'file:///tmp/../etc/hosts';\n",
		"open('../../../../outside'); import '../up.js';\n",
		"import './' ; import '.'; open(''); open('sub');\n",
		"import \"./lib.js\u2028\"; open('\\x2e/data.txt'); open('./data.txt\\\n');\n",
		"import a from './lib.js'\nimport b from './lib.js?x'\nimport c from 'https://example.com/x.js'\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, r := range findRefs(src) {
			if r.start < 0 || r.end > len(src) || r.start >= r.end || r.line < 1 {
				t.Fatalf("ref %+v outside the %d-byte source", r, len(src))
			}
		}
		dir := t.TempDir()
		files := map[string]string{
			"main.js": string(src), "lib.js": "export function a() {}\n", "data.txt": "data",
			"sub/x.js": "export default 1;\n",
		}
		for name, data := range files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		lim := Limits{Files: 4, Bytes: 64 << 10}
		b, err := LoadBundleLimits(filepath.Join(dir, "main.js"), lim)
		if err != nil {
			msg := err.Error()
			if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrTooLarge) && !strings.Contains(msg, "is a directory") &&
				!strings.Contains(msg, "permission denied") && !strings.Contains(msg, "not a directory") &&
				!strings.Contains(msg, "invalid argument") && !strings.Contains(msg, "file name too long") {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if err := b.Validate(); err != nil {
			t.Fatalf("the loaded bundle is invalid: %v", err)
		}
		var total int64
		for _, data := range b.Files {
			total += int64(len(data))
		}
		if len(b.Files) > lim.Files || total > lim.Bytes {
			t.Fatalf("%d files, %d bytes: over %+v", len(b.Files), total, lim)
		}
		out := t.TempDir()
		entry, err := b.Write(out)
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
		if rel, err := filepath.Rel(out, entry); err != nil || !filepath.IsLocal(rel) {
			t.Fatalf("entry %s written outside %s", entry, out)
		}
		for name, data := range b.Files {
			got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
			if err != nil || string(got) != string(data) {
				t.Fatalf("%s reads back as %q (%v), want %q", name, got, err, data)
			}
		}
	})
}

// FuzzBundleValidate checks Validate on arbitrary paths: it never panics, and a bundle it accepts
// writes only inside the target directory.
func FuzzBundleValidate(f *testing.F) {
	for _, p := range [][2]string{
		{"main.js", "lib/a.js"}, {"a/../main.js", "main.js"}, {"/abs.js", "x"}, {"../up.js", "main.js"},
		{"main.js", "a/./b/../c"}, {"", ""}, {"main.js", "a\x00b"}, {".", "main.js"}, {"main.js", "sub/"},
		{"main.js", `a\..\..\b`}, {"main.js", "main.js/"},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, entry, other string) {
		b := &Bundle{Entry: entry, Files: map[string][]byte{entry: []byte("e"), other: []byte("o")}}
		if err := b.Validate(); err != nil {
			return
		}
		out := filepath.Join(t.TempDir(), "out")
		written, err := b.Write(out)
		if err != nil {
			return // e.g. "a" and "a/b" cannot both be files; nothing may have left out
		}
		if rel, err := filepath.Rel(out, written); err != nil || !filepath.IsLocal(rel) {
			t.Fatalf("entry %q written at %s, outside %s", entry, written, out)
		}
		parent := filepath.Dir(out)
		ents, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 1 || ents[0].Name() != "out" {
			t.Fatalf("Write created files next to the target directory: %v", ents)
		}
	})
}
