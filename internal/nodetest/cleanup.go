//go:build linux

package nodetest

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Teardown steps. Each undoes one kind of change, whoever made it, and is safe to run when there
// is nothing to undo; Stop runs them all and then checks the machine against the snapshot New took.

// ownChainPrefixes name the iptables chains a node's parts make: the kubelet (KUBE-FIREWALL,
// KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT), kube-proxy (KUBE-*), the CNI portmap plugin (CNI-*) and
// the harness's own forwarding guard.
var ownChainPrefixes = []string{"KUBE-", "CNI-", "STAMPEDE-"}

// iptablesRule is one line of iptables-save: "-A CHAIN ARGS..." in TABLE.
type iptablesRule struct {
	table string
	chain string
	args  []string // after the chain name
}

// parseIPTables reads normalized iptables-save lines ("TABLE LINE") into chain declarations
// (TABLE -> names) and rules.
func parseIPTables(lines []string) (chains map[string][]string, rules []iptablesRule, err error) {
	chains = map[string][]string{}
	for _, l := range lines {
		table, rest, _ := strings.Cut(l, " ")
		switch {
		case strings.HasPrefix(rest, ":"):
			name, _, _ := strings.Cut(rest[1:], " ")
			chains[table] = append(chains[table], name)
		case strings.HasPrefix(rest, "-A "):
			words, err := splitIPTablesArgs(rest[3:])
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", l, err)
			}
			if len(words) == 0 {
				continue
			}
			rules = append(rules, iptablesRule{table: table, chain: words[0], args: words[1:]})
		}
	}
	return chains, rules, nil
}

