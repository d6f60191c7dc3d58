//go:build linux

package kubetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	// ServiceCIDR is the range of the Services' ClusterIPs.
	ServiceCIDR = "10.96.0.0/16"
	serviceIP   = "10.96.0.1" // the kubernetes Service: the first address of ServiceCIDR
	podCIDR     = "10.244.0.0/16"
	// Issuer is the issuer (and default audience) of the ServiceAccount tokens the API server signs.
	Issuer = "https://kubernetes.default.svc.cluster.local"
	// AdminUser is the user name of the admin token, a member of system:masters.
	AdminUser = "kubetest-admin"
	// KwokNodeAnnotation marks the Nodes kwok manages (kwok's convention, value "fake").
	KwokNodeAnnotation = "kwok.x-k8s.io/node"
	// NodeLabel is set to "kwok" on the harness's Nodes.
	NodeLabel = "kubetest.stampede.dev/node"
)

// controllers are the kube-controller-manager controllers the harness runs: enough for
// Deployments, Jobs, HPAs, namespaces and ServiceAccounts, and no node lifecycle (kwok's nodes send
// no heartbeats, so it would taint and evict them).
var controllers = []string{
	"deployment-controller",
	"replicaset-controller",
	"horizontal-pod-autoscaler-controller",
	"job-controller",
	"garbage-collector-controller",
	"namespace-controller",
	"serviceaccount-controller",
	"root-ca-certificate-publisher-controller",
}

// realNodeControllers are added when the Nodes are real kubelets: the node lifecycle controller
// lifts the not-ready taint a new Node gets and marks a silent one NotReady, Services get
// EndpointSlices, and finished or orphaned pods are collected.
var realNodeControllers = []string{
	"node-lifecycle-controller",
	"taint-eviction-controller",
	"endpointslice-controller",
	"pod-garbage-collector-controller",
	"ttl-after-finished-controller",
}

// Options configure New.
type Options struct {
	// Tools are the binaries; see ToolsFromEnv.
	Tools Tools
	// Nodes is how many kwok Nodes to create (named kwok-node-0, ...). Default 1.
	Nodes int
	// Stages are kwok Stage documents (YAML) added to the fast stages of Tools.KwokStages. Default
	// DefaultStages.
	Stages string
	// TempDir is where the control plane's directory is created. Default os.TempDir().
	TempDir string
	// StartTimeout bounds New. Default 2 minutes.
	StartTimeout time.Duration

	// RealNodes leaves kwok out (Nodes and Stages are ignored): the Nodes are real kubelets that
	// register themselves (internal/nodetest). As in a real cluster a new Node is tainted not-ready
	// until the node lifecycle controller sees it Ready; the endpointslice, pod garbage collector and
	// TTL-after-finished controllers run too.
	RealNodes bool
	// AdvertiseAddress is a non-loopback IPv4 address of this machine. The API server then listens
	// on it instead of 127.0.0.1 and names it in the endpoints of the kubernetes Service (the lease
	// reconciler), so that pods reach it through the Service. Its serving certificate names it.
	AdvertiseAddress string
	// Controllers are added to the kube-controller-manager's controllers.
	Controllers []string
	// APIServerArgs and ControllerManagerArgs are added after the harness's own flags (for a flag
	// given twice, the last value wins), e.g. the HPA's timing:
	// --horizontal-pod-autoscaler-downscale-stabilization=10s.
	APIServerArgs, ControllerManagerArgs []string
}

// ControlPlane is a running control plane. Its fields are read-only after New.
type ControlPlane struct {
	// Dir holds the PKI, the kubeconfigs, etcd's data and each component's log (<name>.log).
	// Stop removes it.
	Dir string
	// Kubeconfig is the path of an admin kubeconfig (for helm, kubectl or a binary under test).
	Kubeconfig string
	// Config is the admin client configuration; Client a clientset built from it.
	Config *rest.Config
	Client kubernetes.Interface
	// Nodes are the kwok Nodes, all Ready (none with Options.RealNodes).
	Nodes []string
	// Tools are the binaries it runs (and Helm, for tests).
	Tools Tools
	// CAFile is the CA of the API server's serving certificate.
	CAFile string
	// ClientCAFile is the CA of the client certificates the API server accepts (ClientConfig issues
	// them). A kubelet trusts it to authenticate the API server, whose client certificate towards
	// kubelets it also signs.
	ClientCAFile string

	pki      pki
	procs    []*Process // in start order
	stopOnce sync.Once
	keepDir  bool
}

