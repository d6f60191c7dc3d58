//go:build linux

package kubetest_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/stampede-load/stampede/internal/kubetest"
)

// The harness itself: a pod is scheduled on a kwok Node and Running; a ServiceAccount token minted
// with TokenRequest authenticates as that ServiceAccount and is subject to RBAC.
func TestControlPlane(t *testing.T) {
	t.Parallel()
	cp := cluster(t)
	ctx := context.Background()
	ns := newNamespace(t, cp, "harness")

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.invalid/none"}}},
	}
	if _, err := cp.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "pod p Running on a kwok node", func(ctx context.Context) (bool, error) {
		p, err := cp.Client.CoreV1().Pods(ns).Get(ctx, "p", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return p.Status.Phase == corev1.PodRunning && isKwokNode(cp, p.Spec.NodeName), nil
	})

	if _, err := cp.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sa"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg, err := cp.ServiceAccountConfig(ctx, ns, "sa")
	if err != nil {
		t.Fatal(err)
	}
	sa := kubernetes.NewForConfigOrDie(cfg)
	who, err := sa.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "system:serviceaccount:" + ns + ":sa"; who.Status.UserInfo.Username != want {
		t.Errorf("the token authenticates as %q, want %q", who.Status.UserInfo.Username, want)
	}
	if _, err := sa.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("a ServiceAccount without a Role listed pods: err = %v, want Forbidden", err)
	}

	// The same as a kubeconfig file (what helm or a binary under test would be given).
	path := filepath.Join(t.TempDir(), "sa.kubeconfig")
	if err := cp.ServiceAccountKubeconfig(ctx, ns, "sa", path); err != nil {
		t.Fatal(err)
	}
	fromFile, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	who, err = kubernetes.NewForConfigOrDie(fromFile).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || who.Status.UserInfo.Username != "system:serviceaccount:"+ns+":sa" {
		t.Errorf("the kubeconfig authenticates as %v (err %v)", who, err)
	}
}

// Start gives a test a control plane of its own and takes it down when the test ends: every
// component stopped, the directory gone.
func TestStartStop(t *testing.T) {
	t.Parallel()
	tools := kubetest.NeedTools(t)
	var cp *kubetest.ControlPlane
	t.Run("start", func(t *testing.T) {
		cp = kubetest.Start(t, kubetest.Options{Tools: tools, Nodes: 1})
		if got := cp.Running(); len(got) != 5 {
			t.Fatalf("running: %v, want etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok", got)
		}
		if _, err := os.Stat(cp.Kubeconfig); err != nil {
			t.Fatal(err)
		}
		n, err := cp.Client.CoreV1().Nodes().Get(context.Background(), cp.Nodes[0], metav1.GetOptions{})
		if err != nil || n.Annotations[kubetest.KwokNodeAnnotation] != "fake" {
			t.Fatalf("node %s: %v %v", cp.Nodes[0], err, n.Annotations)
		}
	})
	if cp == nil {
		t.Fatal("Start returned nothing")
	}
	if got := cp.Running(); len(got) != 0 {
		t.Errorf("still running after the test: %v", got)
	}
	if _, err := os.Stat(cp.Dir); !os.IsNotExist(err) {
		t.Errorf("%s still there after the test: %v", cp.Dir, err)
	}
}

// With RealNodes the control plane is what a kubelet needs: no kwok, the API server on a
// non-loopback address and advertised for the kubernetes Service, client certificates whose
// holders the Node authorizer and NodeRestriction confine (a kubelet registers its own Node and no
// other, which starts tainted not-ready), and the aggregator's front-proxy configuration for
// extension API servers.
func TestRealNodesControlPlane(t *testing.T) {
	t.Parallel()
	tools := kubetest.NeedTools(t)
	ip := nonLoopbackIPv4(t)
	cp := kubetest.Start(t, kubetest.Options{Tools: tools, RealNodes: true, AdvertiseAddress: ip})
	ctx := context.Background()

	if got, want := cp.Running(), []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}; !slices.Equal(got, want) {
		t.Errorf("running %v, want %v", got, want)
	}
	if !strings.Contains(cp.Config.Host, ip) {
		t.Errorf("the API server is at %s, want it on %s", cp.Config.Host, ip)
	}
	waitUntil(t, 30*time.Second, "the kubernetes Service's EndpointSlice naming "+ip, func(ctx context.Context) (bool, error) {
		l, err := cp.Client.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=kubernetes"})
		if err != nil {
			return false, err
		}
		for _, s := range l.Items {
			for _, e := range s.Endpoints {
				if slices.Contains(e.Addresses, ip) {
					return true, nil
				}
			}
		}
		return false, nil
	})

	cfg, err := cp.ClientConfig("system:node:n1", "system:nodes")
	if err != nil {
		t.Fatal(err)
	}
	kubelet := kubernetes.NewForConfigOrDie(cfg)
	who, err := kubelet.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u := who.Status.UserInfo; u.Username != "system:node:n1" || !slices.Contains(u.Groups, "system:nodes") {
		t.Errorf("the client certificate authenticates as %s %v", u.Username, u.Groups)
	}
	n1, err := kubelet.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a kubelet registers its Node: %v", err)
	}
	if _, err := kubelet.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("system:node:n1 created Node n2: err = %v, want Forbidden", err)
	}
	// As admitted (the node lifecycle controller later manages the taint from the Node's conditions,
	// and this Node has none).
	if !slices.ContainsFunc(n1.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeNotReady }) {
		t.Errorf("a new Node has taints %v, want %s until it is Ready", n1.Spec.Taints, corev1.TaintNodeNotReady)
	}

	auth, err := cp.Client.CoreV1().ConfigMaps("kube-system").Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if auth.Data["requestheader-client-ca-file"] == "" || !strings.Contains(auth.Data["requestheader-allowed-names"], "front-proxy-client") {
		t.Errorf("extension-apiserver-authentication has no front-proxy configuration: %v", auth.Data)
	}
}

// nonLoopbackIPv4 returns an IPv4 address of an interface that is up and not loopback, or skips.
func nonLoopbackIPv4(t *testing.T) string {
	t.Helper()
	ifs, _ := net.Interfaces()
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				return n.IP.String()
			}
		}
	}
	t.Skip("no non-loopback IPv4 address to advertise")
	return ""
}
