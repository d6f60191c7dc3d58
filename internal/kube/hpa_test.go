package kube

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/stampede-load/stampede/internal/stats"
)

// hpa builds an HPA in testNS scaling on CPU utilisation; cpu < 0 leaves currentMetrics empty, as
// before the metrics server has reported.
func hpa(name string, lbls map[string]string, current, desired int32, cpu int32) *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: lbls},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptrTo[int32](2),
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptrTo[int32](60)}},
			}},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: current, DesiredReplicas: desired},
	}
	if cpu >= 0 {
		h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
				Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptrTo(cpu), AverageValue: resource.NewMilliQuantity(150, resource.DecimalSI)}},
		}}
	}
	return h
}

func startWatcher(t *testing.T, opts HPAWatcherOptions) *HPAWatcher {
	t.Helper()
	opts.Namespace, opts.Logger = testNS, quietLogger()
	w, err := NewHPAWatcher(opts)
	if err != nil {
		t.Fatal(err)
	}
	start(t, w.Run)
	waitFor(t, "the first list", w.Synced)
	return w
}

// waitSample waits until Extras of Sample equals want.
func waitSample(t *testing.T, w *HPAWatcher, want map[string]float64) {
	t.Helper()
	waitFor(t, "HPA samples", func() bool { return maps.Equal(gaugeNames(Extras(w.Sample())), want) })
}

