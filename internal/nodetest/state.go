//go:build linux

package nodetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/stampede-load/stampede/internal/atomicfile"
)

// StatePath holds, while a node runs, what tearing it down needs: its directory, its bridge and the
// machine's state before it started. A node whose process died without Stop leaves it behind, and
// the next New, holding the lock, tears that node down and checks the machine against the state
// recorded before it, before it records its own. Stop removes the file once the machine checks out.
const StatePath = "/run/lock/stampede-node.state"

// nodeState is the content of StatePath.
type nodeState struct {
	PID    int      `json:"pid"`
	Dir    string   `json:"dir"`
	Bridge string   `json:"bridge"`
	Scope  scopeDoc `json:"scope"`
	Before snapDoc  `json:"before"`
}

type scopeDoc struct {
	Paths      []string `json:"paths"`
	Binaries   []string `json:"binaries"`
	BinaryDirs []string `json:"binaryDirs"`
}

type snapDoc struct {
	Aspects map[string][]string `json:"aspects"`
	Sysctls map[string]string   `json:"sysctls"`
}

func (n *Node) state() nodeState {
	return nodeState{
		PID: os.Getpid(), Dir: n.Dir, Bridge: n.Bridge,
		Scope:  scopeDoc{Paths: n.scope.paths, Binaries: n.scope.binaries, BinaryDirs: n.scope.binaryDirs},
		Before: snapDoc{Aspects: n.before.aspects, Sysctls: n.before.sysctls},
	}
}

func (s nodeState) scope() snapshotScope {
	return snapshotScope{paths: s.Scope.Paths, binaries: s.Scope.Binaries, binaryDirs: s.Scope.BinaryDirs}
}

func (s nodeState) before() snapshot {
	return snapshot{aspects: s.Before.Aspects, sysctls: s.Before.Sysctls}
}

// writeState writes s to path whole and synced, readable by its owner only: after a crash of the
// process, or of the machine, the next New reads the old state or the new one.
func writeState(path string, s nodeState) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return atomicfile.WriteMode(path, 0o600, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// readState reads path; a missing file is (nil, nil).
func readState(path string) (*nodeState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s nodeState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// teardown undoes, without the API server, what a node's parts changed on the machine: it kills
// the node's processes, unmounts everything under its directory, removes the iptables and
// ip6tables chains they made (and the jumps to them), empty nftables tables that were not there,
// the kubepods cgroups, the bridge, new network namespaces and the new entries of the watched
// directories, and restores the sysctls. It returns the processes it had to kill and what failed.
// The directory itself stays (for its logs); the caller removes it.
func teardown(s nodeState) (killed []string, errs []error) {
	killed = killProcesses(s.scope())
	if s.Dir != "" {
		if err := unmountUnder(s.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	before := s.before()
	for _, t := range []struct{ cmd, save, aspect string }{
		{"iptables", "iptables-save", aspectIPTables},
		{"ip6tables", "ip6tables-save", aspectIP6Tables},
	} {
		if err := removeOwnChains(t.cmd, t.save, before.aspects[t.aspect]); err != nil {
			errs = append(errs, err)
		}
	}
	steps := []func() error{
		func() error { return removeEmptyNftTables(before.aspects[aspectNftTable]) },
		func() error { return removeCgroup("kubepods", before.aspects[aspectCgroup]) },
		func() error { return deleteLinks(s.Bridge) },
		func() error { return removeNewNetns(before.aspects[aspectNetns]) },
		func() error { return removeNewPaths(before.aspects[aspectPath]) },
		func() error { return restoreSysctls(before.sysctls) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			errs = append(errs, err)
		}
	}
	return killed, errs
}

// checkMachine compares the machine with s's record and returns an error wrapping ErrLeftovers
// that names every difference.
func checkMachine(s nodeState) error {
	after, err := takeSnapshot(s.scope())
	if err != nil {
		return fmt.Errorf("nodetest: recording the machine's state: %w", err)
	}
	if left := leftovers(s.before(), after); len(left) > 0 {
		return fmt.Errorf("%w:\n  %s", ErrLeftovers, strings.Join(left, "\n  "))
	}
	return nil
}

// recoverCrashed tears down the node recorded in s, whose process is gone (the lock says so), and
// checks the machine against what that node recorded before it started. On success StatePath is
// removed; on failure it stays, so that every later New fails the same way until someone looks:
// the machine is not as it was.
func recoverCrashed(s nodeState, statePath string) error {
	_, errs := teardown(s)
	if s.Dir != "" {
		if err := os.RemoveAll(s.Dir); err != nil {
			errs = append(errs, err)
		}
		_ = os.RemoveAll(s.Dir + "-logs")
	}
	if err := checkMachine(s); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("nodetest: the node of process %d (%s) was never torn down, and tearing it down now left the machine unlike it was before that node: %w\n(if the machine is as it should be, remove %s)",
			s.PID, filepath.Base(s.Dir), err, statePath)
	}
	return os.Remove(statePath)
}
