//go:build linux

package kubetest_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampede-load/stampede/internal/kubetest"
)

func TestLoadToolVars(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	plain := filepath.Join(dir, "stages.yaml")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	errUnset := errors.New("not configured")
	set := kubetest.ToolSet{Package: "pkg", NotConfigured: errUnset, Fix: "run the script", Rebuild: "rebuild"}
	var a, b, c string
	load := func(env map[string]string) error {
		return kubetest.LoadToolVars(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, set, []kubetest.ToolVar{
			{Key: "A", Dst: &a, Kind: kubetest.Executable},
			{Key: "B", Dst: &b, Kind: kubetest.Dir},
			{Key: "C", Dst: &c, Kind: kubetest.Text},
		})
	}

	if err := load(map[string]string{"A": exe, "B": dir, "C": "v1"}); err != nil || a != exe || b != dir || c != "v1" {
		t.Errorf("all set: %v; got %q %q %q", err, a, b, c)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
		is   error
	}{
		{"unset and empty are both named", map[string]string{"A": exe, "B": ""}, "B, C unset; run the script", errUnset},
		{"not executable", map[string]string{"A": plain, "B": dir, "C": "v1"}, "A=" + plain + " is not executable", nil},
		{"a file for a directory", map[string]string{"A": exe, "B": exe, "C": "v1"}, "B=" + exe + " is not a directory", nil},
		{"a directory for a file", map[string]string{"A": dir, "B": dir, "C": "v1"}, "A=" + dir + " is a directory", nil},
		{"missing", map[string]string{"A": exe + "-gone", "B": dir, "C": "v1"}, "(rebuild)", nil},
	} {
		err := load(tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
