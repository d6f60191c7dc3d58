//go:build linux

package nodetest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/stampede-load/stampede/internal/kubetest"
)

// The cluster add-ons (Options.Addons) run on the host beside the kubelet, as processes of the
// node, each with a client certificate of its own and the RBAC a cluster gives it:
//
//   - kube-proxy, in iptables mode: Services' ClusterIPs work from pods and from the host;
//   - CoreDNS, behind the Service kube-system/kube-dns at DNSServiceIP, whose EndpointSlice names
//     the node's address and CoreDNS's port: pods (and the host) resolve Services by name;
//   - metrics-server, behind the APIService v1beta1.metrics.k8s.io (through an ExternalName
//     Service to 127.0.0.1): the resource metrics API that HorizontalPodAutoscalers read.
//
// As in metrics-server's own release manifest, the API server does not verify metrics-server's
// certificate (insecureSkipTLSVerify) and metrics-server does not verify the kubelet's
// (--kubelet-insecure-tls): both serve certificates they made for themselves.

const (
	// DNSServiceIP is the cluster DNS Service's address with Options.Addons: the tenth of
	// kubetest.ServiceCIDR, as kubeadm chooses.
	DNSServiceIP = "10.96.0.10"
	// MetricsAPIService is the APIService metrics-server serves.
	MetricsAPIService = "v1beta1.metrics.k8s.io"
	// MetricsResolution is how often metrics-server scrapes the kubelet (its minimum).
	MetricsResolution = 10 * time.Second
)

// Identities of the add-ons: the users of their client certificates.
const (
	kubeProxyUser     = "system:kube-proxy" // bound to system:node-proxier by the API server's bootstrap policy
	coreDNSUser       = "system:coredns"
	metricsServerUser = "system:metrics-server"
	addonRolePrefix   = "stampede-node:"
)

var apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// addonPorts are the add-ons' listeners.
type addonPorts struct {
	proxyHealth, proxyMetrics int // kube-proxy, on 127.0.0.1
	dns                       int // CoreDNS, on the node's address (UDP and TCP)
	dnsHealth, dnsReady       int // CoreDNS, on 127.0.0.1
	metrics                   int // metrics-server, on 127.0.0.1
}

func freeAddonPorts(nodeIP string) (addonPorts, error) {
	var p addonPorts
	for _, f := range []struct {
		dst  *int
		host string
	}{
		{&p.proxyHealth, "127.0.0.1"}, {&p.proxyMetrics, "127.0.0.1"},
		{&p.dnsHealth, "127.0.0.1"}, {&p.dnsReady, "127.0.0.1"}, {&p.metrics, "127.0.0.1"},
	} {
		port, err := kubetest.FreePort(f.host)
		if err != nil {
			return p, err
		}
		*f.dst = port
	}
	port, err := freeDNSPort(nodeIP)
	if err != nil {
		return p, err
	}
	p.dns = port
	return p, nil
}

