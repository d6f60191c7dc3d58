//go:build linux

// Package nodetest runs a real Kubernetes node on this machine for tests: containerd (with
// Debian's runc) and a kubelet, registered with a control plane from internal/kubetest, pods on a
// CNI bridge of the node's own; with Options.Addons also kube-proxy, CoreDNS and metrics-server
// (addons.go), so Services, cluster DNS and the resource metrics API an HPA reads all work. Where
// kubetest's kwok only pretends, here containers run: images are imported into containerd, probes
// hit real processes, limits land in cgroups, HPAs scale on the CPU pods burn. The binaries come
// from `.ci/k8s-tools.sh --node`; `make test-node` builds them and runs the tests as root.
//
//	cp := kubetest.Start(t, kubetest.Options{RealNodes: true, AdvertiseAddress: ip})
//	node := nodetest.Start(t, cp, nodetest.Options{NodeIP: ip, Addons: true})
//	node.ImportImage(ctx, "dist/images/stampede-target.tar")
//	// create pods with imagePullPolicy Never or IfNotPresent; reach them from the host at their
//	// pod IPs or Service IPs, by name through node.Resolver()
//
// A node changes the machine, so New takes a machine-wide lock (LockPath; a second node waits) and
// records what it can change: mounts, network interfaces and namespaces, iptables and ip6tables
// rules, nftables tables, top-level cgroups, the directories the node's parts write to whatever
// their configuration (/run/containerd, /var/log/containers, ...), the node's processes and the
// sysctls under fs, kernel, net and vm. Everything the parts can be told to keep elsewhere lives in
// Node.Dir: containerd's root and state, runc's state, network namespaces, IP leases, the kubelet's
// root directory (which it bind-mounts on itself) and pod logs. Stop tears the node down, undoes
// what the parts changed outside Node.Dir (the kubelet's sysctls and iptables chains, kubepods
// cgroups, the bridge), then compares the machine with the record and fails, naming each
// difference, if anything is left. Changes podman makes meanwhile (netavark's rules and
// interfaces, its mounts and netns) are not counted: tests run it on the same machine. Kernel
// modules the parts load on demand (bridge, veth, overlay, br_netfilter) stay loaded.
//
// The record is also written to StatePath. If the test process dies without Stop (its kubelet and
// containerd die with it; the containers and their shims do not), the next New finds the record,
// tears that node down the same way and checks the machine against it before it starts; if the
// machine still differs, New fails, and keeps failing, until someone looks.
//
// The node's networking stays inside the machine: the bridge is the pods' gateway without
// masquerading, and a chain of the harness (in the mangle table, ahead of kube-proxy's rules) drops
// whatever the host would forward between the bridge and another interface; another rejects what
// the host sends to a Service address kube-proxy has not translated, which the default route would
// carry off. Pods reach each other and the host; the host reaches them at their pod IPs.
//
// What these machines need (cgroup v1 allowed, the cgroupfs driver without systemd, the sandbox's
// oom_score_adj clamped because root lacks CAP_SYS_RESOURCE) is in the configuration New writes
// (config.go). The kubelet authenticates as
// system:node:NAME with a client certificate from the control plane, and authenticates and
// authorizes its own callers through the API server (webhook mode), as metrics-server expects.
//
// This is test support, like net/http/httptest: NeedTools reads the environment on purpose. A
// Node's methods are safe for concurrent use; Stop must be called once all other use is over.
package nodetest
