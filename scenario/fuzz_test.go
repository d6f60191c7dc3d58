package scenario

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

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

// FuzzReadArchive reads arbitrary bytes as a k6 archive, as the master does with a file given as
// -f run.tar: it never panics, its errors are the documented ones, and an archive it accepts
// rewrites (SwarmArchive) into one it reads back with the same files.
func FuzzReadArchive(f *testing.F) {
	f.Add(testArchive(f, nil))
	f.Add(testArchive(f, map[string]string{"file/home/u/lib.js": "export const a = 1;\n", "https/example.com/x.js": "1"}))
	f.Add([]byte("not a tar"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ReadArchive(data)
		if err != nil {
			if !errors.Is(err, ErrBadArchive) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		s, err := a.SwarmArchive(10, time.Minute, nil)
		if err != nil {
			t.Fatalf("SwarmArchive of an archive ReadArchive accepted: %v", err)
		}
		if len(s.Files) != len(a.Files) {
			t.Fatalf("SwarmArchive: %d files, the archive had %d", len(s.Files), len(a.Files))
		}
	})
}

// testArchive is a k6 archive of the shape `k6 archive` writes: metadata.json, data, the
// directories and the entry's link to data, and extra files.
func testArchive(tb testing.TB, extra map[string]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name, body string) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			tb.Fatal(err)
		}
	}
	add("metadata.json", `{"type":"js","filename":"file:///home/u/test.js","pwd":"file:///home/u/","env":{"A":"1"},"options":{"vus":5,"duration":"10s","thresholds":{"http_req_failed":["rate<0.01"]}}}`)
	add("data", "export default function () {}\n")
	for _, d := range []string{"file", "file/home", "file/home/u"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "file/home/u/test.js", Typeflag: tar.TypeLink, Linkname: "data"}); err != nil {
		tb.Fatal(err)
	}
	for name, body := range extra {
		add(name, body)
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
