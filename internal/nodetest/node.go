//go:build linux

package nodetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/stampede-load/stampede/internal/kubetest"
	"github.com/stampede-load/stampede/internal/ociimage"
)

// Defaults of Options.
const (
	DefaultName      = "stampede-node"
	DefaultBridge    = "stampede0"
	DefaultPodSubnet = "10.244.0.0/24"
	// ClusterDomain is the DNS domain of the cluster's Services.
	ClusterDomain = "cluster.local"
)

// Options configure New.
type Options struct {
	// Tools are the binaries; see ToolsFromEnv.
	Tools Tools
	// Name is the Node's name. Default DefaultName.
	Name string
	// NodeIP is the Node's InternalIP: where the kubelet listens and the API server reaches it. It
	// cannot be loopback. Default: the IPv4 address of the interface of the default route.
	NodeIP string
	// PodSubnet is the pods' IPv4 range, on a bridge of the node's own; its first address is the
	// bridge's (the pods' gateway). It must not overlap a route the machine has. Default
	// DefaultPodSubnet.
	PodSubnet string
	// Bridge is the name of that bridge; it must not exist. Default DefaultBridge.
	Bridge string
	// Labels are added to the Node's.
	Labels map[string]string
	// ClusterDNS is the name server pods are given (the cluster DNS Service's IP). Empty: pods get
	// the host's resolv.conf, or DNSServiceIP with Addons.
	ClusterDNS string
	// Addons starts kube-proxy, CoreDNS and metrics-server with the node (addons.go): Services,
	// cluster DNS and the resource metrics API work, as in a real cluster. New returns once each
	// works.
	Addons bool
	// TempDir is where the node's directory is made. Default os.TempDir(). Unix socket paths under
	// it must stay short (108 bytes).
	TempDir string
	// StartTimeout bounds New once it holds the machine lock. Default 3 minutes.
	StartTimeout time.Duration
	// Logger receives progress (waiting for the lock, what teardown had to clean up). Default: none.
	Logger *slog.Logger
}

// containerdDropIns are the files every containerd merges into its configuration.
const containerdDropIns = "/etc/containerd/conf.d/*.toml"

// NodeLabelValue is the value of kubetest.NodeLabel on a real node.
const NodeLabelValue = "real"

// Node is a running node. Its fields are read-only after New.
type Node struct {
	// Name is the Node's name; IP its InternalIP.
	Name, IP string
	// Dir holds every file the node's parts write: configuration, containerd's and the kubelet's
	// state, pod logs, and each component's log (<name>.log). Stop removes it.
	Dir string
	// ContainerdSocket is containerd's API socket (ctr --address, the kubelet's CRI endpoint).
	ContainerdSocket string
	// Bridge and PodSubnet are the pod network's.
	Bridge    string
	PodSubnet *net.IPNet
	// SandboxImage is the pause image the node built and imported.
	SandboxImage string
	// Tools are the binaries it runs.
	Tools Tools

	cp     *kubetest.ControlPlane
	log    *slog.Logger
	lock   *machineLock
	scope  snapshotScope
	before snapshot

	mu       sync.Mutex
	procs    []*kubetest.Process // containerd, kubelet
	stopOnce sync.Once
	stopped  atomic.Bool
	stopErr  error
	keepDir  bool
}

// ErrLeftovers is wrapped by Stop's error when the machine is not as New found it.
var ErrLeftovers = errors.New("nodetest: the node left things behind")

