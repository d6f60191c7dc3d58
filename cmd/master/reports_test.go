package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckReports(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     config
		wantErr []string // each must appear in the error; none for no error
	}{
		{"every report in new directories", config{summaryJSON: filepath.Join(dir, "a", "s.json"), junit: filepath.Join(dir, "b", "j.xml"),
			summaryMD: filepath.Join(dir, "c", "s.md"), html: filepath.Join(dir, "d", "r.html"), csvPrefix: filepath.Join(dir, "e", "run")}, nil},
		{"two options, one file", config{summaryJSON: filepath.Join(dir, "same"), junit: filepath.Join(dir, ".", "same")},
			[]string{"--junit " + filepath.Join(dir, "same") + ": --summary-json writes that file too"}},
		{"every bad path is named", config{summaryMD: filepath.Join(blocker, "s.md"), csvPrefix: filepath.Join(blocker, "run"), html: dir},
			[]string{"--summary-md " + filepath.Join(blocker, "s.md") + ": cannot write the Markdown summary there: ",
				"--csv " + filepath.Join(blocker, "run") + "_stats.csv: ", "--csv " + filepath.Join(blocker, "run") + "_failures.csv: ",
				"--html " + dir + ": cannot write the HTML report there: it is a directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkReports(tt.cfg.reportFiles())
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not say %q:\n%v", want, err)
				}
			}
		})
	}
}