// freeDNSPort is a port free for both TCP and UDP on ip.
func freeDNSPort(ip string) (int, error) {
	for range 20 {
		port, err := kubetest.FreePort(ip)
		if err != nil {
			return 0, err
		}
		c, err := net.ListenPacket("udp4", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err == nil {
			c.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("nodetest: no port free for both TCP and UDP on %s", ip)
}

// createAddonObjects makes what the add-ons need in the API before they start: their roles and
// bindings, the kube-dns and metrics-server Services (kube-dns's EndpointSlice by hand: CoreDNS is
// no pod), and the APIService.
func (n *Node) createAddonObjects(ctx context.Context, p addonPorts) error {
	c := n.cp.Client
	roles := []*rbacv1.ClusterRole{
		{
			ObjectMeta: metav1.ObjectMeta{Name: addonRolePrefix + "coredns"},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"services", "pods", "namespaces"}, Verbs: []string{"list", "watch"}},
				{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "watch"}},
			},
		},
		{
			ObjectMeta: metav1.ObjectMeta{Name: addonRolePrefix + "metrics-server"},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"nodes/metrics"}, Verbs: []string{"get"}},
				{APIGroups: []string{""}, Resources: []string{"pods", "nodes"}, Verbs: []string{"get", "list", "watch"}},
			},
		},
	}
	for _, r := range roles {
		if _, err := c.RbacV1().ClusterRoles().Create(ctx, r, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("nodetest: ClusterRole %s: %w", r.Name, err)
		}
	}
	user := func(name string) []rbacv1.Subject {
		return []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}}
	}
	clusterBindings := []*rbacv1.ClusterRoleBinding{
		{
			ObjectMeta: metav1.ObjectMeta{Name: addonRolePrefix + "coredns"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: addonRolePrefix + "coredns"},
			Subjects:   user(coreDNSUser),
		},
		{
			ObjectMeta: metav1.ObjectMeta{Name: addonRolePrefix + "metrics-server"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: addonRolePrefix + "metrics-server"},
			Subjects:   user(metricsServerUser),
		},
		{
			// It asks the API server who its callers are and what they may do.
			ObjectMeta: metav1.ObjectMeta{Name: addonRolePrefix + "metrics-server:auth-delegator"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:auth-delegator"},
			Subjects:   user(metricsServerUser),
		},
	}
	for _, b := range clusterBindings {
		if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("nodetest: ClusterRoleBinding %s: %w", b.Name, err)
		}
	}
	// And reads the front proxy's CA, to trust the users the aggregator vouches for.
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: addonRolePrefix + "metrics-server:auth-reader", Namespace: metav1.NamespaceSystem},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "extension-apiserver-authentication-reader"},
		Subjects:   user(metricsServerUser),
	}
	if _, err := c.RbacV1().RoleBindings(metav1.NamespaceSystem).Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("nodetest: RoleBinding %s: %w", rb.Name, err)
	}

	labels := map[string]string{"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}
	dns := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: metav1.NamespaceSystem, Labels: labels},
		Spec: corev1.ServiceSpec{
			ClusterIP: DNSServiceIP,
			Ports: []corev1.ServicePort{
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
				{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP},
			},
		},
	}
	if _, err := c.CoreV1().Services(metav1.NamespaceSystem).Create(ctx, dns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("nodetest: Service kube-system/kube-dns: %w", err)
	}
	udp, tcp, port := corev1.ProtocolUDP, corev1.ProtocolTCP, int32(p.dns)
	ready := true
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: "kube-dns-node", Namespace: metav1.NamespaceSystem,
			// Not the endpointslice controller's: it leaves slices of other managers alone.
			Labels: map[string]string{discoveryv1.LabelServiceName: "kube-dns", discoveryv1.LabelManagedBy: "nodetest.stampede.dev"},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{n.IP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}, NodeName: &n.Name}},
		Ports: []discoveryv1.EndpointPort{
			{Name: ptr("dns"), Protocol: &udp, Port: &port},
			{Name: ptr("dns-tcp"), Protocol: &tcp, Port: &port},
		},
	}
	if _, err := c.DiscoveryV1().EndpointSlices(metav1.NamespaceSystem).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("nodetest: EndpointSlice of kube-dns: %w", err)
	}

	ms := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-server", Namespace: metav1.NamespaceSystem},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: "127.0.0.1", // the aggregator dials the ExternalName with the APIService's port
			Ports:        []corev1.ServicePort{{Name: "https", Port: int32(p.metrics), Protocol: corev1.ProtocolTCP}},
		},
	}
	if _, err := c.CoreV1().Services(metav1.NamespaceSystem).Create(ctx, ms, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("nodetest: Service kube-system/metrics-server: %w", err)
	}
	dyn, err := dynamic.NewForConfig(n.cp.Config)
	if err != nil {
		return err
	}
	api := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1",
		"kind":       "APIService",
		"metadata":   map[string]any{"name": MetricsAPIService},
		"spec": map[string]any{
			"service":               map[string]any{"name": "metrics-server", "namespace": metav1.NamespaceSystem, "port": int64(p.metrics)},
			"group":                 "metrics.k8s.io",
			"version":               "v1beta1",
			"insecureSkipTLSVerify": true,
			"groupPriorityMinimum":  int64(100),
			"versionPriority":       int64(100),
		},
	}}
	if _, err := dyn.Resource(apiServiceGVR).Create(ctx, api, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("nodetest: APIService %s: %w", MetricsAPIService, err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// startAddons starts kube-proxy, CoreDNS and metrics-server and waits until each works: kube-proxy
// has programmed the kube-dns Service, CoreDNS is ready and answers for it, and the API server
// finds the metrics API available.
func (n *Node) startAddons(ctx context.Context, p addonPorts) error {
	dir := filepath.Join(n.Dir, "addons")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	kubeconfig := func(name, user string) (string, error) {
		cfg, err := n.cp.ClientConfig(user)
		if err != nil {
			return "", err
		}
		path := filepath.Join(dir, name+".kubeconfig")
		return path, kubetest.WriteKubeconfig(path, cfg, "")
	}
	httpOK := func(url string) func(context.Context) (bool, error) {
		c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		return func(ctx context.Context) (bool, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return false, err
			}
			resp, err := c.Do(req)
			if err != nil {
				return false, err
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
	}

	// kube-proxy
	kc, err := kubeconfig("kube-proxy", kubeProxyUser)
	if err != nil {
		return err
	}
	conf, err := kubeProxyConfig(kc, n.Name, n.IP, n.PodSubnet.String(), p)
	if err != nil {
		return err
	}
	confFile := filepath.Join(dir, "kube-proxy.json")
	if err := os.WriteFile(confFile, conf, 0o644); err != nil {
		return err
	}
	proxy, err := n.start("kube-proxy", n.Tools.KubeProxy, nil, "--config="+confFile, "--v=1")
	if err != nil {
		return err
	}
	if err := kubetest.WaitFor(ctx, "kube-proxy healthy", []*kubetest.Process{proxy},
		httpOK(fmt.Sprintf("http://127.0.0.1:%d/healthz", p.proxyHealth))); err != nil {
		return fmt.Errorf("nodetest: %w", err)
	}

	// CoreDNS
	if kc, err = kubeconfig("coredns", coreDNSUser); err != nil {
		return err
	}
	corefile := filepath.Join(dir, "Corefile")
	if err := os.WriteFile(corefile, []byte(coreDNSConfig(n.IP, kc, p)), 0o644); err != nil {
		return err
	}
	dns, err := n.start("coredns", n.Tools.CoreDNS, nil, "-conf", corefile)
	if err != nil {
		return err
	}
	if err := kubetest.WaitFor(ctx, "CoreDNS ready", []*kubetest.Process{dns},
		httpOK(fmt.Sprintf("http://127.0.0.1:%d/ready", p.dnsReady))); err != nil {
		return fmt.Errorf("nodetest: %w", err)
	}
	// Through kube-proxy's rules for the kube-dns Service, as a pod asks.
	r := n.Resolver()
	want := "kube-dns.kube-system.svc." + ClusterDomain
	if err := kubetest.WaitFor(ctx, "the cluster DNS at "+DNSServiceIP+" to answer for "+want, []*kubetest.Process{proxy, dns}, func(ctx context.Context) (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		addrs, err := r.LookupHost(ctx, want)
		if err != nil {
			return false, err
		}
		return len(addrs) == 1 && addrs[0] == DNSServiceIP, fmt.Errorf("%s is %v", want, addrs)
	}); err != nil {
		return fmt.Errorf("nodetest: %w", err)
	}

	// metrics-server
	if kc, err = kubeconfig("metrics-server", metricsServerUser); err != nil {
		return err
	}
	ms, err := n.start("metrics-server", n.Tools.MetricsServer, nil,
		"--secure-port="+strconv.Itoa(p.metrics), "--bind-address=127.0.0.1",
		"--cert-dir="+filepath.Join(dir, "metrics-server"),
		"--kubeconfig="+kc, "--authentication-kubeconfig="+kc, "--authorization-kubeconfig="+kc,
		"--kubelet-insecure-tls",
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-use-node-status-port",
		"--metric-resolution="+MetricsResolution.String(),
		"--kubelet-request-timeout=5s", // less than the resolution, which the default (10s) is not
		"--v=1",
	)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(n.cp.Config)
	if err != nil {
		return err
	}
	if err := kubetest.WaitFor(ctx, "the APIService "+MetricsAPIService+" Available", []*kubetest.Process{ms}, func(ctx context.Context) (bool, error) {
		api, err := dyn.Resource(apiServiceGVR).Get(ctx, MetricsAPIService, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(api.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Available" {
				return m["status"] == "True", fmt.Errorf("Available %v: %v %v", m["status"], m["reason"], m["message"])
			}
		}
		return false, errors.New("no Available condition yet")
	}); err != nil {
		return fmt.Errorf("nodetest: %w", err)
	}
	return nil
}

// Resolver asks the cluster DNS (Options.Addons) through its Service's address, as pods do.
func (n *Node) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, net.JoinHostPort(DNSServiceIP, "53"))
	}}
}

