//go:build linux

package nodetest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Tools are the node's binaries, as `.ci/k8s-tools.sh --node` prints them.
type Tools struct {
	Kubelet        string // KUBELET
	KubeProxy      string // KUBE_PROXY
	Containerd     string // CONTAINERD
	ContainerdShim string // CONTAINERD_SHIM: containerd-shim-runc-v2, found by containerd on its PATH
	Ctr            string // CTR
	Runc           string // RUNC: Debian's
	CNIBinDir      string // CNI_BIN_DIR: bridge, host-local, loopback, portmap
	Pause          string // PAUSE: the static sandbox binary
	PauseVersion   string // PAUSE_VERSION
	CoreDNS        string // COREDNS
	MetricsServer  string // METRICS_SERVER
}

// ErrNoTools means the environment does not name the node's tools: run `make test-node`, or load
// the variables `.ci/k8s-tools.sh --node` prints.
var ErrNoTools = errors.New("nodetest: the node tools are not configured")

// ErrNotRoot means the test does not run as root: a node mounts, makes cgroups, bridges and
// iptables chains.
var ErrNotRoot = errors.New("nodetest: a real node needs root")

// RequireEnv is the environment variable that turns missing tools (or not being root) from a skip
// into a failure.
const RequireEnv = "STAMPEDE_REQUIRE_NODE"

// ToolsFromEnv reads the tool paths from the variables `.ci/k8s-tools.sh --node` prints. It fails
// with ErrNoTools when any is unset, and with another error when a path is not what it should be.
func ToolsFromEnv(lookup func(string) (string, bool)) (Tools, error) {
	var t Tools
	const exe, dir, text = 0, 1, 2
	fields := []struct {
		key  string
		dst  *string
		kind int
	}{
		{"KUBELET", &t.Kubelet, exe},
		{"KUBE_PROXY", &t.KubeProxy, exe},
		{"CONTAINERD", &t.Containerd, exe},
		{"CONTAINERD_SHIM", &t.ContainerdShim, exe},
		{"CTR", &t.Ctr, exe},
		{"RUNC", &t.Runc, exe},
		{"CNI_BIN_DIR", &t.CNIBinDir, dir},
		{"PAUSE", &t.Pause, exe},
		{"PAUSE_VERSION", &t.PauseVersion, text},
		{"COREDNS", &t.CoreDNS, exe},
		{"METRICS_SERVER", &t.MetricsServer, exe},
	}
	var missing []string
	for _, f := range fields {
		v, ok := lookup(f.key)
		if !ok || v == "" {
			missing = append(missing, f.key)
			continue
		}
		*f.dst = v
	}
	if len(missing) > 0 {
		return Tools{}, fmt.Errorf("%w: %s unset; run `make test-node` (it runs .ci/k8s-tools.sh --node and exports them) or `set -a; . <(.ci/k8s-tools.sh --node); set +a`",
			ErrNoTools, strings.Join(missing, ", "))
	}
	for _, f := range fields {
		if f.kind == text {
			continue
		}
		st, err := os.Stat(*f.dst)
		switch {
		case err != nil:
			return Tools{}, fmt.Errorf("nodetest: %s=%s: %w (rerun .ci/k8s-tools.sh --node)", f.key, *f.dst, err)
		case f.kind == dir && !st.IsDir():
			return Tools{}, fmt.Errorf("nodetest: %s=%s is not a directory", f.key, *f.dst)
		case f.kind == exe && (st.IsDir() || st.Mode()&0o111 == 0):
			return Tools{}, fmt.Errorf("nodetest: %s=%s is not an executable file", f.key, *f.dst)
		}
	}
	for _, p := range []string{"bridge", "host-local", "loopback", "portmap"} {
		if _, err := os.Stat(filepath.Join(t.CNIBinDir, p)); err != nil {
			return Tools{}, fmt.Errorf("nodetest: CNI plugin %s: %w (rerun .ci/k8s-tools.sh --node)", p, err)
		}
	}
	return t, nil
}

// ownBinaries are the binaries whose processes belong to a node: what the leftover check looks
// for. Not runc: podman runs it too, and the node's containers are found by their cgroup.
func (t Tools) ownBinaries() []string {
	return []string{t.Kubelet, t.KubeProxy, t.Containerd, t.ContainerdShim, t.Ctr, t.CoreDNS, t.MetricsServer}
}
