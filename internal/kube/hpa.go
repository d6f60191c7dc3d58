package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	autoscalinginformers "k8s.io/client-go/informers/autoscaling/v2"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/stampede-load/stampede/internal/stats"
)

// HPASample is what one HorizontalPodAutoscaler reported last.
type HPASample struct {
	Name string
	// CurrentReplicas and DesiredReplicas are status.currentReplicas and status.desiredReplicas:
	// the pods the HPA sees now and the count it last decided on.
	CurrentReplicas, DesiredReplicas int32
	// MinReplicas and MaxReplicas are the spec's bounds (MinReplicas defaults to 1, as in the API).
	MinReplicas, MaxReplicas int32
	// Metrics are status.currentMetrics, in the HPA's order.
	Metrics []MetricValue
	// Seen is when the watcher received this version of the HPA. The HPA status carries no time
	// of its own: the controller rewrites it only when something changed (it evaluates every 15s by
	// default), so an old Seen means nothing changed since, not that the sample is stale.
	Seen time.Time
	// LastScale is status.lastScaleTime (zero if it never scaled).
	LastScale time.Time
}

// MetricValue is one entry of an HPA's status.currentMetrics.
type MetricValue struct {
	Type string // Resource, ContainerResource, Pods, Object or External
	// Name is the resource (cpu, memory) for Resource and ContainerResource, else the metric's name.
	Name      string
	Container string // ContainerResource only
	// Utilization is the average utilisation in percent of the pods' requests (Resource and
	// ContainerResource with a utilisation target), nil otherwise.
	Utilization *float64
	// Value is the value or average value in the metric's base unit (cores for cpu, bytes for
	// memory), nil if the HPA reports none.
	Value *float64
}

// CPUUtilization is the pods' average CPU utilisation in percent of their requests from a Resource
// metric, if the HPA reports one.
func (s HPASample) CPUUtilization() (float64, bool) {
	for _, m := range s.Metrics {
		if m.Type == string(autoscalingv2.ResourceMetricSourceType) && m.Name == string(corev1.ResourceCPU) && m.Utilization != nil {
			return *m.Utilization, true
		}
	}
	return 0, false
}

// The keys Extras produces, each followed by "{hpa:NAME}" with the HPA's name, e.g.
// "hpa_replicas{hpa:web}".
const (
	// ExtraReplicas is status.currentReplicas.
	ExtraReplicas = "hpa_replicas"
	// ExtraDesiredReplicas is status.desiredReplicas.
	ExtraDesiredReplicas = "hpa_desired_replicas"
	// ExtraCPUUtilization is the average CPU utilisation in percent of requests, from a Resource
	// metric in status.currentMetrics; absent while the HPA reports none (metrics not yet available,
	// or an HPA that does not scale on CPU utilisation).
	ExtraCPUUtilization = "hpa_cpu_utilization"
)

// ExtraKey is the Extras key of metric (ExtraReplicas, ...) for the HPA named hpa.
func ExtraKey(metric, hpa string) stats.GaugeKey {
	return stats.GaugeKey{Metric: metric, Tag: "hpa", Value: hpa}
}

// Extras turns samples into values for a series point's Extra map: for each HPA,
// hpa_replicas{hpa:NAME} and hpa_desired_replicas{hpa:NAME}, and hpa_cpu_utilization{hpa:NAME}
// when the HPA reports it. It returns nil for no samples.
func Extras(samples []HPASample) map[stats.GaugeKey]float64 {
	if len(samples) == 0 {
		return nil
	}
	m := make(map[stats.GaugeKey]float64, 3*len(samples))
	for _, s := range samples {
		m[ExtraKey(ExtraReplicas, s.Name)] = float64(s.CurrentReplicas)
		m[ExtraKey(ExtraDesiredReplicas, s.Name)] = float64(s.DesiredReplicas)
		if u, ok := s.CPUUtilization(); ok {
			m[ExtraKey(ExtraCPUUtilization, s.Name)] = u
		}
	}
	return m
}

// HPAWatcherOptions configure an HPAWatcher.
type HPAWatcherOptions struct {
	Client    kubernetes.Interface
	Namespace string
	// Names are the HPAs to watch; Selector is a label selector ("app=web,tier!=cache") they must
	// match. With both, an HPA must be named and match; with neither, every HPA in the namespace
	// is watched.
	Names    []string
	Selector string
	// Resync is how often the informer re-delivers what it holds. Default 5m.
	Resync time.Duration
	Logger *slog.Logger
}

// HPAWatcher keeps the latest state of the selected HPAs with an informer (list, then watch, relisting
// after a dropped watch). Its methods are safe for concurrent use.
type HPAWatcher struct {
	opts     HPAWatcherOptions
	log      *slog.Logger
	selector labels.Selector
	names    map[string]bool // nil: any name
	informer cache.SharedIndexInformer

	mu      sync.Mutex
	samples map[string]HPASample
	rv      map[string]string // resourceVersion per sample, to tell updates from resyncs
	lastErr error
}

