//go:build linux

package nodetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// The leftover check sees what a node leaves behind, and the teardown steps remove it: on this
// machine, with the machine lock held, a bridge, an iptables chain with a jump to it, a
// mount, a kubepods cgroup, a changed sysctl and /var/log/containers (when it was not there) are
// made, found, and cleaned up.
func TestLeftoverCheckAndTeardown(t *testing.T) {
	NeedTools(t) // only where real nodes are tested: it changes the machine for a moment
	lock, err := lockMachine(context.Background(), LockPath, func() { t.Log("waiting for the machine lock") })
	if err != nil {
		t.Fatal(err)
	}
	defer lock.release()
	mounts, err := readMounts()
	if err != nil {
		t.Fatal(err)
	}
	hierarchies := cgroupHierarchies(mounts)
	if len(hierarchies) == 0 {
		t.Skip("no cgroup file system")
	}
	sc := snapshotScope{paths: watchedDirs}
	before, err := takeSnapshot(sc)
	if err != nil {
		t.Fatal(err)
	}

	const link, chain = "stampede-leak", "STAMPEDE-LEAKTEST"
	mnt := t.TempDir()
	cg := filepath.Join(hierarchies[0], "kubepods")
	_, logsErr := os.Stat("/var/log/containers")
	overcommit := "/proc/sys/vm/overcommit_memory"
	was, err := os.ReadFile(overcommit)
	if err != nil {
		t.Fatal(err)
	}
	// Whatever happens, the machine is put back.
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", link).Run()
		_ = exec.Command("iptables", "-w", "-D", "INPUT", "-j", chain).Run()
		_ = exec.Command("iptables", "-w", "-X", chain).Run()
		_ = syscall.Unmount(mnt, syscall.MNT_DETACH)
		_ = syscall.Rmdir(cg)
		_ = os.WriteFile(overcommit, was, 0)
		if os.IsNotExist(logsErr) {
			_ = os.Remove("/var/log/containers")
		}
	})
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
	}
	run("ip", "link", "add", link, "type", "bridge")
	run("iptables", "-w", "-N", chain)
	run("iptables", "-w", "-I", "INPUT", "1", "-j", chain)
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	flipped := "1"
	if strings.TrimSpace(string(was)) == "1" {
		flipped = "0"
	}
	if err := os.WriteFile(overcommit, []byte(flipped), 0); err != nil {
		t.Fatal(err)
	}
	if os.IsNotExist(logsErr) {
		if err := os.Mkdir("/var/log/containers", 0o755); err != nil {
			t.Fatal(err)
		}
	}

	after, err := takeSnapshot(sc)
	if err != nil {
		t.Fatal(err)
	}
	left := leftovers(before, after)
	want := []string{
		"network interface left behind: " + link,
		"iptables rule left behind: filter :" + chain,
		"iptables rule left behind: filter -A INPUT -j " + chain,
		"nftables rule left behind: ip filter chain " + chain,
		"mount left behind: " + mnt + " tmpfs tmpfs",
		"cgroup left behind: " + cg,
		"sysctl vm.overcommit_memory is \"" + flipped + "\"",
	}
	if os.IsNotExist(logsErr) {
		want = append(want, "path left behind: /var/log/containers (present)")
	}
	for _, w := range want {
		if !slices.ContainsFunc(left, func(l string) bool { return strings.HasPrefix(l, w) }) {
			t.Errorf("the check missed %q; it found:\n%s", w, strings.Join(left, "\n"))
		}
	}

	// The teardown steps a Node's Stop runs.
	if err := removeOwnChains("iptables", "iptables-save", before.aspects[aspectIPTables]); err != nil {
		t.Error(err)
	}
	if err := unmountUnder(mnt); err != nil {
		t.Error(err)
	}
	if err := removeCgroup("kubepods", before.aspects[aspectCgroup]); err != nil {
		t.Error(err)
	}
	if err := deleteLinks(link); err != nil {
		t.Error(err)
	}
	if err := removeNewPaths(before.aspects[aspectPath]); err != nil {
		t.Error(err)
	}
	if err := restoreSysctls(before.sysctls); err != nil {
		t.Error(err)
	}
	final, err := takeSnapshot(sc)
	if err != nil {
		t.Fatal(err)
	}
	if left := leftovers(before, final); len(left) > 0 {
		t.Errorf("after the teardown steps:\n%s", strings.Join(left, "\n"))
	}
}
