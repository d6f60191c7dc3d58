//go:build linux

package nodetest_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/stampede-load/stampede/internal/kubetest"
	"github.com/stampede-load/stampede/internal/nodetest"
	"github.com/stampede-load/stampede/internal/ociimage"
)

const targetImage = "localhost/stampede/stampede-target:nodetest"

// A one-node cluster of real parts runs a container built from this repository: the pod is
// scheduled, its sandbox and container start under containerd and runc, the kubelet's readiness
// probe passes (and a failing one keeps another pod unready), the pod answers HTTP on its pod IP
// over the node's bridge, the API server reads its log through the kubelet, the kubelet reports its
// CPU to an authorized caller only, and its CPU and memory limits are in its cgroups. Then the node is torn
// down and the machine checked for anything left behind.
func TestNodeRunsAPod(t *testing.T) {
	tools, kt := needTools(t)
	image := buildTargetImage(t)
	ctx := context.Background()
	cp, node := startCluster(t, tools, kt)
	nodeIP := node.IP

	// The API server advertises the node's address for the kubernetes Service.
	waitUntil(t, 30*time.Second, "the kubernetes Service's EndpointSlice naming "+nodeIP, func(ctx context.Context) (bool, error) {
		l, err := cp.Client.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=kubernetes"})
		if err != nil {
			return false, err
		}
		for _, s := range l.Items {
			for _, e := range s.Endpoints {
				if len(e.Addresses) > 0 && e.Addresses[0] == nodeIP {
					return true, nil
				}
			}
		}
		return false, fmt.Errorf("%d EndpointSlices, none naming %s", len(l.Items), nodeIP)
	})

	if err := node.ImportImage(ctx, image); err != nil {
		t.Fatal(err)
	}
	ns := "nodetest"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Minute, "ServiceAccount default in "+ns, func(ctx context.Context) (bool, error) {
		_, err := cp.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})

	ready, err := cp.Client.CoreV1().Pods(ns).Create(ctx, targetPod("target", "/healthz"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The same server, probed on a path that answers 503: Running, never Ready.
	if _, err := cp.Client.CoreV1().Pods(ns).Create(ctx, targetPod("unready", "/status/503"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var pod *corev1.Pod
	waitUntil(t, 3*time.Minute, "pod target Running and Ready", func(ctx context.Context) (bool, error) {
		if err := node.Exited(); err != nil {
			return false, err
		}
		p, err := cp.Client.CoreV1().Pods(ns).Get(ctx, "target", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pod = p
		return p.Status.Phase == corev1.PodRunning && podReady(p) && p.Status.PodIP != "", fmt.Errorf("phase %s, conditions %v, containers %v", p.Status.Phase, p.Status.Conditions, p.Status.ContainerStatuses)
	})
	if pod.Spec.NodeName != node.Name {
		t.Errorf("pod on %q, want %q", pod.Spec.NodeName, node.Name)
	}
	if !node.PodSubnet.Contains(net.ParseIP(pod.Status.PodIP)) {
		t.Errorf("pod IP %s is not in the node's pod subnet %s", pod.Status.PodIP, node.PodSubnet)
	}

	// From the host, over the node's bridge.
	url := "http://" + pod.Status.PodIP + ":8080/json"
	httpc := &http.Client{Timeout: 5 * time.Second}
	resp, err := httpc.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(string(body)), "[") && !strings.HasPrefix(strings.TrimSpace(string(body)), "{") {
		t.Errorf("GET %s: %s %q, want 200 and JSON", url, resp.Status, body)
	}

	// kube-proxy: the pod behind a Service, from the host, at its ClusterIP and by its name in the
	// cluster DNS.
	svc, err := cp.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "target"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "target"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := "target." + ns + ".svc." + nodetest.ClusterDomain
	waitUntil(t, time.Minute, name+" resolving to "+svc.Spec.ClusterIP+" and answering on port 80", func(ctx context.Context) (bool, error) {
		addrs, err := node.Resolver().LookupHost(ctx, name)
		if err != nil {
			return false, err
		}
		if len(addrs) != 1 || addrs[0] != svc.Spec.ClusterIP {
			return false, fmt.Errorf("%s is %v, want %s", name, addrs, svc.Spec.ClusterIP)
		}
		// A new connection each time: one made before kube-proxy's rules would stay unrouted.
		resp, err := (&http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}).Get("http://" + addrs[0] + "/healthz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("GET /healthz at the ClusterIP: %s", resp.Status)
	})

	// metrics-server: the pod's CPU and memory through the API server's resource metrics API.
	metricsPath := "/apis/metrics.k8s.io/v1beta1/namespaces/" + ns + "/pods/target"
	waitUntil(t, 2*time.Minute, "the metrics API to have the target pod", func(ctx context.Context) (bool, error) {
		body, err := cp.Client.Discovery().RESTClient().Get().AbsPath(metricsPath).DoRaw(ctx)
		if err != nil {
			return false, fmt.Errorf("%w: %s", err, body)
		}
		return strings.Contains(string(body), `"cpu"`) && strings.Contains(string(body), `"memory"`), fmt.Errorf("%s", body)
	})

	// The API server reaches the kubelet (logs), with its client certificate, which the kubelet
	// checks against the cluster's client CA and has the API server authorize.
	logs, err := cp.Client.CoreV1().Pods(ns).GetLogs("target", &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil || !strings.Contains(string(logs), "listening on") {
		t.Errorf("the target's log through the API server: %v %q", err, logs)
	}

	// The kubelet's own API, as metrics-server calls it: a bearer token is checked with a
	// TokenReview and its holder's access with a SubjectAccessReview; the admin reads the pod's CPU,
	// a ServiceAccount without a role is refused, nobody is not authenticated.
	kubeletURL := kubeletEndpoint(t, cp, node.Name) + "/metrics/resource"
	sa, err := cp.ServiceAccountConfig(ctx, ns, "default")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who, token string
		want       int
	}{
		{"a ServiceAccount without a role", sa.BearerToken, http.StatusForbidden},
		{"no one", "", http.StatusUnauthorized},
	} {
		if code, body := kubeletGet(t, kubeletURL, tc.token); code != tc.want {
			t.Errorf("GET %s as %s: %d, want %d: %.200s", kubeletURL, tc.who, code, tc.want, body)
		}
	}
	cpuSeries := `container_cpu_usage_seconds_total{container="target",namespace="` + ns + `",pod="target"}`
	waitUntil(t, time.Minute, "the kubelet's resource metrics to have the target's CPU", func(ctx context.Context) (bool, error) {
		code, body := kubeletGet(t, kubeletURL, cp.Config.BearerToken)
		if code != http.StatusOK {
			return false, fmt.Errorf("GET %s as the admin: %d: %.200s", kubeletURL, code, body)
		}
		return strings.Contains(body, cpuSeries), fmt.Errorf("no %s in:\n%.2000s", cpuSeries, body)
	})

	// The limits are in the pod's cgroups (cgroup v1): 250m CPU is 25 ms per 100 ms period.
	cpuDir, err := nodetest.PodCgroup("cpu", ready.UID)
	if err != nil {
		t.Fatal(err)
	}
	quota, err1 := nodetest.ReadCgroupInt(cpuDir, "cpu.cfs_quota_us")
	period, err2 := nodetest.ReadCgroupInt(cpuDir, "cpu.cfs_period_us")
	if err1 != nil || err2 != nil || period <= 0 || quota*1000/period != 250 {
		t.Errorf("%s: cpu.cfs_quota_us %d, cpu.cfs_period_us %d (%v %v), want 250m", cpuDir, quota, period, err1, err2)
	}
	memDir, err := nodetest.PodCgroup("memory", ready.UID)
	if err != nil {
		t.Fatal(err)
	}
	if limit, err := nodetest.ReadCgroupInt(memDir, "memory.limit_in_bytes"); err != nil || limit != 64<<20 {
		t.Errorf("%s: memory.limit_in_bytes %d (%v), want %d", memDir, limit, err, 64<<20)
	}

	// The failing probe ran: the pod runs, its container is not ready, and the kubelet said why.
	waitUntil(t, time.Minute, "pod unready Running with a failed readiness probe", func(ctx context.Context) (bool, error) {
		p, err := cp.Client.CoreV1().Pods(ns).Get(ctx, "unready", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Status.Phase != corev1.PodRunning || podReady(p) {
			return false, fmt.Errorf("phase %s, ready %v", p.Status.Phase, podReady(p))
		}
		ev, err := cp.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=unready,reason=Unhealthy"})
		if err != nil {
			return false, err
		}
		for _, e := range ev.Items {
			if strings.Contains(e.Message, "503") {
				return true, nil
			}
		}
		return false, fmt.Errorf("no Unhealthy event naming 503 yet (%d events)", len(ev.Items))
	})

	stopStart := time.Now()
	if err := node.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("node torn down and the machine checked in %s", time.Since(stopStart).Round(time.Millisecond))
}

// needTools returns the node's tools and the control plane's, or skips t (fails it under make
// test-node: a node test without a control plane is no test either).
func needTools(t *testing.T) (nodetest.Tools, kubetest.Tools) {
	t.Helper()
	tools := nodetest.NeedTools(t)
	if os.Getenv(nodetest.RequireEnv) == "1" {
		t.Setenv(kubetest.RequireEnv, "1")
	}
	return tools, kubetest.NeedTools(t)
}

// startCluster starts, for t, a control plane and a node with its add-ons on this machine's
// address.
func startCluster(t *testing.T, tools nodetest.Tools, kt kubetest.Tools) (*kubetest.ControlPlane, *nodetest.Node) {
	t.Helper()
	start := time.Now()
	nodeIP, err := nodetest.DefaultNodeIP()
	if err != nil {
		t.Fatal(err)
	}
	cp := kubetest.Start(t, kubetest.Options{Tools: kt, RealNodes: true, AdvertiseAddress: nodeIP})
	node := nodetest.Start(t, cp, nodetest.Options{Tools: tools, NodeIP: nodeIP, Addons: true})
	t.Logf("control plane and node up in %s (node %s at %s, dir %s)", time.Since(start).Round(time.Millisecond), node.Name, node.IP, node.Dir)
	return cp, node
}

// kubeletEndpoint is https://IP:PORT of the kubelet of node, as the Node reports it.
func kubeletEndpoint(t *testing.T, cp *kubetest.ControlPlane, node string) string {
	t.Helper()
	n, err := cp.Client.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return "https://" + net.JoinHostPort(a.Address, fmt.Sprint(n.Status.DaemonEndpoints.KubeletEndpoint.Port))
		}
	}
	t.Fatalf("Node %s has no InternalIP: %v", node, n.Status.Addresses)
	return ""
}

// kubeletGet GETs url with token (none if empty). The kubelet serves a certificate it made for
// itself, which nothing here can verify; metrics-server is told the same (--kubelet-insecure-tls).
func kubeletGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func targetPod(name, readinessPath string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken:  ptrTo(false),
			TerminationGracePeriodSeconds: ptrTo[int64](2),
			Containers: []corev1.Container{{
				Name:            "target",
				Image:           targetImage,
				ImagePullPolicy: corev1.PullNever,
				Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: readinessPath, Port: intstr.FromString("http")}},
					PeriodSeconds: 1,
				},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				},
				SecurityContext: &corev1.SecurityContext{
					RunAsNonRoot:             ptrTo(true),
					AllowPrivilegeEscalation: ptrTo(false),
					ReadOnlyRootFilesystem:   ptrTo(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
}

// buildTargetImage builds examples/target as `make images` does (static, trimmed, for amd64 and
// arm64) and writes it with internal/ociimage, on the same static base, as one multi-platform
// tarball like dist/images/stampede-target.tar: containerd must pick its own platform's image.
func buildTargetImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var imgs []ociimage.Image
	for _, arch := range []string{"amd64", "arm64"} {
		bin := filepath.Join(dir, arch, "stampede-target")
		cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/stampede-load/stampede/examples/target")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build examples/target for %s: %v\n%s", arch, err, out)
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, ociimage.Image{
			OS: "linux", Architecture: arch,
			Config: ociimage.Config{
				User:         fmt.Sprintf("%d:%d", ociimage.Nonroot, ociimage.Nonroot),
				Entrypoint:   []string{"/usr/local/bin/stampede-target"},
				Env:          []string{"STAMPEDE_TARGET_LISTEN=0.0.0.0:8080"},
				ExposedPorts: []string{"8080/tcp"},
			},
			Files: append(ociimage.StaticBase(nil), ociimage.File{Path: "/usr/local/bin/stampede-target", Mode: 0o755, Data: data}),
		})
	}
	out := filepath.Join(dir, "stampede-target.tar")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := ociimage.WriteIndex(f, targetImage, imgs); err != nil {
		t.Fatal(err)
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitUntil polls cond every 200 ms until it returns true, failing t after timeout with cond's
// last error.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if err != nil {
			last = err
		}
		return ok, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last: %v)", what, err, last)
	}
}
