//go:build linux

package kubetest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/stampede-load/stampede/internal/kube"
	"github.com/stampede-load/stampede/internal/kubetest"
	"github.com/stampede-load/stampede/internal/stats"
)

// The HPAWatcher, as the chart's ServiceAccount with HPA watching on, reads a real HPA's status as
// kube-controller-manager writes it. There is no metrics API here, so the HPA moves only to stay
// within minReplicas and maxReplicas, and reports no CPU utilisation.
func TestHPAWatcherOnRealHPA(t *testing.T) {
	t.Parallel()
	cp := cluster(t)
	ns := newNamespace(t, cp, "hpa")
	install(t, cp, ns, "lt", "watchHPA.names={web}", "workers.replicas=0")

	createDeployment(t, cp, ns, "web", 1)
	createDeployment(t, cp, ns, "cache", 1)
	createHPA(t, cp, ns, "web", 2, 4)
	createHPA(t, cp, ns, "cache", 1, 2) // not named: not watched

	w, err := kube.NewHPAWatcher(kube.HPAWatcherOptions{
		Client: saClient(t, cp, ns, "lt-stampede"), Namespace: ns, Names: []string{"web"}, Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, w.Run)

	// follows waits until the watcher reports web at n replicas, current and desired, within
	// [lo, hi], and the Deployment has n.
	follows := func(n, lo, hi int32) {
		t.Helper()
		waitUntil(t, 60*time.Second, fmt.Sprintf("hpa_replicas{hpa:web} = %d", n), func(ctx context.Context) (bool, error) {
			if err := w.Err(); err != nil || !w.Synced() {
				return false, fmt.Errorf("synced %v, err %v", w.Synced(), err)
			}
			samples := w.Sample()
			ex := kube.Extras(samples)
			want := map[stats.GaugeKey]float64{
				kube.ExtraKey(kube.ExtraReplicas, "web"):        float64(n),
				kube.ExtraKey(kube.ExtraDesiredReplicas, "web"): float64(n),
			}
			if fmt.Sprint(ex) != fmt.Sprint(want) || len(samples) != 1 || samples[0].MinReplicas != lo || samples[0].MaxReplicas != hi {
				return false, fmt.Errorf("Extras %v, samples %+v", ex, samples)
			}
			d, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return *d.Spec.Replicas == n, fmt.Errorf("Deployment web has %d replicas", *d.Spec.Replicas)
		})
	}

	follows(2, 2, 4) // the HPA lifts the Deployment from 1 to its minimum
	patchHPA(t, cp, ns, "web", `{"spec":{"minReplicas":3}}`)
	follows(3, 3, 4)
	patchHPA(t, cp, ns, "web", `{"spec":{"minReplicas":1,"maxReplicas":1}}`)
	follows(1, 1, 1) // above the maximum: down at once, no stabilisation window

	for _, s := range w.Sample() {
		if _, ok := s.CPUUtilization(); ok {
			t.Errorf("HPA %s reports CPU utilisation without a metrics API: %+v", s.Name, s.Metrics)
		}
	}
}

// createHPA creates an autoscaling/v2 HPA of Deployment name on CPU (70% of requests).
func createHPA(t *testing.T, cp *kubetest.ControlPlane, ns, name string, lo, hi int32) {
	t.Helper()
	util := int32(70)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    &lo,
			MaxReplicas:    hi,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name:   corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util},
				},
			}},
		},
	}
	if _, err := cp.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(context.Background(), hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func patchHPA(t *testing.T, cp *kubetest.ControlPlane, ns, name, patch string) {
	t.Helper()
	if _, err := cp.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}