// New starts a control plane and returns once the API server is ready, the controllers are
// working (the default namespace has its ServiceAccount) and every Node is Ready. On failure it
// stops what it started; the error carries the end of the failing component's log.
func New(ctx context.Context, opts Options) (cp *ControlPlane, err error) {
	if opts.Nodes <= 0 {
		opts.Nodes = 1
	}
	if opts.Stages == "" {
		opts.Stages = DefaultStages
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	if opts.Tools.APIServer == "" || opts.Tools.Etcd == "" || opts.Tools.ControllerManager == "" || opts.Tools.Scheduler == "" ||
		(!opts.RealNodes && (opts.Tools.Kwok == "" || opts.Tools.KwokStages == "")) {
		return nil, fmt.Errorf("%w: Options.Tools is incomplete", ErrNoTools)
	}
	bindAddress := "127.0.0.1"
	var certIPs []net.IP
	if opts.AdvertiseAddress != "" {
		ip := net.ParseIP(opts.AdvertiseAddress)
		if ip == nil || ip.To4() == nil || ip.IsLoopback() || ip.IsUnspecified() {
			return nil, fmt.Errorf("kubetest: AdvertiseAddress %q is not a non-loopback IPv4 address", opts.AdvertiseAddress)
		}
		bindAddress = opts.AdvertiseAddress
		certIPs = append(certIPs, ip)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	dir, err := os.MkdirTemp(opts.TempDir, "kubetest-")
	if err != nil {
		return nil, err
	}
	cp = &ControlPlane{Dir: dir, Tools: opts.Tools}
	defer func() {
		if err != nil {
			cp.Stop()
			cp = nil
		}
	}()

	if cp.pki, err = writePKI(dir, certIPs); err != nil {
		return cp, fmt.Errorf("kubetest: keys: %w", err)
	}
	cp.CAFile, cp.ClientCAFile = cp.pki.CertFile, cp.pki.ClientCAFile
	token, err := randomToken()
	if err != nil {
		return cp, err
	}
	tokenFile := filepath.Join(dir, "tokens.csv")
	// token,user,uid,"group1,group2"
	if err := os.WriteFile(tokenFile, fmt.Appendf(nil, "%s,%s,%s,\"system:masters\"\n", token, AdminUser, AdminUser), 0o600); err != nil {
		return cp, err
	}

	// etcd
	etcdClient, err := freePort()
	if err != nil {
		return cp, err
	}
	etcdPeer, err := freePort()
	if err != nil {
		return cp, err
	}
	clientURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	etcd, err := cp.start("etcd", opts.Tools.Etcd,
		"--name=kubetest",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+clientURL, "--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubetest="+peerURL,
		"--unsafe-no-fsync", // throwaway data: durability only costs time
		"--log-level=warn",
	)
	if err != nil {
		return cp, err
	}
	httpc := &http.Client{Timeout: 2 * time.Second}
	if err := waitFor(ctx, "etcd healthy", []*Process{etcd}, func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, clientURL+"/health", nil)
		resp, err := httpc.Do(req)
		if err != nil {
			return false, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && strings.Contains(string(b), `"health":"true"`), fmt.Errorf("%s: %s", resp.Status, b)
	}); err != nil {
		return cp, err
	}

	// kube-apiserver
	apiPort, err := freePort()
	if err != nil {
		return cp, err
	}
	apiArgs := []string{
		"--etcd-servers=" + clientURL,
		"--bind-address=" + bindAddress, "--advertise-address=" + bindAddress, "--secure-port=" + strconv.Itoa(apiPort),
		"--tls-cert-file=" + cp.pki.CertFile, "--tls-private-key-file=" + cp.pki.KeyFile,
		"--cert-dir=" + filepath.Join(dir, "apiserver-certs"),
		"--token-auth-file=" + tokenFile,
		"--client-ca-file=" + cp.pki.ClientCAFile,
		// A kubelet (system:node:NAME) may touch only its own Node and its pods: the Node
		// authorizer and the NodeRestriction admission plugin (not on by default).
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--service-account-issuer=" + Issuer,
		"--service-account-key-file=" + cp.pki.SAPubFile,
		"--service-account-signing-key-file=" + cp.pki.SAKeyFile,
		"--service-cluster-ip-range=" + ServiceCIDR,
		// Towards kubelets (logs, exec, port-forward): a client certificate in system:masters, and
		// the Node's InternalIP, since its host name resolves nowhere.
		"--kubelet-client-certificate=" + cp.pki.KubeletClientCertFile,
		"--kubelet-client-key=" + cp.pki.KubeletClientKeyFile,
		"--kubelet-preferred-address-types=InternalIP,Hostname",
		// The aggregator's identity towards extension API servers (metrics-server), and how they
		// read the user it vouches for.
		"--requestheader-client-ca-file=" + cp.pki.FrontProxyCAFile,
		"--requestheader-allowed-names=" + cp.pki.frontProxyClientCommonName,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + cp.pki.FrontProxyClientCertFile,
		"--proxy-client-key-file=" + cp.pki.FrontProxyClientKeyFile,
		"--enable-priority-and-fairness=false", // one client, tests: queueing only costs CPU
		"--profiling=false",
	}
	if opts.AdvertiseAddress == "" {
		// The kubernetes Service's Endpoints would name 127.0.0.1, which validation rejects.
		apiArgs = append(apiArgs, "--endpoint-reconciler-type=none")
	}
	if !opts.RealNodes {
		// It taints every new Node not-ready until the node lifecycle controller sees it Ready;
		// that controller is not run (kwok sends no heartbeats), so nothing would lift the taint.
		apiArgs = append(apiArgs, "--disable-admission-plugins=TaintNodesByCondition")
	}
	apiserver, err := cp.start("kube-apiserver", opts.Tools.APIServer, append(apiArgs, opts.APIServerArgs...)...)
	if err != nil {
		return cp, err
	}
	cp.Config = &rest.Config{
		Host:            "https://" + net.JoinHostPort(bindAddress, strconv.Itoa(apiPort)),
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: cp.pki.CACert},
		QPS:             100,
		Burst:           200,
	}
	if cp.Client, err = kubernetes.NewForConfig(cp.Config); err != nil {
		return cp, err
	}
	if err := waitFor(ctx, "kube-apiserver ready", []*Process{etcd, apiserver}, func(ctx context.Context) (bool, error) {
		body, err := cp.Client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Raw()
		return err == nil, fmt.Errorf("%w: %s", err, body)
	}); err != nil {
		return cp, err
	}
	cp.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	if err := WriteKubeconfig(cp.Kubeconfig, cp.Config, ""); err != nil {
		return cp, err
	}

	// The rest need only the API server.
	ctrls := append([]string(nil), controllers...)
	if opts.RealNodes {
		ctrls = append(ctrls, realNodeControllers...)
	}
	kcm, err := cp.start("kube-controller-manager", opts.Tools.ControllerManager, append([]string{
		"--kubeconfig=" + cp.Kubeconfig,
		"--secure-port=0", "--leader-elect=false",
		"--controllers=" + strings.Join(append(ctrls, opts.Controllers...), ","),
		"--use-service-account-credentials=false",
		"--root-ca-file=" + cp.pki.CertFile,
		"--horizontal-pod-autoscaler-sync-period=1s",
	}, opts.ControllerManagerArgs...)...)
	if err != nil {
		return cp, err
	}
	scheduler, err := cp.start("kube-scheduler", opts.Tools.Scheduler,
		"--kubeconfig="+cp.Kubeconfig,
		"--secure-port=0", "--leader-elect=false",
	)
	if err != nil {
		return cp, err
	}
	if opts.RealNodes {
		if err := waitFor(ctx, "kube-controller-manager working (ServiceAccount default/default)", cp.procs, func(ctx context.Context) (bool, error) {
			_, err := cp.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
			return err == nil, err
		}); err != nil {
			return cp, err
		}
		return cp, nil
	}
	stages := filepath.Join(dir, "kwok-stages.yaml")
	fast, err := os.ReadFile(opts.Tools.KwokStages)
	if err != nil {
		return cp, fmt.Errorf("kubetest: KWOK_STAGES: %w", err)
	}
	if err := os.WriteFile(stages, append(append(fast, "\n---\n"...), opts.Stages...), 0o600); err != nil {
		return cp, err
	}
	kwok, err := cp.start("kwok", opts.Tools.Kwok,
		"--kubeconfig="+cp.Kubeconfig,
		"--config="+stages,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector="+KwokNodeAnnotation+"=fake",
		"--cidr="+podCIDR,
	)
	if err != nil {
		return cp, err
	}
	all := []*Process{etcd, apiserver, kcm, scheduler, kwok}

	for i := range opts.Nodes {
		name := fmt.Sprintf("kwok-node-%d", i)
		if err := cp.createNode(ctx, name); err != nil {
			return cp, err
		}
		cp.Nodes = append(cp.Nodes, name)
	}
	if err := waitFor(ctx, "kwok Nodes Ready", all, func(ctx context.Context) (bool, error) {
		for _, n := range cp.Nodes {
			node, err := cp.Client.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if !nodeReady(node) {
				return false, fmt.Errorf("node %s not Ready", n)
			}
		}
		return true, nil
	}); err != nil {
		return cp, err
	}
	if err := waitFor(ctx, "kube-controller-manager working (ServiceAccount default/default)", all, func(ctx context.Context) (bool, error) {
		_, err := cp.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	}); err != nil {
		return cp, err
	}
	return cp, nil
}

