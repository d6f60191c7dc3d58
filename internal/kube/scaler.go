package kube

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ScalerOptions configure a Scaler.
type ScalerOptions struct {
	Client     kubernetes.Interface
	Namespace  string
	Deployment string // the worker Deployment
	// Resync is how often Run re-reads the Deployment once it has converged (spec and ready replicas
	// equal to the desired count), to notice other writers. Default 10s.
	Resync time.Duration
	// Settle is how often Run re-reads it while it has not converged, so that Status follows a
	// rollout. Default 1s.
	Settle time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed pass: it starts at MinBackoff and
	// doubles with each failure in a row up to MaxBackoff. Errors a retry will not fix (ErrForbidden,
	// ErrNotFound, invalid requests) wait MaxBackoff at once. Defaults 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
}

// Scaler keeps a Deployment's replica count at the desired value through the scale subresource
// (GetScale/UpdateScale). Until SetDesired is first called it only observes. Its methods are safe for
// concurrent use.
type Scaler struct {
	opts  ScalerOptions
	log   *slog.Logger
	wake  chan struct{}                        // one pending wake-up for Run
	after func(time.Duration) <-chan time.Time // time.After; tests replace it

	mu      sync.Mutex
	desired int32 // -1: not set
	spec    int32 // -1: not read yet
	ready   int32 // -1: not read yet
	lastErr error
}

// NewScaler returns a Scaler for opts.Deployment in opts.Namespace.
func NewScaler(opts ScalerOptions) (*Scaler, error) {
	if opts.Client == nil || opts.Namespace == "" || opts.Deployment == "" {
		return nil, errors.New("kube: ScalerOptions.Client, Namespace and Deployment are required")
	}
	if opts.Resync <= 0 {
		opts.Resync = 10 * time.Second
	}
	if opts.Settle <= 0 {
		opts.Settle = time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.MaxBackoff < opts.MinBackoff {
		return nil, errors.New("kube: ScalerOptions.MaxBackoff is less than MinBackoff")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Scaler{
		opts:    opts,
		log:     opts.Logger.With("deployment", opts.Deployment, "namespace", opts.Namespace),
		wake:    make(chan struct{}, 1),
		after:   time.After,
		desired: -1, spec: -1, ready: -1,
	}, nil
}

// SetDesired sets the replica count Run converges to (n < 0 counts as 0). A change wakes Run at once;
// setting the current value again does nothing, so calling it every second is cheap.
func (s *Scaler) SetDesired(n int32) {
	n = max(n, 0)
	s.mu.Lock()
	changed := s.desired != n
	s.desired = n
	s.mu.Unlock()
	if changed {
		select {
		case s.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// Status reports the desired replica count (-1 before SetDesired), the Deployment's spec.replicas
// and status.readyReplicas as last read (-1 before the first read), and the error of the last pass
// (nil once a pass succeeds).
func (s *Scaler) Status() (desired, specReplicas, readyReplicas int32, lastErr error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.desired, s.spec, s.ready, s.lastErr
}

// Run reconciles until ctx ends, then returns nil. Each pass reads the scale, updates it if
// spec.replicas differs from the desired count, and reads the Deployment's ready replicas. A failed
// pass is retried after a backoff (see ScalerOptions), re-reading before re-applying, so a Conflict
// with another writer resolves on the next pass; a change of the desired count retries at once.
func (s *Scaler) Run(ctx context.Context) error {
	failures := 0
	var prevErr string
	for {
		select {
		case <-s.wake: // this pass reads the latest desired count anyway
		default:
		}
		err := s.reconcile(ctx)
		if ctx.Err() != nil {
			return nil
		}
		s.mu.Lock()
		s.lastErr = err
		converged := s.desired < 0 || (s.spec == s.desired && s.ready == s.desired)
		s.mu.Unlock()

		var wait time.Duration
		switch {
		case err != nil:
			failures++
			wait = retryWait(err, failures, s.opts.MinBackoff, s.opts.MaxBackoff)
			level := slog.LevelWarn
			if err.Error() == prevErr || apierrors.IsConflict(err) {
				level = slog.LevelDebug // said already, or routine
			}
			s.log.Log(ctx, level, "scaling the worker deployment failed", "err", err, "retry_in", wait)
			prevErr = err.Error()
		case converged:
			failures, prevErr, wait = 0, "", s.opts.Resync
		default:
			failures, prevErr, wait = 0, "", s.opts.Settle
		}

		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-s.after(wait):
		}
	}
}

// reconcile is one pass: read, compare, update on a difference, read the ready count.
func (s *Scaler) reconcile(ctx context.Context) error {
	deps := s.opts.Client.AppsV1().Deployments(s.opts.Namespace)
	req := request{group: "apps", resource: "deployments/scale", name: s.opts.Deployment, namespace: s.opts.Namespace}

	req.verb = "get"
	sc, err := deps.GetScale(ctx, s.opts.Deployment, metav1.GetOptions{})
	if err != nil {
		return req.wrap(err)
	}
	spec := sc.Spec.Replicas
	s.mu.Lock()
	s.spec = spec
	want := s.desired
	s.mu.Unlock()

	if want >= 0 && spec != want {
		// sc carries the resourceVersion we read, so a concurrent writer makes this a Conflict
		// rather than a silent overwrite of a value we never saw.
		sc.Spec.Replicas = want
		req.verb = "update"
		upd, err := deps.UpdateScale(ctx, s.opts.Deployment, sc, metav1.UpdateOptions{})
		if err != nil {
			return req.wrap(err)
		}
		s.log.Info("scaled the worker deployment", "from", spec, "to", upd.Spec.Replicas)
		spec = upd.Spec.Replicas
		s.mu.Lock()
		s.spec = spec
		s.mu.Unlock()
	}

	// The scale subresource has no ready count; the Deployment's status does.
	d, err := deps.Get(ctx, s.opts.Deployment, metav1.GetOptions{})
	if err != nil {
		return request{verb: "get", group: "apps", resource: "deployments", name: s.opts.Deployment, namespace: s.opts.Namespace}.wrap(err)
	}
	s.mu.Lock()
	s.ready = d.Status.ReadyReplicas
	s.mu.Unlock()
	return nil
}
