package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, writeString("new")); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != "new" {
		t.Fatalf("%s holds %q (%v), want \"new\"", path, data, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}

	// A writer that fails leaves the old file and no temporary one.
	failed := errors.New("the writer failed")
	if err := Write(path, func(w io.Writer) error { _, _ = io.WriteString(w, "half"); return failed }); !errors.Is(err, failed) {
		t.Fatalf("err = %v, want the writer's", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "new" {
		t.Errorf("after a failed write %s holds %q, want the old \"new\"", path, data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want just the file", len(entries))
	}
	if err := Write(filepath.Join(dir, "missing", "x"), writeString("x")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("writing into a missing directory: %v, want not exist", err)
	}
}

func TestWriteDevices(t *testing.T) {
	if err := Write(os.DevNull, writeString("report\n")); err != nil {
		t.Fatalf("writing %s: %v", os.DevNull, err)
	}
	if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode().IsRegular() {
		t.Fatalf("%s was replaced by a file: %v %v", os.DevNull, fi, err)
	}
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	if err := Write("/dev/full", writeString("report\n")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("writing /dev/full: %v, want no space left on device", err)
	}
}

func TestWriteMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, perm := range []os.FileMode{0o600, 0o640, 0o644} {
		path := filepath.Join(dir, "state")
		if err := WriteMode(path, perm, writeString(perm.String())); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != perm {
			t.Errorf("mode %v, want %v", fi.Mode().Perm(), perm)
		}
		if data, _ := os.ReadFile(path); string(data) != perm.String() {
			t.Errorf("%s holds %q, want %q", path, data, perm.String())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want just the file (no temporary left)", len(entries))
	}
}
