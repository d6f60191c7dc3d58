package master

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestIsArchive: a file is an archive when it starts with a tar header, as k6 tells them apart;
// a script, however short, is not; a path that cannot be read is an error.
func TestIsArchive(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "run.tar")
	if err := (fakeLoader{}).Archive(context.Background(), "", tarPath, nil); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"script.js": "import http from 'k6/http';\nexport default function () { http.get('http://127.0.0.1/'); }\n",
		"short.js":  "export default function () {}\n",
		"empty.js":  "",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if is, err := isArchive(p); is || err != nil {
			t.Errorf("%s: archive %v, err %v; want a script", name, is, err)
		}
	}
	if is, err := isArchive(tarPath); !is || err != nil {
		t.Errorf("run.tar: archive %v, err %v; want an archive", is, err)
	}
	if _, err := isArchive(dir); err == nil {
		t.Error("a directory: no error")
	}
	if _, err := isArchive(filepath.Join(dir, "missing.js")); err == nil {
		t.Error("a missing file: no error")
	}
}
