//go:build linux

package nodetest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// What the leftover check compares, before New and after Stop. Each aspect is a multiset of lines;
// see takeSnapshot for what each holds.
const (
	aspectMount     = "mount"
	aspectLink      = "network interface"
	aspectNetns     = "network namespace"
	aspectIPTables  = "iptables rule"
	aspectIP6Tables = "ip6tables rule"
	aspectNftTable  = "nftables table"
	aspectNftRule   = "nftables rule"
	aspectCgroup    = "cgroup"
	aspectPath      = "path"
	aspectProcess   = "process"
	aspectSysctl    = "sysctl"
)

// snapshot is the machine-wide state a node can change.
type snapshot struct {
	aspects map[string][]string // sorted
	sysctls map[string]string   // key (dotted) -> value
}

// snapshotScope says what to look at beyond the machine-wide lists.
type snapshotScope struct {
	// paths are directories the node's parts write to whatever their configuration: each is
	// recorded as absent or with its entries.
	paths []string
	// binaries and binaryDirs identify the node's processes (by /proc/PID/exe); a process in a
	// kubepods cgroup is the node's too.
	binaries   []string
	binaryDirs []string
}

// takeSnapshot records the machine's state. It fails only when something cannot be read at all
// (no /proc, no iptables-save).
func takeSnapshot(sc snapshotScope) (snapshot, error) {
	s := snapshot{aspects: map[string][]string{}}
	var err error
	add := func(aspect string, lines []string, e error) {
		if e != nil && err == nil {
			err = fmt.Errorf("%s: %w", aspect, e)
		}
		slices.Sort(lines)
		s.aspects[aspect] = lines
	}
	mounts, e := readMounts()
	var ml []string
	for _, m := range mounts {
		ml = append(ml, m.point+" "+m.fstype+" "+m.source)
	}
	add(aspectMount, ml, e)
	links, e := readLinks()
	add(aspectLink, links, e)
	netns, e := listDir("/run/netns")
	add(aspectNetns, netns, e)
	ipt, e := iptablesSave("iptables-save")
	add(aspectIPTables, ipt, e)
	ip6t, e := iptablesSave("ip6tables-save")
	add(aspectIP6Tables, ip6t, e)
	nft, e := nftTables()
	add(aspectNftTable, nft, e)
	nftr, e := nftRuleset()
	add(aspectNftRule, nftr, e)
	add(aspectCgroup, cgroupTops(mounts), nil)
	add(aspectPath, pathEntries(sc.paths), nil)
	add(aspectProcess, nodeProcesses(sc.binaries, sc.binaryDirs), nil)
	s.sysctls, e = readSysctls()
	if e != nil && err == nil {
		err = fmt.Errorf("sysctls: %w", e)
	}
	return s, err
}