// TestHPAWatcherFollowsChanges creates, updates and deletes an HPA and checks what the master
// would put into the series.
func TestHPAWatcherFollowsChanges(t *testing.T) {
	t.Parallel()
	c := fake.NewClientset()
	hpas := c.AutoscalingV2().HorizontalPodAutoscalers(testNS)
	ctx := context.Background()
	w := startWatcher(t, HPAWatcherOptions{Client: c, Names: []string{"web"}})
	if s := w.Sample(); len(s) != 0 {
		t.Fatalf("Sample before any HPA = %v, want empty", s)
	}

	// Created before the metrics server has reported: replicas only.
	if _, err := hpas.Create(ctx, hpa("web", nil, 2, 2, -1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSample(t, w, map[string]float64{"hpa_replicas{hpa:web}": 2, "hpa_desired_replicas{hpa:web}": 2})
	first := w.Sample()[0]
	if first.MinReplicas != 2 || first.MaxReplicas != 10 || first.Seen.IsZero() {
		t.Errorf("sample = %+v, want min 2, max 10 and Seen set", first)
	}

	// The controller decides to scale out under load.
	h := hpa("web", nil, 2, 5, 93)
	h.Status.LastScaleTime = &metav1.Time{Time: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	if _, err := hpas.UpdateStatus(ctx, h, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSample(t, w, map[string]float64{"hpa_replicas{hpa:web}": 2, "hpa_desired_replicas{hpa:web}": 5, "hpa_cpu_utilization{hpa:web}": 93})
	s := w.Sample()[0]
	if !s.LastScale.Equal(h.Status.LastScaleTime.Time) {
		t.Errorf("LastScale = %v, want %v", s.LastScale, h.Status.LastScaleTime.Time)
	}
	if len(s.Metrics) != 1 || s.Metrics[0].Value == nil || *s.Metrics[0].Value != 0.15 {
		t.Errorf("Metrics = %+v, want cpu with average value 0.15 cores", s.Metrics)
	}

	// Another HPA that is not selected comes and goes unseen.
	if _, err := hpas.Create(ctx, hpa("api", nil, 1, 1, 10), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := hpas.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSample(t, w, nil)
}

func TestHPAWatcherSelection(t *testing.T) {
	t.Parallel()
	objects := []runtime.Object{
		hpa("web", map[string]string{"app": "shop", "tier": "front"}, 3, 3, 50),
		hpa("api", map[string]string{"app": "shop", "tier": "back"}, 4, 4, 50),
		hpa("db", map[string]string{"app": "db"}, 1, 1, 50),
	}
	other := hpa("elsewhere", nil, 9, 9, 50)
	other.Namespace = "other"
	objects = append(objects, other)

	tests := []struct {
		name     string
		names    []string
		selector string
		want     []string
	}{
		{"all in the namespace", nil, "", []string{"api", "db", "web"}},
		{"by name", []string{"web", "db", "missing"}, "", []string{"db", "web"}},
		{"by selector", nil, "app=shop", []string{"api", "web"}},
		{"by set-based selector", nil, "tier notin (front)", []string{"api", "db"}},
		{"names and selector", []string{"web", "db"}, "app=shop", []string{"web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := startWatcher(t, HPAWatcherOptions{Client: fake.NewClientset(objects...), Names: tt.names, Selector: tt.selector})
			var got []string
			waitFor(t, "the selected HPAs", func() bool {
				got = got[:0]
				for _, s := range w.Sample() {
					got = append(got, s.Name)
				}
				return slices.Equal(got, tt.want)
			})
		})
	}
}

// TestHPAWatcherLabelChange checks that an HPA relabelled out of the selection leaves the samples.
func TestHPAWatcherLabelChange(t *testing.T) {
	t.Parallel()
	c := fake.NewClientset(hpa("web", map[string]string{"app": "shop"}, 3, 3, 50))
	w := startWatcher(t, HPAWatcherOptions{Client: c, Selector: "app=shop"})
	waitFor(t, "web", func() bool { return len(w.Sample()) == 1 })
	if _, err := c.AutoscalingV2().HorizontalPodAutoscalers(testNS).Update(context.Background(),
		hpa("web", map[string]string{"app": "other"}, 3, 3, 50), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "web to leave the selection", func() bool { return len(w.Sample()) == 0 })
}

func TestHPAWatcherForbidden(t *testing.T) {
	t.Parallel()
	c := fake.NewClientset()
	c.PrependReactor("list", "horizontalpodautoscalers", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "autoscaling", Resource: "horizontalpodautoscalers"}, "",
			errors.New(`User "system:serviceaccount:lt:stampede-master" cannot list resource "horizontalpodautoscalers"`))
	})
	w, err := NewHPAWatcher(HPAWatcherOptions{Client: c, Namespace: testNS, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	start(t, w.Run)
	waitFor(t, "the error", func() bool { return w.Err() != nil })
	err = w.Err()
	if !errors.Is(err, ErrForbidden) || !apierrors.IsForbidden(err) {
		t.Errorf("Err() = %v, want ErrForbidden", err)
	}
	for _, want := range []string{`horizontalpodautoscalers in namespace "lt"`, `"autoscaling"`, "ServiceAccount"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if w.Synced() || len(w.Sample()) != 0 {
		t.Error("watcher claims to be synced, or has samples, without a list")
	}
}

func TestExtras(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name    string
		samples []HPASample
		want    map[string]float64
	}{
		{"none", nil, nil},
		{
			"cpu and no metrics yet",
			[]HPASample{
				sampleOf(hpa("web", nil, 3, 6, 87), now),
				sampleOf(hpa("api", nil, 2, 2, -1), now),
			},
			map[string]float64{
				"hpa_replicas{hpa:web}": 3, "hpa_desired_replicas{hpa:web}": 6, "hpa_cpu_utilization{hpa:web}": 87,
				"hpa_replicas{hpa:api}": 2, "hpa_desired_replicas{hpa:api}": 2,
			},
		},
		{
			"other metrics give no cpu key",
			[]HPASample{{Name: "q", CurrentReplicas: 1, DesiredReplicas: 4, Metrics: []MetricValue{
				{Type: "Resource", Name: "memory", Utilization: ptrTo(70.0)},
				{Type: "ContainerResource", Name: "cpu", Container: "sidecar", Utilization: ptrTo(99.0)},
				{Type: "External", Name: "queue_depth", Value: ptrTo(1200.0)},
			}}},
			map[string]float64{"hpa_replicas{hpa:q}": 1, "hpa_desired_replicas{hpa:q}": 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := gaugeNames(Extras(tt.samples)); !maps.Equal(got, tt.want) {
				t.Errorf("Extras = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSampleOfMetrics(t *testing.T) {
	t.Parallel()
	h := hpa("web", nil, 3, 3, -1)
	h.Spec.MinReplicas = nil
	h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{
		{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceMemory,
			Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptrTo[int32](40), AverageValue: resource.NewQuantity(200<<20, resource.BinarySI)}}},
		{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricStatus{Name: corev1.ResourceCPU, Container: "app",
			Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptrTo[int32](75)}}},
		{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{Metric: autoscalingv2.MetricIdentifier{Name: "rps"},
			Current: autoscalingv2.MetricValueStatus{AverageValue: resource.NewMilliQuantity(12500, resource.DecimalSI)}}},
		{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{Metric: autoscalingv2.MetricIdentifier{Name: "queue"},
			Current: autoscalingv2.MetricValueStatus{Value: resource.NewQuantity(1200, resource.DecimalSI)}}},
		{Type: autoscalingv2.ObjectMetricSourceType}, // no detail: skipped
	}
	s := sampleOf(h, time.Now())
	if s.MinReplicas != 1 {
		t.Errorf("MinReplicas = %d, want the API default 1", s.MinReplicas)
	}
	type flat struct {
		typ, name, container string
		util, value          float64 // -1: nil
	}
	deref := func(p *float64) float64 {
		if p == nil {
			return -1
		}
		return *p
	}
	var got []flat
	for _, m := range s.Metrics {
		got = append(got, flat{m.Type, m.Name, m.Container, deref(m.Utilization), deref(m.Value)})
	}
	want := []flat{
		{"Resource", "memory", "", 40, 200 << 20},
		{"ContainerResource", "cpu", "app", 75, -1},
		{"Pods", "rps", "", -1, 12.5},
		{"External", "queue", "", -1, 1200},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Metrics = %+v\nwant %+v", got, want)
	}
	if _, ok := s.CPUUtilization(); ok {
		t.Error("CPUUtilization found a value without a Resource cpu metric")
	}
}

func TestNewHPAWatcherValidates(t *testing.T) {
	t.Parallel()
	c := fake.NewClientset()
	tests := []struct {
		name string
		opts HPAWatcherOptions
	}{
		{"no client", HPAWatcherOptions{Namespace: testNS}},
		{"no namespace", HPAWatcherOptions{Client: c}},
		{"bad selector", HPAWatcherOptions{Client: c, Namespace: testNS, Selector: "app in (web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewHPAWatcher(tt.opts); err == nil {
				t.Error("NewHPAWatcher accepted invalid options")
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

// gaugeNames keys m by the names thresholds give the gauges.
func gaugeNames(m map[stats.GaugeKey]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k.String()] = v
	}
	return out
}