func (cp *ControlPlane) start(name, bin string, args ...string) (*Process, error) {
	p, err := StartProcess(Command{Name: name, Path: bin, Args: args, LogFile: filepath.Join(cp.Dir, name+".log")})
	if err != nil {
		return nil, err
	}
	cp.procs = append(cp.procs, p)
	return p, nil
}

func (cp *ControlPlane) createNode(ctx context.Context, name string) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{KwokNodeAnnotation: "fake"},
			Labels: map[string]string{
				NodeLabel:                "kwok",
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
		},
		// No taint: the chart's pods carry no kwok toleration, and nothing else may schedule here.
	}
	_, err := cp.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("kubetest: create node %s: %w", name, err)
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

// Stop stops every component (SIGTERM, SIGKILL after 5 s) and removes Dir. It is safe to call more
// than once.
func (cp *ControlPlane) Stop() {
	cp.stopOnce.Do(func() {
		// Clients first, etcd last, so that nothing logs a storm of errors about the ones gone.
		var wg sync.WaitGroup
		for i := len(cp.procs) - 1; i >= 2; i-- {
			wg.Add(1)
			go func(p *Process) { defer wg.Done(); p.Stop(5 * time.Second) }(cp.procs[i])
		}
		wg.Wait()
		for i := min(len(cp.procs), 2) - 1; i >= 0; i-- {
			cp.procs[i].Stop(5 * time.Second)
		}
		if !cp.keepDir {
			_ = os.RemoveAll(cp.Dir)
		}
	})
}

// KeepDir makes Stop leave Dir (logs, etcd data) in place, e.g. to look at after a failure.
func (cp *ControlPlane) KeepDir() { cp.keepDir = true }

// DumpLogs writes the last lines of each component's log to w.
func (cp *ControlPlane) DumpLogs(w io.Writer, lines int) {
	for _, p := range cp.procs {
		fmt.Fprintf(w, "===== %s (last %d lines of %s)\n%s\n", p.Name, lines, p.LogFile, p.Tail(lines))
	}
}

// Running returns the names of the components still running.
func (cp *ControlPlane) Running() []string {
	var names []string
	for _, p := range cp.procs {
		if p.Exited() == nil {
			names = append(names, p.Name)
		}
	}
	return names
}

// Exited reports the first component that is no longer running, nil if all are.
func (cp *ControlPlane) Exited() error {
	for _, p := range cp.procs {
		if err := p.Exited(); err != nil {
			return err
		}
	}
	return nil
}

// waitFor is WaitFor with the package's prefix on its error.
func waitFor(ctx context.Context, what string, procs []*Process, cond func(context.Context) (bool, error)) error {
	if err := WaitFor(ctx, what, procs, cond); err != nil {
		return fmt.Errorf("kubetest: %w", err)
	}
	return nil
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
