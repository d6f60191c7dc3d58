package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	regular := filepath.Join(dir, "file")
	if err := os.WriteFile(regular, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantErr string // "" for no error
	}{
		{"a new file in missing directories", filepath.Join(dir, "a", "b", "c.json"), ""},
		{"an existing file", regular, ""},
		{"a directory", dir, "it is a directory"},
		{"under a file", filepath.Join(regular, "c.json"), "not a directory"},
		{"a device", os.DevNull, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := File{Option: "--junit", What: "JUnit report", Path: tt.path}.Check()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) ||
				!strings.HasPrefix(err.Error(), "--junit "+tt.path+": cannot write the JUnit report there: ") {
				t.Fatalf("err = %v, want one naming --junit, %s and %q", err, tt.path, tt.wantErr)
			}
		})
	}
	// The check leaves the directories it made, and nothing else.
	entries, err := os.ReadDir(filepath.Join(dir, "a", "b"))
	if err != nil || len(entries) != 0 {
		t.Errorf("a/b: %v, %d entries; want an empty directory", err, len(entries))
	}
}

func TestSaveNamesTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := File{Option: "--summary-md", What: "Markdown summary", Path: filepath.Join(dir, "gone", "s.md"), Write: WriteMarkdown}
	err := f.Save(sampleRun())
	if err == nil || !strings.HasPrefix(err.Error(), "writing the Markdown summary "+f.Path+": ") {
		t.Fatalf("err = %v, want one naming the Markdown summary %s", err, f.Path)
	}
	f.Path = filepath.Join(dir, "s.md")
	if err := f.Save(sampleRun()); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(f.Path); err != nil || !strings.Contains(string(data), "Stampede run") {
		t.Fatalf("%s: %v\n%s", f.Path, err, data)
	}
}