// splitIPTablesArgs splits a rule as iptables-save prints it: words separated by spaces, a word
// with spaces in double quotes with \" and \\ escaped.
func splitIPTablesArgs(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case c == '"':
			quoted = !quoted
			inWord = true
		case c == ' ' && !quoted:
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

// target returns the chain a rule jumps or goes to, "" if none.
func (r iptablesRule) target() string {
	for i, a := range r.args {
		if (a == "-j" || a == "-g" || a == "--jump" || a == "--goto") && i+1 < len(r.args) {
			return r.args[i+1]
		}
	}
	return ""
}

// chainCleanup is what removeOwnChains runs: the rules to delete, then the chains to flush and
// delete, as iptables argument lists.
func chainCleanup(before, now []string) [][]string {
	oldChains, _, err := parseIPTables(before)
	if err != nil {
		oldChains = map[string][]string{}
	}
	chains, rules, err := parseIPTables(now)
	if err != nil {
		return nil
	}
	isNew := map[string]bool{} // "TABLE CHAIN"
	var newChains [][2]string
	for _, table := range slices.Sorted(maps.Keys(chains)) {
		for _, c := range chains[table] {
			if slices.Contains(oldChains[table], c) || !hasOwnPrefix(c) {
				continue
			}
			isNew[table+" "+c] = true
			newChains = append(newChains, [2]string{table, c})
		}
	}
	var cmds [][]string
	// Jumps into the chains from chains that stay (rules inside the chains go with them).
	for _, r := range rules {
		if t := r.target(); t != "" && isNew[r.table+" "+t] && !isNew[r.table+" "+r.chain] {
			cmds = append(cmds, append([]string{"-t", r.table, "-D", r.chain}, r.args...))
		}
	}
	for _, c := range newChains {
		cmds = append(cmds, []string{"-t", c[0], "-F", c[1]})
	}
	for _, c := range newChains {
		cmds = append(cmds, []string{"-t", c[0], "-X", c[1]})
	}
	return cmds
}

func hasOwnPrefix(chain string) bool {
	for _, p := range ownChainPrefixes {
		if strings.HasPrefix(chain, p) {
			return true
		}
	}
	return false
}

// removeOwnChains deletes, with cmd (iptables or ip6tables), the chains with an own prefix that
// were not there before, and the rules that jump to them; rules and chains that existed before
// stay.
func removeOwnChains(cmd, saveCmd string, before []string) error {
	now, err := iptablesSave(saveCmd)
	if err != nil {
		return err
	}
	var errs []error
	for _, args := range chainCleanup(before, now) {
		if out, err := exec.Command(cmd, append([]string{"-w"}, args...)...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %v: %s", cmd, strings.Join(args, " "), err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}

// removeEmptyNftTables deletes the nftables tables that were not there before and hold no rule:
// iptables-nft makes a table (with its base chains) the first time a rule goes into it and never
// removes it. Tables with rules are left for the leftover check to report.
func removeEmptyNftTables(before []string) error {
	now, err := nftTables()
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range now {
		if slices.Contains(before, t) || foreign(aspectNftTable, t) {
			continue
		}
		family, name, _ := strings.Cut(t, " ")
		out, err := exec.Command("nft", "list", "table", family, name).Output()
		if err != nil {
			errs = append(errs, fmt.Errorf("nft list table %s: %w", t, err))
			continue
		}
		if nftTableHasRules(string(out)) {
			continue
		}
		if out, err := exec.Command("nft", "delete", "table", family, name).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("nft delete table %s: %v: %s", t, err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}

// nftTableHasRules reports whether `nft list table` output has anything but chain headers.
func nftTableHasRules(listing string) bool {
	for l := range strings.SplitSeq(listing, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "", l == "}", strings.HasPrefix(l, "table "), strings.HasPrefix(l, "chain "),
			strings.HasPrefix(l, "type ") && strings.Contains(l, " hook "):
		default:
			return true
		}
	}
	return false
}

// unmountUnder detaches every mount at or below dir, deepest first, until none is left: the
// kubelet's bind mount of its root directory, container root file systems, /dev/shm of sandboxes,
// network namespaces.
func unmountUnder(dirs ...string) error {
	for range 10 {
		mounts, err := readMounts()
		if err != nil {
			return err
		}
		var points []string
		for _, m := range mounts {
			for _, d := range dirs {
				if m.point == d || strings.HasPrefix(m.point, d+"/") {
					points = append(points, m.point)
				}
			}
		}
		if len(points) == 0 {
			return nil
		}
		// Deepest first; a point mounted twice (the kubelet's bind mount) appears twice and is
		// unmounted twice.
		slices.SortStableFunc(points, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
		for _, p := range points {
			_ = syscall.Unmount(p, syscall.MNT_DETACH)
		}
	}
	return fmt.Errorf("mounts under %s remain after 10 rounds of unmounting", strings.Join(dirs, ", "))
}

// removeCgroup removes the cgroup name (and everything under it) from every hierarchy in which it
// did not exist before; processes still in it are killed first.
func removeCgroup(name string, before []string) error {
	mounts, err := readMounts()
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range cgroupHierarchies(mounts) {
		top := filepath.Join(h, name)
		if slices.Contains(before, top) {
			continue
		}
		if _, err := os.Stat(top); os.IsNotExist(err) {
			continue
		}
		if err := removeCgroupTree(top); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeCgroupTree kills the processes in top and its descendants and removes them, leaves
// first. A cgroup is removed with rmdir even though it holds files (its control files).
func removeCgroupTree(top string) error {
	var last error
	for attempt := range 50 {
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		if len(dirs) == 0 {
			return nil
		}
		for _, d := range dirs {
			killCgroupProcs(d)
		}
		last = nil
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
				last = fmt.Errorf("rmdir %s: %w", dirs[i], err)
			}
		}
		if last == nil {
			return nil
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond) // processes take a moment to exit
	}
	return last
}

func killCgroupProcs(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return
	}
	for f := range strings.FieldsSeq(string(b)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil && pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// killProcesses kills the node's processes that are still running (see nodeProcesses) and waits
// up to 10 s for them to go. It returns what it had to kill: after an orderly stop, nothing.
func killProcesses(sc snapshotScope) []string {
	left := nodeProcesses(sc.binaries, sc.binaryDirs)
	if len(left) == 0 {
		return nil
	}
	for _, p := range left {
		var pid int
		if _, err := fmt.Sscan(p, &pid); err == nil && pid > 0 && pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && len(nodeProcesses(sc.binaries, sc.binaryDirs)) > 0 {
		time.Sleep(50 * time.Millisecond)
	}
	return left
}

// deleteLinks deletes the bridge and any interface still enslaved to it.
func deleteLinks(bridge string) error {
	links, err := readLinks()
	if err != nil {
		return err
	}
	var errs []error
	for _, l := range links {
		name, _, _ := strings.Cut(l, " ")
		if strings.HasSuffix(l, " master="+bridge) {
			if out, err := exec.Command("ip", "link", "del", name).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("ip link del %s: %v: %s", name, err, strings.TrimSpace(string(out))))
			}
		}
	}
	for _, l := range links {
		if name, _, _ := strings.Cut(l, " "); name == bridge {
			if out, err := exec.Command("ip", "link", "del", bridge).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("ip link del %s: %v: %s", bridge, err, strings.TrimSpace(string(out))))
			}
		}
	}
	return errors.Join(errs...)
}

// removeNewPaths removes the entries of the watched directories that were not there before and
// that are a node's: see ownPaths.
func removeNewPaths(before []string) error {
	now := pathEntries(watchedDirs)
	added, _ := multisetDiff(before, sortedCopy(now))
	var errs []error
	for _, l := range added {
		if strings.HasSuffix(l, ")") { // "DIR (present)": the directory itself appeared
			continue
		}
		if !ownPath(l) {
			continue
		}
		if err := unmountUnder(l); err != nil {
			errs = append(errs, err)
		}
		if err := os.RemoveAll(l); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// watchedDirs are the directories whose entries the snapshot records: where the kubelet,
// containerd, CNI and iptables put things whatever their configuration says.
var watchedDirs = []string{"/run", "/var/lib", "/var/log", "/opt", "/etc/cni/net.d", "/var/log/containers", "/var/log/pods", "/var/lib/cni"}

// ownPath reports whether a new entry of a watched directory is a node's to remove.
func ownPath(p string) bool {
	switch p {
	case "/run/containerd", // shim sockets (containerd puts them in /run/containerd/s whatever its state dir)
		"/run/nri",
		"/run/xtables.lock", // iptables' lock, made by the first iptables -w
		"/run/mount",        // util-linux's libmount (utab), when the kubelet runs mount
		"/var/lib/kubelet", "/var/lib/containerd", "/var/lib/cni", "/var/lib/kube-proxy",
		"/var/log/pods", "/var/log/containers", // the kubelet's container log symlinks, always here
		"/opt/containerd":
		return true
	}
	d := filepath.Dir(p)
	return d == "/var/log/containers" || d == "/var/log/pods" || d == "/var/lib/cni"
}