// leftovers lists what differs between before and after, one line per difference, leaving out
// what other software on the machine (podman) changed meanwhile. New sysctl keys are not listed:
// they appear when the kernel loads a module on demand (bridge, br_netfilter, overlay), which is
// not undone.
func leftovers(before, after snapshot) []string {
	var out []string
	for _, a := range slices.Sorted(maps.Keys(after.aspects)) {
		added, removed := multisetDiff(before.aspects[a], after.aspects[a])
		for _, l := range added {
			if !foreign(a, l) {
				out = append(out, fmt.Sprintf("%s left behind: %s", a, l))
			}
		}
		for _, l := range removed {
			if !foreign(a, l) {
				out = append(out, fmt.Sprintf("%s gone that was there before: %s", a, l))
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(before.sysctls)) {
		if v, ok := after.sysctls[k]; ok && v != before.sysctls[k] {
			out = append(out, fmt.Sprintf("%s %s is %q, was %q", aspectSysctl, k, v, before.sysctls[k]))
		}
	}
	return out
}

// multisetDiff returns the lines b has more often than a, and those a has more often than b;
// a and b are sorted.
func multisetDiff(a, b []string) (added, removed []string) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			removed = append(removed, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			added = append(added, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return added, removed
}

// foreignPatterns match what podman (rootful, netavark) changes: tests on this machine run it too
// (internal/composetest), and its containers come and go while a node runs.
var foreignPatterns = map[string]*regexp.Regexp{
	aspectMount:     regexp.MustCompile(`/var/lib/containers/|/run/containers/|/run/libpod|/run/netns/netns-|/run/user/|/var/run/containers/`),
	aspectLink:      regexp.MustCompile(`^podman|master=podman`),
	aspectNetns:     regexp.MustCompile(`^netns-`),
	aspectIPTables:  regexp.MustCompile(`(?i)netavark`),
	aspectIP6Tables: regexp.MustCompile(`(?i)netavark`),
	aspectNftTable:  regexp.MustCompile(`netavark`),
	aspectNftRule:   regexp.MustCompile(`(?i)netavark`),
	aspectCgroup:    regexp.MustCompile(`/libpod_parent$|/machine\.slice$`),
}

func foreign(aspect, line string) bool {
	re := foreignPatterns[aspect]
	return re != nil && re.MatchString(line)
}

// mount is one line of /proc/self/mountinfo.
type mount struct {
	point, fstype, source string
}

func readMounts() ([]mount, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	return parseMountinfo(b), nil
}

// parseMountinfo reads mountinfo lines: ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - TYPE
// SOURCE SUPEROPTS, with spaces and the like in paths escaped as \040.
func parseMountinfo(b []byte) []mount {
	var out []mount
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 2 {
			continue
		}
		out = append(out, mount{point: unescapeMountinfo(f[4]), fstype: g[0], source: unescapeMountinfo(g[1])})
	}
	return out
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space, \011, \012, \134).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// readLinks lists the network interfaces as "NAME [master=BRIDGE]".
func readLinks() ([]string, error) {
	out, err := exec.Command("ip", "-j", "link", "show").Output()
	if err != nil {
		return nil, fmt.Errorf("ip -j link show: %w", err)
	}
	return parseLinks(out)
}

func parseLinks(js []byte) ([]string, error) {
	var links []struct {
		Name   string `json:"ifname"`
		Master string `json:"master"`
	}
	if err := json.Unmarshal(js, &links); err != nil {
		return nil, err
	}
	var out []string
	for _, l := range links {
		s := l.Name
		if l.Master != "" {
			s += " master=" + l.Master
		}
		out = append(out, s)
	}
	return out, nil
}

// iptablesSave returns the rules and chains of every table, as "TABLE LINE", without counters.
func iptablesSave(cmd string) ([]string, error) {
	out, err := exec.Command(cmd).Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return normalizeIPTablesSave(out), nil
}

var chainCounters = regexp.MustCompile(` \[\d+:\d+\]$`)

func normalizeIPTablesSave(b []byte) []string {
	var out []string
	table := ""
	for l := range strings.SplitSeq(string(b), "\n") {
		switch {
		case l == "" || strings.HasPrefix(l, "#") || l == "COMMIT":
		case strings.HasPrefix(l, "*"):
			table = l[1:]
		default:
			out = append(out, table+" "+chainCounters.ReplaceAllString(l, ""))
		}
	}
	return out
}

// nftTables lists the nftables tables ("ip filter", "inet netavark"): iptables-nft makes one for
// each table a rule was ever put in, and leaves it when the rules go.
func nftTables() ([]string, error) {
	if _, err := exec.LookPath("nft"); err != nil {
		return nil, nil
	}
	out, err := exec.Command("nft", "list", "tables").Output()
	if err != nil {
		return nil, fmt.Errorf("nft list tables: %w", err)
	}
	var tables []string
	for l := range strings.SplitSeq(string(out), "\n") {
		if t, ok := strings.CutPrefix(strings.TrimSpace(l), "table "); ok {
			tables = append(tables, t)
		}
	}
	return tables, nil
}

// nftRuleset lists every chain, rule, set and map of `nft list ruleset` as "TABLE CHAIN: LINE",
// counters zeroed: native nftables rules (kube-proxy's nftables mode, say) as well as what
// iptables-nft made.
func nftRuleset() ([]string, error) {
	if _, err := exec.LookPath("nft"); err != nil {
		return nil, nil
	}
	out, err := exec.Command("nft", "list", "ruleset").Output()
	if err != nil {
		return nil, fmt.Errorf("nft list ruleset: %w", err)
	}
	return normalizeNftRuleset(string(out)), nil
}

var nftCounter = regexp.MustCompile(`counter packets \d+ bytes \d+`)

func normalizeNftRuleset(listing string) []string {
	var out []string
	var table, block string
	for l := range strings.SplitSeq(listing, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "table ") && strings.HasSuffix(l, "{"):
			table, block = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(l, "table "), "{")), ""
		case (strings.HasPrefix(l, "chain ") || strings.HasPrefix(l, "set ") || strings.HasPrefix(l, "map ") ||
			strings.HasPrefix(l, "flowtable ")) && strings.HasSuffix(l, "{"):
			block = strings.TrimSpace(strings.TrimSuffix(l, "{"))
			out = append(out, table+" "+block)
		case l == "}":
			if block != "" {
				block = ""
			} else {
				table = ""
			}
		default:
			out = append(out, table+" "+block+": "+nftCounter.ReplaceAllString(l, "counter"))
		}
	}
	return out
}