// New brings up a node registered with cp: it takes the machine lock (waiting for another node to
// finish), records the machine's state, starts containerd with a pause image it builds, and the
// kubelet, and returns once the Node is Ready and schedulable. On failure it tears down what it
// started and checks the machine as Stop does.
func New(ctx context.Context, cp *kubetest.ControlPlane, opts Options) (n *Node, err error) {
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	if opts.Tools.Kubelet == "" || opts.Tools.Containerd == "" || opts.Tools.Ctr == "" || opts.Tools.Runc == "" ||
		opts.Tools.CNIBinDir == "" || opts.Tools.Pause == "" || opts.Tools.PauseVersion == "" {
		return nil, fmt.Errorf("%w: Options.Tools is incomplete", ErrNoTools)
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.Bridge == "" {
		opts.Bridge = DefaultBridge
	}
	if opts.PodSubnet == "" {
		opts.PodSubnet = DefaultPodSubnet
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 3 * time.Minute
	}
	if opts.Addons {
		if opts.Tools.KubeProxy == "" || opts.Tools.CoreDNS == "" || opts.Tools.MetricsServer == "" {
			return nil, fmt.Errorf("%w: Options.Tools lacks an add-on", ErrNoTools)
		}
		if opts.ClusterDNS == "" {
			opts.ClusterDNS = DNSServiceIP
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	_, subnet, err := net.ParseCIDR(opts.PodSubnet)
	if err != nil || subnet.IP.To4() == nil {
		return nil, fmt.Errorf("nodetest: PodSubnet %q is not an IPv4 CIDR", opts.PodSubnet)
	}
	if ones, _ := subnet.Mask.Size(); ones > 28 {
		return nil, fmt.Errorf("nodetest: PodSubnet %s is too small", opts.PodSubnet)
	}
	if opts.NodeIP == "" {
		if opts.NodeIP, err = DefaultNodeIP(); err != nil {
			return nil, err
		}
	}
	if ip := net.ParseIP(opts.NodeIP); ip == nil || ip.To4() == nil || ip.IsLoopback() {
		return nil, fmt.Errorf("nodetest: NodeIP %q is not a non-loopback IPv4 address", opts.NodeIP)
	}
	if dropIns, _ := filepath.Glob(containerdDropIns); len(dropIns) > 0 {
		return nil, fmt.Errorf("nodetest: containerd would merge %s into the node's configuration (it always reads %s): move them away while a node runs",
			strings.Join(dropIns, ", "), containerdDropIns)
	}
	pause, err := os.ReadFile(opts.Tools.Pause)
	if err != nil {
		return nil, fmt.Errorf("nodetest: PAUSE: %w", err)
	}
	if err := ociimage.CheckStatic(bytes.NewReader(pause), runtime.GOARCH); err != nil {
		return nil, fmt.Errorf("nodetest: PAUSE=%s: %w", opts.Tools.Pause, err)
	}

	lock, err := lockMachine(ctx, LockPath, func() {
		opts.Logger.Info("waiting for another node to finish", "lock", LockPath)
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	n = &Node{
		Name: opts.Name, IP: opts.NodeIP, Bridge: opts.Bridge, PodSubnet: subnet, Tools: opts.Tools,
		SandboxImage: "localhost/stampede/pause:" + opts.Tools.PauseVersion,
		cp:           cp, log: opts.Logger, lock: lock,
	}
	n.scope = snapshotScope{
		paths:      watchedDirs,
		binaries:   opts.Tools.ownBinaries(),
		binaryDirs: []string{filepath.Dir(opts.Tools.Containerd), filepath.Dir(opts.Tools.Kubelet)},
	}
	stale, err := readState(StatePath)
	if err == nil && stale != nil {
		opts.Logger.Warn("nodetest: a node was not torn down (its process died); tearing it down", "pid", stale.PID, "dir", stale.Dir)
		err = recoverCrashed(*stale, StatePath)
	}
	if err != nil {
		lock.release()
		return nil, err
	}
	if n.before, err = takeSnapshot(n.scope); err != nil {
		lock.release()
		return nil, fmt.Errorf("nodetest: recording the machine's state: %w", err)
	}
	if err := checkFree(n.before, opts.Bridge, subnet); err != nil {
		lock.release()
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, n.Stop(context.Background()))
			n = nil
		}
	}()

	// Past this point Stop undoes everything, including what failed halfway.
	if n.Dir, err = os.MkdirTemp(opts.TempDir, "nodetest-"); err != nil {
		return n, err
	}
	n.ContainerdSocket = filepath.Join(n.Dir, "containerd.sock")
	// From here on a crash leaves changes behind: the next node tears them down with this.
	if err := writeState(StatePath, n.state()); err != nil {
		return n, fmt.Errorf("nodetest: %w", err)
	}
	if err := guardNetwork(opts.Bridge); err != nil {
		return n, err
	}

	gw := slices.Clone(subnet.IP.To4())
	gw[3]++
	kubeletPort, err := kubetest.FreePort(opts.NodeIP)
	if err != nil {
		return n, fmt.Errorf("nodetest: a port on %s: %w", opts.NodeIP, err)
	}
	healthPort, err := kubetest.FreePort("127.0.0.1")
	if err != nil {
		return n, err
	}
	c := nodeConfig{
		Dir: n.Dir, ContainerdSocket: n.ContainerdSocket, SandboxImage: n.SandboxImage,
		Runc: opts.Tools.Runc, CNIBinDir: opts.Tools.CNIBinDir, CNIConfDir: filepath.Join(n.Dir, "cni", "net.d"),
		Bridge: opts.Bridge, PodSubnet: subnet.String(), PodGateway: gw.String(), NodeIP: opts.NodeIP,
		KubeletPort: kubeletPort, KubeletHealthPort: healthPort, ClientCAFile: cp.ClientCAFile,
		ClusterDNS: opts.ClusterDNS, ClusterDomain: ClusterDomain,
	}
	var ports addonPorts
	if opts.Addons {
		if ports, err = freeAddonPorts(opts.NodeIP); err != nil {
			return n, err
		}
		if err := n.createAddonObjects(ctx, ports); err != nil {
			return n, err
		}
	}
	if err := n.startContainerd(ctx, c, pause); err != nil {
		return n, err
	}
	if err := n.startKubelet(ctx, c, opts.Labels); err != nil {
		return n, err
	}
	if opts.Addons {
		if err := n.startAddons(ctx, ports); err != nil {
			return n, err
		}
	}
	return n, nil
}

// DefaultNodeIP is the IPv4 address of the interface the default route leaves by.
func DefaultNodeIP() (string, error) {
	b, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return "", fmt.Errorf("nodetest: no NodeIP given, and %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[1] != "00000000" || f[7] != "00000000" {
			continue
		}
		ifc, err := net.InterfaceByName(f[0])
		if err != nil {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
				return ipn.IP.String(), nil
			}
		}
	}
	return "", errors.New("nodetest: no NodeIP given, and the default route's interface has no IPv4 address")
}

// checkFree fails when the bridge already exists, a route overlaps the pod subnet, or a previous
// node's leftovers are still there (its kubepods cgroups, the kubelet's iptables chains): the
// leftover check would take them for the machine's normal state.
func checkFree(s snapshot, bridge string, subnet *net.IPNet) error {
	var problems []string
	for _, l := range s.aspects[aspectLink] {
		if name, _, _ := strings.Cut(l, " "); name == bridge {
			problems = append(problems, "the network interface "+bridge+" exists")
		}
	}
	for _, l := range s.aspects[aspectCgroup] {
		if filepath.Base(l) == "kubepods" {
			problems = append(problems, "cgroup "+l+" exists")
		}
	}
	for _, l := range s.aspects[aspectIPTables] {
		if strings.Contains(l, ":KUBE-KUBELET-CANARY") || strings.Contains(l, ":STAMPEDE-") {
			problems = append(problems, "iptables: "+l)
		}
	}
	for _, p := range s.aspects[aspectProcess] {
		problems = append(problems, "process "+p)
	}
	if out, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output(); err == nil {
		for l := range strings.SplitSeq(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) == 0 || f[0] == "default" || f[0] == "broadcast" || f[0] == "local" {
				continue
			}
			dst := f[0]
			if !strings.Contains(dst, "/") {
				dst += "/32"
			}
			if _, rn, err := net.ParseCIDR(dst); err == nil && (rn.Contains(subnet.IP) || subnet.Contains(rn.IP)) {
				problems = append(problems, "route "+strings.TrimSpace(l)+" overlaps the pod subnet "+subnet.String())
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("nodetest: the machine is not ready for a node (a previous one not torn down?): %s", strings.Join(problems, "; "))
	}
	return nil
}

// forwardChain is the harness's guard: pod traffic stays on the node's bridge. Pods reach each
// other and the host; the host forwards nothing from the bridge to another interface or back. It
// hangs off the mangle table's FORWARD, which packets pass before the filter table's, where
// kube-proxy puts its own ACCEPT rules first. outputChain rejects what the host sends to a
// Service address kube-proxy did not translate (a Service it has not programmed yet), which the
// default route would otherwise carry off the machine.
const (
	forwardChain = "STAMPEDE-NODE-FORWARD"
	outputChain  = "STAMPEDE-NODE-OUTPUT"
)

func guardNetwork(bridge string) error {
	type rule struct {
		cmd, table string
		args       []string
	}
	var rules []rule
	for _, cmd := range []string{"iptables", "ip6tables"} {
		for _, args := range [][]string{
			{"-N", forwardChain},
			{"-A", forwardChain, "-i", bridge, "!", "-o", bridge, "-j", "DROP"},
			{"-A", forwardChain, "!", "-i", bridge, "-o", bridge, "-j", "DROP"},
			{"-I", "FORWARD", "1", "-j", forwardChain},
		} {
			rules = append(rules, rule{cmd, "mangle", args})
		}
	}
	for _, args := range [][]string{
		{"-N", outputChain},
		{"-A", outputChain, "-d", kubetest.ServiceCIDR, "-j", "REJECT"},
		{"-I", "OUTPUT", "1", "-j", outputChain},
	} {
		rules = append(rules, rule{"iptables", "filter", args})
	}
	for _, r := range rules {
		if out, err := exec.Command(r.cmd, append([]string{"-w", "-t", r.table}, r.args...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("nodetest: %s -t %s %s: %v: %s", r.cmd, r.table, strings.Join(r.args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

func (n *Node) start(name, bin string, env []string, args ...string) (*kubetest.Process, error) {
	p, err := kubetest.StartProcess(kubetest.Command{
		Name: name, Path: bin, Args: args, Env: env, LogFile: filepath.Join(n.Dir, name+".log"),
	})
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.procs = append(n.procs, p)
	n.mu.Unlock()
	return p, nil
}

func (n *Node) processes() []*kubetest.Process {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.procs)
}

func (n *Node) startContainerd(ctx context.Context, c nodeConfig, pause []byte) error {
	if err := os.MkdirAll(c.CNIConfDir, 0o755); err != nil {
		return err
	}
	cni, err := cniConfig(c)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.CNIConfDir, "10-stampede.conflist"), cni, 0o644); err != nil {
		return err
	}
	conf := filepath.Join(n.Dir, "containerd.toml")
	if err := os.WriteFile(conf, []byte(containerdConfig(c)), 0o644); err != nil {
		return err
	}
	// containerd finds its shim on the PATH.
	path := "PATH=" + filepath.Dir(n.Tools.ContainerdShim) + ":" + os.Getenv("PATH")
	p, err := n.start("containerd", n.Tools.Containerd, []string{path}, "--config", conf)
	if err != nil {
		return err
	}
	if err := kubetest.WaitFor(ctx, "containerd's CRI plugin", []*kubetest.Process{p}, func(ctx context.Context) (bool, error) {
		out, err := n.Ctr(ctx, "plugins", "ls", "id==cri")
		if err != nil {
			return false, err
		}
		return strings.Contains(out, " ok"), fmt.Errorf("CRI plugin: %s", out)
	}); err != nil {
		return fmt.Errorf("nodetest: %w", err)
	}

	archive := filepath.Join(n.Dir, "pause.tar")
	f, err := os.Create(archive)
	if err != nil {
		return err
	}
	_, err = ociimage.Write(f, ociimage.Image{
		Ref: n.SandboxImage, OS: "linux", Architecture: runtime.GOARCH,
		CreatedBy: "nodetest: pause.c of Kubernetes, built with gcc -static by .ci/k8s-tools.sh --node",
		Config:    ociimage.Config{User: "65535:65535", Entrypoint: []string{"/pause"}},
		Files:     []ociimage.File{{Path: "/pause", Mode: 0o755, Data: pause}},
	})
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("nodetest: pause image: %w", err)
	}
	if err := n.ImportImage(ctx, archive); err != nil {
		return err
	}
	// Pinned, the kubelet's image garbage collection never removes it.
	if _, err := n.Ctr(ctx, "images", "label", n.SandboxImage, "io.cri-containerd.pinned=pinned"); err != nil {
		return fmt.Errorf("nodetest: pin %s: %w", n.SandboxImage, err)
	}
	return nil
}

// Ctr runs ctr against the node's containerd in the namespace the kubelet's containers live in
// (k8s.io) and returns its output; a failure's error carries its stderr.
func (n *Node) Ctr(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, n.Tools.Ctr, append([]string{"--address", n.ContainerdSocket, "--namespace", "k8s.io"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// ImportImage imports an image tarball (OCI layout or docker save format, as internal/ociimage
// and `make images` write them) into the node's containerd, where pods with imagePullPolicy
// Never or IfNotPresent find it by its reference.
func (n *Node) ImportImage(ctx context.Context, archive string) error {
	if _, err := n.Ctr(ctx, "images", "import", archive); err != nil {
		return fmt.Errorf("nodetest: %w", err)
	}
	return nil
}

func (n *Node) startKubelet(ctx context.Context, c nodeConfig, labels map[string]string) error {
	dir := filepath.Join(n.Dir, "kubelet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	conf, err := kubeletConfig(c)
	if err != nil {
		return err
	}
	confFile := filepath.Join(n.Dir, "kubelet.json")
	if err := os.WriteFile(confFile, conf, 0o644); err != nil {
		return err
	}
	// Its identity: system:node:NAME in system:nodes, which the Node authorizer and the
	// NodeRestriction admission plugin confine to this Node and its pods.
	id, err := n.cp.ClientConfig("system:node:"+n.Name, "system:nodes")
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(n.Dir, "kubelet.kubeconfig")
	if err := kubetest.WriteKubeconfig(kubeconfig, id, ""); err != nil {
		return err
	}
	all := map[string]string{kubetest.NodeLabel: NodeLabelValue}
	maps.Copy(all, labels)
	var ls []string
	for _, k := range slices.Sorted(maps.Keys(all)) {
		ls = append(ls, k+"="+all[k])
	}
	if _, err := n.start("kubelet", n.Tools.Kubelet, nil,
		"--config="+confFile,
		"--kubeconfig="+kubeconfig,
		"--root-dir="+dir,
		"--cert-dir="+filepath.Join(dir, "pki"), // not under --root-dir by default
		"--hostname-override="+n.Name,
		"--node-ip="+n.IP,
		"--node-labels="+strings.Join(ls, ","),
		"--v=1",
	); err != nil {
		return err
	}
	client := n.cp.Client
	if err := kubetest.WaitFor(ctx, "Node "+n.Name+" Ready and schedulable", n.processes(), func(ctx context.Context) (bool, error) {
		node, err := client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status != corev1.ConditionTrue {
				return false, fmt.Errorf("Ready is %s: %s", cond.Status, cond.Message)
			}
		}
		if !nodeReady(node) {
			return false, errors.New("no Ready condition yet")
		}
		for _, t := range node.Spec.Taints {
			if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
				return false, fmt.Errorf("taint %s=%s:%s", t.Key, t.Value, t.Effect)
			}
		}
		return true, nil
	}); err != nil {
		return fmt.Errorf("nodetest: %w", err)
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// KeepDir makes Stop leave Dir's files (logs, configuration) in place, after unmounting
// everything under it.
func (n *Node) KeepDir() { n.keepDir = true }

// DumpLogs writes the last lines of containerd's and the kubelet's logs to w.
func (n *Node) DumpLogs(w io.Writer, lines int) {
	for _, p := range n.processes() {
		fmt.Fprintf(w, "===== %s (last %d lines of %s)\n%s\n", p.Name, lines, p.LogFile, p.Tail(lines))
	}
}

// Exited reports the first of the node's components that is no longer running, nil if all are.
func (n *Node) Exited() error {
	for _, p := range n.processes() {
		if err := p.Exited(); err != nil {
			return err
		}
	}
	return nil
}

// podDrainTimeout bounds how long Stop waits for the kubelet to stop the node's pods.
const podDrainTimeout = 2 * time.Minute

// Stop tears the node down and checks the machine: it cordons the Node and deletes its pods
// (waiting for the kubelet to stop them), deletes the Node, stops the kubelet and containerd,
// kills whatever of theirs still runs, unmounts everything under Dir, removes the iptables and
// ip6tables chains the node's parts made (and the jumps to them; rules that were there before
// stay), the kubepods cgroups, the bridge, the new entries of the directories the parts write to
// whatever their configuration (/run/containerd, /var/log/containers, ...), restores every sysctl
// that changed, and removes Dir. Then it compares the machine with the snapshot New took and
// returns an error wrapping ErrLeftovers that lists every difference. It also releases the machine
// lock. Calls after the first return the first's result.
func (n *Node) Stop(ctx context.Context) error {
	n.stopped.Store(true)
	n.stopOnce.Do(func() { n.stopErr = n.stop(ctx) })
	return n.stopErr
}

func (n *Node) stop(ctx context.Context) error {
	defer n.lock.release()
	var errs []error
	note := func(format string, args ...any) { n.log.Warn("nodetest teardown: " + fmt.Sprintf(format, args...)) }
	kubeletRunning := false
	for _, p := range n.processes() {
		if p.Name == "kubelet" && p.Exited() == nil {
			kubeletRunning = true
		}
	}
	if kubeletRunning {
		if err := n.drain(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	procs := n.processes()
	// The kubelet first, so that it does not restart what containerd stops; the Node once no
	// kubelet can register it again.
	for i := len(procs) - 1; i >= 0; i-- {
		if procs[i].Name == "containerd" {
			n.deleteNode(ctx)
			if n.ContainerdSocket != "" && procs[i].Exited() == nil {
				if out, err := n.Ctr(ctx, "tasks", "ls", "-q"); err == nil && strings.TrimSpace(out) != "" {
					note("containers still running when the kubelet stopped: %s", strings.Join(strings.Fields(out), " "))
				}
			}
		}
		procs[i].Stop(10 * time.Second)
	}
	st := n.state()
	killed, terrs := teardown(st)
	if len(killed) > 0 {
		note("killed processes still running after containerd stopped: %s", strings.Join(killed, "; "))
	}
	errs = append(errs, terrs...)
	logs := ""
	if n.Dir != "" {
		if n.keepDir {
			n.log.Info("nodetest: keeping the node's directory", "dir", n.Dir)
		} else {
			logs = n.saveLogs()
			if err := os.RemoveAll(n.Dir); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := checkMachine(st); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		if err := os.Remove(StatePath); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	if logs != "" {
		if len(errs) > 0 {
			errs = append(errs, fmt.Errorf("nodetest: the node's logs are kept in %s", logs))
		} else {
			_ = os.RemoveAll(logs)
		}
	}
	return errors.Join(errs...)
}

// saveLogs moves the components' logs out of Dir, into a directory of their own beside it, and
// returns its path ("" if there was nothing to save or it failed).
func (n *Node) saveLogs() string {
	files, _ := filepath.Glob(filepath.Join(n.Dir, "*.log"))
	if len(files) == 0 {
		return ""
	}
	dir := n.Dir + "-logs"
	if err := os.Mkdir(dir, 0o755); err != nil {
		return ""
	}
	for _, f := range files {
		_ = os.Rename(f, filepath.Join(dir, filepath.Base(f)))
	}
	for _, p := range n.processes() {
		p.LogFile = filepath.Join(dir, filepath.Base(p.LogFile))
	}
	return dir
}

// deleteNode deletes the Node object, so that the control plane can take another node.
func (n *Node) deleteNode(ctx context.Context) {
	if n.cp == nil || n.Name == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := n.cp.Client.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		n.log.Warn("nodetest teardown: delete Node", "node", n.Name, "err", err)
	}
}

// drain cordons the Node, so that controllers' replacement pods stay Pending, deletes every pod
// bound to it and waits until the kubelet has stopped them all (the API server forgets a pod only
// once its kubelet says its containers are gone).
func (n *Node) drain(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, podDrainTimeout)
	defer cancel()
	pods := n.cp.Client.CoreV1().Pods("")
	patch := []byte(`{"spec":{"unschedulable":true}}`)
	if _, err := n.cp.Client.CoreV1().Nodes().Patch(ctx, n.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("nodetest: cordon %s: %w", n.Name, err)
	}
	sel := metav1.ListOptions{FieldSelector: "spec.nodeName=" + n.Name}
	grace := int64(1)
	err := kubetest.WaitFor(ctx, "the pods on "+n.Name+" to be gone", nil, func(ctx context.Context) (bool, error) {
		list, err := pods.List(ctx, sel)
		if err != nil {
			return false, err
		}
		var left []string
		for _, p := range list.Items {
			left = append(left, p.Namespace+"/"+p.Name+" ("+string(p.Status.Phase)+")")
			if p.DeletionTimestamp == nil {
				err := n.cp.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
				if err != nil && !apierrors.IsNotFound(err) {
					return false, err
				}
			}
		}
		return len(left) == 0, fmt.Errorf("still there: %s", strings.Join(left, ", "))
	})
	if err != nil {
		return fmt.Errorf("nodetest: %w", err)
	}
	return nil
}

// removeNewNetns unmounts and removes network namespaces in /run/netns that were not there
// before and are not podman's (containerd keeps the node's under its state directory; this
// catches any that went to the default place).
func removeNewNetns(before []string) error {
	now, err := listDir("/run/netns")
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range now {
		if slices.Contains(before, name) || foreign(aspectNetns, name) {
			continue
		}
		p := filepath.Join("/run/netns", name)
		if err := unmountUnder(p); err != nil {
			errs = append(errs, err)
		}
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// PodCgroup returns the directory of the pod's cgroup in the hierarchy of controller ("cpu",
// "memory", ...): /sys/fs/cgroup/cpu/kubepods/burstable/pod<UID> for a Burstable pod.
func PodCgroup(controller string, uid types.UID) (string, error) {
	mounts, err := readMounts()
	if err != nil {
		return "", err
	}
	name := "pod" + string(uid)
	for _, h := range cgroupHierarchies(mounts) {
		if filepath.Base(h) != controller && !slices.Contains(strings.Split(filepath.Base(h), ","), controller) {
			continue
		}
		for _, qos := range []string{"", "burstable", "besteffort"} {
			d := filepath.Join(h, "kubepods", qos, name)
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				return d, nil
			}
		}
	}
	return "", fmt.Errorf("nodetest: no %s cgroup for pod %s", controller, uid)
}

// ReadCgroupInt reads a cgroup file holding one integer.
func ReadCgroupInt(dir, file string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}
