//go:build linux

package nodetest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stampede-load/stampede/internal/kubetest"
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
	err := kubetest.LoadToolVars(lookup, kubetest.ToolSet{
		Package: "nodetest", NotConfigured: ErrNoTools,
		Fix:     "run `make test-node` (it runs .ci/k8s-tools.sh --node and exports them) or `set -a; . <(.ci/k8s-tools.sh --node); set +a`",
		Rebuild: "rerun .ci/k8s-tools.sh --node",
	}, []kubetest.ToolVar{
		{Key: "KUBELET", Dst: &t.Kubelet, Kind: kubetest.Executable},
		{Key: "KUBE_PROXY", Dst: &t.KubeProxy, Kind: kubetest.Executable},
		{Key: "CONTAINERD", Dst: &t.Containerd, Kind: kubetest.Executable},
		{Key: "CONTAINERD_SHIM", Dst: &t.ContainerdShim, Kind: kubetest.Executable},
		{Key: "CTR", Dst: &t.Ctr, Kind: kubetest.Executable},
		{Key: "RUNC", Dst: &t.Runc, Kind: kubetest.Executable},
		{Key: "CNI_BIN_DIR", Dst: &t.CNIBinDir, Kind: kubetest.Dir},
		{Key: "PAUSE", Dst: &t.Pause, Kind: kubetest.Executable},
		{Key: "PAUSE_VERSION", Dst: &t.PauseVersion, Kind: kubetest.Text},
		{Key: "COREDNS", Dst: &t.CoreDNS, Kind: kubetest.Executable},
		{Key: "METRICS_SERVER", Dst: &t.MetricsServer, Kind: kubetest.Executable},
	})
	if err != nil {
		return Tools{}, err
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