// cgroupHierarchies are the mount points of the cgroup file systems (v1 controllers and the v2
// one), deduplicated.
func cgroupHierarchies(mounts []mount) []string {
	var out []string
	for _, m := range mounts {
		if (m.fstype == "cgroup" || m.fstype == "cgroup2") && !slices.Contains(out, m.point) {
			out = append(out, m.point)
		}
	}
	return out
}

// cgroupTops lists the top-level cgroups of every hierarchy: a kubelet makes "kubepods" in each.
func cgroupTops(mounts []mount) []string {
	var out []string
	for _, h := range cgroupHierarchies(mounts) {
		entries, err := os.ReadDir(h)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() {
				out = append(out, filepath.Join(h, e.Name()))
			}
		}
	}
	return out
}

// pathEntries records each path as "PATH (absent)" or as its entries "PATH/NAME".
func pathEntries(paths []string) []string {
	var out []string
	for _, p := range paths {
		entries, err := os.ReadDir(p)
		switch {
		case os.IsNotExist(err):
			out = append(out, p+" (absent)")
		case err != nil:
			out = append(out, p+" (unreadable: "+err.Error()+")")
		default:
			out = append(out, p+" (present)")
			for _, e := range entries {
				out = append(out, filepath.Join(p, e.Name()))
			}
		}
	}
	return out
}

func listDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out, err
}

// nodeProcesses lists, as "PID EXE", the processes running one of binaries or a binary in
// binaryDirs, and those in a kubepods cgroup (containers).
func nodeProcesses(binaries, binaryDirs []string) []string {
	var out []string
	for _, pid := range pids() {
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		exe = strings.TrimSuffix(exe, " (deleted)")
		cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		ours := bytes.Contains(cg, []byte("/kubepods"))
		for _, b := range binaries {
			ours = ours || (b != "" && exe == b)
		}
		for _, d := range binaryDirs {
			ours = ours || (d != "" && strings.HasPrefix(exe, d+"/"))
		}
		if ours {
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			out = append(out, fmt.Sprintf("%d %s (%s)", pid, exe, strings.TrimSpace(string(comm))))
		}
	}
	return out
}

func pids() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// volatileSysctl are keys whose values change on their own (counters, random numbers).
var volatileSysctl = regexp.MustCompile(`^(fs\.(dentry-state|file-nr|inode-nr|inode-state|aio-nr|quota\..*)|kernel\.(ns_last_pid|random\..*|pty\.nr|tainted)|net\.netfilter\.nf_conntrack_count)$`)

// perInterfaceSysctl are the keys of one network interface: they come and go with it.
var perInterfaceSysctl = regexp.MustCompile(`^net\.ipv[46]\.(conf|neigh)\.([^.]+)\.`)

// sysctlRoots are the parts of /proc/sys a node's components write to (kubelet: vm and kernel;
// the CNI bridge and kube-proxy: net), plus fs, for completeness.
var sysctlRoots = []string{"fs", "kernel", "net", "vm"}

// readSysctls reads every readable, non-volatile sysctl under sysctlRoots, skipping
// per-interface keys other than "all" and "default".
func readSysctls() (map[string]string, error) {
	out := map[string]string{}
	for _, r := range sysctlRoots {
		root := filepath.Join("/proc/sys", r)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // unreadable directory: skip it
			}
			if d.IsDir() {
				return nil
			}
			key := strings.ReplaceAll(strings.TrimPrefix(p, "/proc/sys/"), "/", ".")
			if !sysctlTracked(key) {
				return nil
			}
			v, err := os.ReadFile(p)
			if err != nil {
				return nil // write-only or refused
			}
			out[key] = strings.TrimSpace(string(v))
			return nil
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func sysctlTracked(key string) bool {
	if volatileSysctl.MatchString(key) {
		return false
	}
	if m := perInterfaceSysctl.FindStringSubmatch(key); m != nil && m[2] != "all" && m[2] != "default" {
		return false
	}
	return true
}

// sysctlPath is the /proc/sys file of a dotted key. Interface names with dots do not occur in
// tracked keys (only all and default).
func sysctlPath(key string) string {
	return filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
}

// restoreSysctls writes back every tracked sysctl whose value is not what before recorded.
func restoreSysctls(before map[string]string) error {
	now, err := readSysctls()
	if err != nil {
		return err
	}
	var errs []string
	for _, k := range slices.Sorted(maps.Keys(before)) {
		if v, ok := now[k]; ok && v != before[k] {
			if err := os.WriteFile(sysctlPath(k), []byte(before[k]), 0); err != nil {
				errs = append(errs, fmt.Sprintf("%s back to %q: %v", k, before[k], err))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("restore sysctls: %s", strings.Join(errs, "; "))
	}
	return nil
}
