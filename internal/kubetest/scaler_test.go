//go:build linux

package kubetest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/stampede-load/stampede/internal/kube"
	"github.com/stampede-load/stampede/internal/kubetest"
)

// saClient is a clientset that authenticates as the ServiceAccount ns/name (a TokenRequest token).
func saClient(t *testing.T, cp *kubetest.ControlPlane, ns, name string) kubernetes.Interface {
	t.Helper()
	cfg, err := cp.ServiceAccountConfig(context.Background(), ns, name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runInBackground runs run until t ends and fails t if it returns an error.
func runInBackground(t *testing.T, run func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// The master's Scaler, authenticated as the chart's ServiceAccount (what the master's pod gets),
// scales the worker Deployment, and the Deployment controller, scheduler and kwok bring the pods
// up; another writer and `helm upgrade` are overruled.
func TestScalerAsChartServiceAccount(t *testing.T) {
	t.Parallel()
	cp := cluster(t)
	ctx := context.Background()
	ns := newNamespace(t, cp, "scale")
	const rel, worker = "lt", "lt-stampede-worker"
	install(t, cp, ns, rel, "workers.replicas=1")

	s, err := kube.NewScaler(kube.ScalerOptions{
		Client: saClient(t, cp, ns, "lt-stampede"), Namespace: ns, Deployment: worker,
		Resync: 200 * time.Millisecond, Settle: 100 * time.Millisecond,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second,
		Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, s.Run)

	// converged waits until the Scaler and the Deployment agree on n replicas, all ready.
	converged := func(n int32) {
		t.Helper()
		waitUntil(t, 60*time.Second, fmt.Sprintf("%d ready workers", n), func(ctx context.Context) (bool, error) {
			desired, spec, ready, lastErr := s.Status()
			d, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, worker, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			ok := desired == n && spec == n && ready == n && lastErr == nil &&
				*d.Spec.Replicas == n && d.Status.ReadyReplicas == n && d.Status.Replicas == n
			return ok, fmt.Errorf("Scaler status desired %d spec %d ready %d err %v; Deployment spec %d ready %d replicas %d",
				desired, spec, ready, lastErr, *d.Spec.Replicas, d.Status.ReadyReplicas, d.Status.Replicas)
		})
	}

	s.SetDesired(4)
	converged(4)
	runningPods(t, cp, ns, 4+1) // and the master

	// Another writer sets 6: the Scaler's next pass puts 4 back. The watch starts first: the Scaler
	// may heal within its 200 ms resync, before a watch started afterwards would see the 6.
	seen := watchReplicas(t, cp, ns, worker)
	sc, err := cp.Client.AppsV1().Deployments(ns).GetScale(ctx, worker, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sc.Spec.Replicas = 6
	if _, err := cp.Client.AppsV1().Deployments(ns).UpdateScale(ctx, worker, sc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	converged(4)
	if !seen(6) {
		t.Error("the other writer's 6 replicas never reached the Deployment: the healing shown is not one")
	}

	// `helm upgrade` sets spec.replicas back to workers.replicas (a three-way merge: the chart's 1
	// differs from the live 4); the Scaler restores its count. README "Scaling" says so.
	seen = watchReplicas(t, cp, ns, worker)
	if _, err := cp.Helm().Run(ctx, "upgrade", rel, chartDir, "--namespace", ns, "--reuse-values", "--set", "logLevel=debug"); err != nil {
		t.Fatal(err)
	}
	converged(4)
	if !seen(1) {
		t.Error("helm upgrade did not reset the worker Deployment to workers.replicas (1): update README \"Scaling\"")
	}

	s.SetDesired(0)
	converged(0)
	runningPods(t, cp, ns, 1)
}

// watchReplicas records the spec.replicas values the Deployment takes from now on; the returned
// function reports whether n was one of them, waiting up to 10 s for the watch to deliver it.
func watchReplicas(t *testing.T, cp *kubetest.ControlPlane, ns, name string) func(n int32) bool {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w, err := cp.Client.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan int32, 1000)
	go func() {
		for ev := range w.ResultChan() {
			if d, ok := ev.Object.(*appsv1.Deployment); ok && ev.Type == watch.Modified {
				seen <- *d.Spec.Replicas
			}
		}
	}()
	return func(n int32) bool {
		timeout := time.After(10 * time.Second)
		for {
			select {
			case v := <-seen:
				if v == n {
					return true
				}
			case <-timeout:
				return false
			}
		}
	}
}