// NewHPAWatcher returns a watcher of the HPAs opts select. It starts nothing until Run.
func NewHPAWatcher(opts HPAWatcherOptions) (*HPAWatcher, error) {
	if opts.Client == nil || opts.Namespace == "" {
		return nil, errors.New("kube: HPAWatcherOptions.Client and Namespace are required")
	}
	sel, err := labels.Parse(opts.Selector)
	if err != nil {
		return nil, fmt.Errorf("kube: HPA label selector %q: %w", opts.Selector, err)
	}
	if opts.Resync <= 0 {
		opts.Resync = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	w := &HPAWatcher{
		opts:     opts,
		log:      opts.Logger.With("namespace", opts.Namespace),
		selector: sel,
		samples:  map[string]HPASample{},
		rv:       map[string]string{},
	}
	if len(opts.Names) > 0 {
		w.names = map[string]bool{}
		for _, n := range opts.Names {
			w.names[n] = true
		}
	}
	w.informer = autoscalinginformers.NewFilteredHorizontalPodAutoscalerInformer(opts.Client, opts.Namespace, opts.Resync, cache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = sel.String() })
	_, err = w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.put(obj) },
		UpdateFunc: func(_, obj any) { w.put(obj) },
		DeleteFunc: w.remove,
	})
	if err != nil {
		return nil, fmt.Errorf("kube: HPA informer: %w", err)
	}
	if err := w.informer.SetWatchErrorHandlerWithContext(w.watchError); err != nil {
		return nil, fmt.Errorf("kube: HPA informer: %w", err)
	}
	return w, nil
}

// Run lists and watches until ctx ends, then returns nil. Errors from the API server do not end
// it: the informer retries with backoff, and Err reports them.
func (w *HPAWatcher) Run(ctx context.Context) error {
	w.informer.RunWithContext(ctx)
	return nil
}

// Synced reports whether the first list has been received, so that Sample covers every selected HPA.
func (w *HPAWatcher) Synced() bool { return w.informer.HasSynced() }

// Err is the last error from listing or watching, nil once an HPA event is received after it (so
// it stays set after a recovery while no selected HPA changes; the informer keeps retrying).
func (w *HPAWatcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

// Sample returns the latest state of each selected HPA, by name.
func (w *HPAWatcher) Sample() []HPASample {
	w.mu.Lock()
	out := make([]HPASample, 0, len(w.samples))
	for _, s := range w.samples {
		s.Metrics = slices.Clone(s.Metrics) // the pointers inside are never written again
		out = append(out, s)
	}
	w.mu.Unlock()
	slices.SortFunc(out, func(a, b HPASample) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (w *HPAWatcher) selected(h *autoscalingv2.HorizontalPodAutoscaler) bool {
	return (w.names == nil || w.names[h.Name]) && w.selector.Matches(labels.Set(h.Labels))
}

func (w *HPAWatcher) put(obj any) {
	h, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastErr = nil
	if !w.selected(h) { // a label change can take an HPA out of the selection
		delete(w.samples, h.Name)
		delete(w.rv, h.Name)
		return
	}
	if rv, ok := w.rv[h.Name]; ok && rv == h.ResourceVersion && h.ResourceVersion != "" {
		return // a resync: nothing new, keep Seen
	}
	w.samples[h.Name] = sampleOf(h, time.Now())
	w.rv[h.Name] = h.ResourceVersion
}

func (w *HPAWatcher) remove(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	h, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastErr = nil
	delete(w.samples, h.Name)
	delete(w.rv, h.Name)
}

func (w *HPAWatcher) watchError(ctx context.Context, _ *cache.Reflector, err error) {
	err = request{verb: "list/watch", group: "autoscaling", resource: "horizontalpodautoscalers", namespace: w.opts.Namespace}.wrap(err)
	w.mu.Lock()
	same := w.lastErr != nil && w.lastErr.Error() == err.Error()
	w.lastErr = err
	w.mu.Unlock()
	if !same {
		w.log.WarnContext(ctx, "watching HPAs failed; retrying", "err", err)
	}
}

// sampleOf converts an HPA seen at now.
func sampleOf(h *autoscalingv2.HorizontalPodAutoscaler, now time.Time) HPASample {
	s := HPASample{
		Name:            h.Name,
		CurrentReplicas: h.Status.CurrentReplicas,
		DesiredReplicas: h.Status.DesiredReplicas,
		MinReplicas:     1,
		MaxReplicas:     h.Spec.MaxReplicas,
		Seen:            now,
	}
	if h.Spec.MinReplicas != nil {
		s.MinReplicas = *h.Spec.MinReplicas
	}
	if h.Status.LastScaleTime != nil {
		s.LastScale = h.Status.LastScaleTime.Time
	}
	for _, m := range h.Status.CurrentMetrics {
		v := MetricValue{Type: string(m.Type)}
		var cur autoscalingv2.MetricValueStatus
		switch {
		case m.Resource != nil:
			v.Name, cur = string(m.Resource.Name), m.Resource.Current
		case m.ContainerResource != nil:
			v.Name, v.Container, cur = string(m.ContainerResource.Name), m.ContainerResource.Container, m.ContainerResource.Current
		case m.Pods != nil:
			v.Name, cur = m.Pods.Metric.Name, m.Pods.Current
		case m.Object != nil:
			v.Name, cur = m.Object.Metric.Name, m.Object.Current
		case m.External != nil:
			v.Name, cur = m.External.Metric.Name, m.External.Current
		default:
			continue
		}
		if cur.AverageUtilization != nil {
			u := float64(*cur.AverageUtilization)
			v.Utilization = &u
		}
		switch {
		case cur.AverageValue != nil:
			f := cur.AverageValue.AsApproximateFloat64()
			v.Value = &f
		case cur.Value != nil:
			f := cur.Value.AsApproximateFloat64()
			v.Value = &f
		}
		s.Metrics = append(s.Metrics, v)
	}
	return s
}
