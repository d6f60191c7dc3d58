//go:build linux

package nodetest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The state file survives a crash whole: it is replaced, never rewritten in place, and private.
func TestStateFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "stampede-node.state")
	if st, err := readState(path); st != nil || err != nil {
		t.Fatalf("readState of a missing file = %v, %v; want nil, nil", st, err)
	}
	for _, want := range []nodeState{
		{PID: 1, Dir: "/tmp/node-1", Bridge: "stn0", Scope: scopeDoc{Paths: []string{"/etc/cni"}},
			Before: snapDoc{Aspects: map[string][]string{"mount": {"/a"}}, Sysctls: map[string]string{"net.ipv4.ip_forward": "0"}}},
		{PID: 2, Dir: "/tmp/node-2", Bridge: "stn1"},
	} {
		if err := writeState(path, want); err != nil {
			t.Fatal(err)
		}
		got, err := readState(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("readState = %+v, want %+v", *got, want)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the state file: %v, %v; want mode 0600", fi, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want the state file alone (no temporary file left)", len(entries))
	}
	if err := os.WriteFile(path, []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readState(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("readState of a corrupt file = %v, want an error naming %s", err, path)
	}
}
