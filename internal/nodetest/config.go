//go:build linux

package nodetest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// nodeConfig is what the configuration files are made from.
type nodeConfig struct {
	Dir               string // the node's directory: every state and config file is under it
	ContainerdSocket  string
	SandboxImage      string
	Runc              string
	CNIBinDir         string
	CNIConfDir        string
	Bridge            string
	PodSubnet         string
	PodGateway        string
	NodeIP            string
	KubeletPort       int
	KubeletHealthPort int
	ClientCAFile      string
	ClusterDNS        string
	ClusterDomain     string
}

// tomlString quotes s as a TOML basic string (Go's quoting agrees with TOML's for the paths and
// names used here).
func tomlString(s string) string { return strconv.Quote(s) }

// containerdConfig is containerd's configuration (version 3): every directory under the node's, no
// TCP or metrics listener, the plugins that would use host-wide paths off or moved under the
// node's directory, and the CRI runtime set up for these machines. containerd also merges
// /etc/containerd/conf.d/*.toml, whatever the file says; New refuses to start when there is one.
func containerdConfig(c nodeConfig) string {
	q := tomlString
	var b strings.Builder
	fmt.Fprintf(&b, `version = 3
root = %s
state = %s
# NRI would listen on /var/run/nri/nri.sock; nothing here uses it. The other snapshotters only probe.
disabled_plugins = [
  "io.containerd.nri.v1.nri",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = %s

[ttrpc]
  address = %s

[metrics]
  address = ""

[plugins.'io.containerd.internal.v1.opt']
  path = %s

[plugins.'io.containerd.image-verifier.v1.bindir']
  bin_dir = %s

[plugins.'io.containerd.grpc.v1.cri']
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    # Built and imported by the harness: there is no registry to pull from.
    sandbox = %s

[plugins.'io.containerd.cri.v1.runtime']
  # The sandbox asks for oom_score_adj -998; lowering it needs CAP_SYS_RESOURCE, which this
  # machine's root lacks, and runc then fails to start it. This clamps it to containerd's own.
  restrict_oom_score_adj = true
  # Network namespaces under the state directory, not /var/run/netns.
  netns_mounts_under_state_dir = true
  cdi_spec_dirs = [%s]
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = %s
        Root = %s
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = [%s]
    conf_dir = %s
    max_conf_num = 1
`,
		q(c.Dir+"/containerd/root"), q(c.Dir+"/containerd/state"),
		q(c.ContainerdSocket), q(c.ContainerdSocket+".ttrpc"),
		q(c.Dir+"/containerd/opt"), q(c.Dir+"/containerd/opt/image-verifier/bin"),
		q(c.SandboxImage),
		q(c.Dir+"/cdi"), q(c.Runc), q(c.Dir+"/containerd/runc"),
		q(c.CNIBinDir), q(c.CNIConfDir))
	return b.String()
}

// cniConfig is the pod network: a bridge of the node's own with the gateway on the host, no
// masquerading (pods reach the host and each other, nothing beyond), host-local addresses kept
// under the node's directory, and portmap for hostPort.
func cniConfig(c nodeConfig) ([]byte, error) {
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "stampede-node",
		"plugins": []any{
			map[string]any{
				"type":        "bridge",
				"bridge":      c.Bridge,
				"isGateway":   true,
				"ipMasq":      false,
				"hairpinMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"ranges":  [][]map[string]string{{{"subnet": c.PodSubnet, "gateway": c.PodGateway}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
					"dataDir": c.Dir + "/cni/ipam",
				},
			},
			map[string]any{
				"type":         "portmap",
				"capabilities": map[string]bool{"portMappings": true},
			},
		},
	}
	return json.MarshalIndent(conf, "", "  ")
}

// kubeletConfig is the KubeletConfiguration, as JSON (which the kubelet reads as YAML). What this
// machine needs (REAL-NODE.md): cgroup v1 allowed, the cgroupfs driver, no swap check. The kubelet
// authenticates callers with client certificates of the cluster's client CA or bearer tokens (a
// TokenReview), and asks the API server whether they may (a SubjectAccessReview), as metrics-server
// and the API server itself expect.
func kubeletConfig(c nodeConfig) ([]byte, error) {
	conf := map[string]any{
		"apiVersion":               "kubelet.config.k8s.io/v1beta1",
		"kind":                     "KubeletConfiguration",
		"failCgroupV1":             false,
		"cgroupDriver":             "cgroupfs",
		"containerRuntimeEndpoint": "unix://" + c.ContainerdSocket,
		"address":                  c.NodeIP,
		"port":                     c.KubeletPort,
		"readOnlyPort":             0,
		"healthzBindAddress":       "127.0.0.1",
		"healthzPort":              c.KubeletHealthPort,
		"authentication": map[string]any{
			"anonymous": map[string]bool{"enabled": false},
			"webhook":   map[string]any{"enabled": true, "cacheTTL": "10s"},
			"x509":      map[string]string{"clientCAFile": c.ClientCAFile},
		},
		"authorization": map[string]any{
			"mode":    "Webhook",
			"webhook": map[string]string{"cacheAuthorizedTTL": "10s", "cacheUnauthorizedTTL": "5s"},
		},
		"failSwapOn": false,
		// The disk is shared with everything else on the machine: evict only when nearly full.
		"evictionHard": map[string]string{
			"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%",
		},
		"imageGCHighThresholdPercent": 100,
		"imageGCLowThresholdPercent":  99,
		"podLogsDir":                  c.Dir + "/pod-logs",
		"clusterDomain":               c.ClusterDomain,
		"serializeImagePulls":         false,
		// Quicker than the defaults, for tests that wait on status.
		"nodeStatusUpdateFrequency": "4s",
		"nodeStatusReportFrequency": "10s",
		"syncFrequency":             "10s",
		"shutdownGracePeriod":       "0s",
	}
	if c.ClusterDNS != "" {
		conf["clusterDNS"] = []string{c.ClusterDNS}
	}
	return json.MarshalIndent(conf, "", "  ")
}