// kubeProxyConfig is the KubeProxyConfiguration (JSON, which kube-proxy reads as YAML): iptables
// mode, listeners on loopback, and nothing changed on the machine that it can be told to leave
// alone (conntrack limits and timeouts, route_localnet for NodePorts on 127.0.0.1).
func kubeProxyConfig(kubeconfig, node, nodeIP, podSubnet string, p addonPorts) ([]byte, error) {
	conf := map[string]any{
		"apiVersion":         "kubeproxy.config.k8s.io/v1alpha1",
		"kind":               "KubeProxyConfiguration",
		"clientConnection":   map[string]any{"kubeconfig": kubeconfig},
		"hostnameOverride":   node,
		"bindAddress":        nodeIP,
		"healthzBindAddress": fmt.Sprintf("127.0.0.1:%d", p.proxyHealth),
		"metricsBindAddress": fmt.Sprintf("127.0.0.1:%d", p.proxyMetrics),
		"mode":               "iptables",
		"clusterCIDR":        podSubnet,
		"nodePortAddresses":  []string{nodeIP + "/32"},
		"conntrack": map[string]any{
			"maxPerCore": 0, "min": 0,
			"tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s",
			"udpTimeout": "0s", "udpStreamTimeout": "0s",
		},
		"iptables": map[string]any{
			"localhostNodePorts": false,
			"masqueradeAll":      false,
			"syncPeriod":         "30s",
			"minSyncPeriod":      "0s",
		},
	}
	return json.MarshalIndent(conf, "", "  ")
}

// coreDNSConfig is the Corefile: the cluster's zone from the API server, on the node's address
// only. Other names are not answered: pods have nowhere else to go.
func coreDNSConfig(nodeIP, kubeconfig string, p addonPorts) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".:%d {\n", p.dns)
	fmt.Fprintf(&b, "    bind %s\n", nodeIP)
	b.WriteString("    errors\n")
	fmt.Fprintf(&b, "    health 127.0.0.1:%d\n", p.dnsHealth)
	fmt.Fprintf(&b, "    ready 127.0.0.1:%d\n", p.dnsReady)
	fmt.Fprintf(&b, "    kubernetes %s in-addr.arpa ip6.arpa {\n", ClusterDomain)
	fmt.Fprintf(&b, "        kubeconfig %s kubetest\n", kubeconfig)
	b.WriteString("        pods insecure\n")
	b.WriteString("        ttl 5\n")
	b.WriteString("    }\n")
	b.WriteString("    cache 5\n")
	b.WriteString("}\n")
	return b.String()
}
