//go:build linux

package kubetest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/stampede-load/stampede/internal/kubetest"
)

// newNamespace creates a namespace named prefix-<random> and deletes it when t ends (unless t
// failed: then it stays for the logs dumped at the end).
func newNamespace(t *testing.T, cp *kubetest.ControlPlane, prefix string) string {
	t.Helper()
	ns, err := cp.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = cp.Client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		}
	})
	// Pods need the namespace's default ServiceAccount (admission checks it); the controller
	// creates it a moment after the namespace.
	waitUntil(t, 30*time.Second, "ServiceAccount default in "+ns.Name, func(ctx context.Context) (bool, error) {
		_, err := cp.Client.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	return ns.Name
}

// waitUntil polls cond every 100 ms until it returns true, failing t after timeout with cond's last
// error.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if err != nil {
			last = err
		}
		return ok, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last error: %v)", what, err, last)
	}
}

func isKwokNode(cp *kubetest.ControlPlane, name string) bool { return slices.Contains(cp.Nodes, name) }

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
