package kube

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const (
	testNS   = "lt"
	testName = "stampede-worker"
)

var scaleResource = schema.GroupResource{Group: "apps", Resource: "deployments/scale"}

// fakeDeployment stands in for the API server's Deployment and its scale subresource, which the
// fake clientset's object tracker does not implement. Its rollouts are instant: ready follows spec.
type fakeDeployment struct {
	mu       sync.Mutex
	replicas int32
	ready    int32
	rv       int // resourceVersion, bumped by every write
	updates  int // UpdateScale calls that reached the object
}

func (d *fakeDeployment) scaleLocked() *autoscalingv1.Scale {
	return &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: testName, Namespace: testNS, ResourceVersion: strconv.Itoa(d.rv)},
		Spec:       autoscalingv1.ScaleSpec{Replicas: d.replicas},
		Status:     autoscalingv1.ScaleStatus{Replicas: d.ready},
	}
}

// set is another writer scaling the Deployment.
func (d *fakeDeployment) set(n int32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.replicas, d.ready = n, n
	d.rv++
}

func (d *fakeDeployment) state() (replicas int32, updates int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.replicas, d.updates
}

// newFakeCluster returns a clientset serving d as testNS/testName.
func newFakeCluster(d *fakeDeployment) *fake.Clientset {
	c := fake.NewClientset()
	c.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		name := a.(k8stesting.GetAction).GetName()
		if a.GetNamespace() != testNS || name != testName {
			return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: "apps", Resource: "deployments"}, name)
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		switch a.GetSubresource() {
		case "scale":
			return true, d.scaleLocked(), nil
		case "":
			r := d.replicas
			return true, &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: testName, Namespace: testNS, ResourceVersion: strconv.Itoa(d.rv)},
				Spec:       appsv1.DeploymentSpec{Replicas: &r},
				Status:     appsv1.DeploymentStatus{Replicas: d.ready, ReadyReplicas: d.ready},
			}, nil
		}
		return false, nil, nil
	})
	c.PrependReactor("update", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		sc := a.(k8stesting.UpdateAction).GetObject().(*autoscalingv1.Scale)
		d.mu.Lock()
		defer d.mu.Unlock()
		d.updates++
		if sc.ResourceVersion != strconv.Itoa(d.rv) {
			return true, nil, apierrors.NewConflict(scaleResource, testName, errors.New("the object has been modified"))
		}
		d.replicas, d.ready = sc.Spec.Replicas, sc.Spec.Replicas
		d.rv++
		return true, d.scaleLocked(), nil
	})
	return c
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fastScaler re-reads every few milliseconds, so that tests wait on conditions, not on timers.
func fastScaler(t *testing.T, c *fake.Clientset) *Scaler {
	t.Helper()
	s, err := NewScaler(ScalerOptions{Client: c, Namespace: testNS, Deployment: testName,
		Resync: 5 * time.Millisecond, Settle: time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// start runs run until the test ends and checks that Run returns nil when its context ends.
func start(t *testing.T, run func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after its context ended, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
}

// waitFor fails the test unless cond becomes true within 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling interval, not synchronisation
	}
}

// waitConverged waits until Status reports n desired, spec and ready replicas and no error.
func waitConverged(t *testing.T, s *Scaler, d *fakeDeployment, n int32) {
	t.Helper()
	waitFor(t, "convergence to "+strconv.Itoa(int(n)), func() bool {
		desired, spec, ready, err := s.Status()
		r, _ := d.state()
		return desired == n && spec == n && ready == n && err == nil && r == n
	})
}

func TestScalerConverges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		start int32
		steps []int32 // desired counts, each waited for in turn
	}{
		{"up from 1 to 5 and back", 1, []int32{5, 1}},
		{"to zero and up", 3, []int32{0, 4}},
		{"already there", 2, []int32{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := &fakeDeployment{replicas: tt.start, ready: tt.start, rv: 1}
			s := fastScaler(t, newFakeCluster(d))
			start(t, s.Run)
			writes := 0
			prev := tt.start
			for _, n := range tt.steps {
				s.SetDesired(n)
				waitConverged(t, s, d, n)
				if n != prev {
					writes++
				}
				prev = n
			}
			if _, updates := d.state(); updates != writes {
				t.Errorf("UpdateScale called %d times, want %d (once per change)", updates, writes)
			}
		})
	}
}

func TestScalerObservesBeforeSetDesired(t *testing.T) {
	t.Parallel()
	d := &fakeDeployment{replicas: 3, ready: 2, rv: 1}
	s := fastScaler(t, newFakeCluster(d))
	start(t, s.Run)
	waitFor(t, "the first read", func() bool {
		desired, spec, ready, err := s.Status()
		return desired == -1 && spec == 3 && ready == 2 && err == nil
	})
	if _, updates := d.state(); updates != 0 {
		t.Errorf("UpdateScale called %d times before SetDesired, want 0", updates)
	}
}

// TestScalerSetDesiredWhileRunning changes the target mid-run, and has another writer scale the
// Deployment behind the Scaler's back: level-based, it puts the count back.
func TestScalerSetDesiredWhileRunning(t *testing.T) {
	t.Parallel()
	d := &fakeDeployment{replicas: 1, ready: 1, rv: 1}
	s := fastScaler(t, newFakeCluster(d))
	s.SetDesired(3)
	start(t, s.Run)
	waitConverged(t, s, d, 3)

	s.SetDesired(7)
	waitConverged(t, s, d, 7)

	d.set(2) // e.g. kubectl scale
	waitFor(t, "the Scaler to undo another writer", func() bool {
		r, updates := d.state()
		return r == 7 && updates == 3
	})
}

// TestScalerConflict has another writer win the race for the first update: the Scaler re-reads
// and re-applies.
func TestScalerConflict(t *testing.T) {
	t.Parallel()
	d := &fakeDeployment{replicas: 1, ready: 1, rv: 1}
	c := newFakeCluster(d)
	var conflicts int
	var mu sync.Mutex
	c.PrependReactor("update", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if a.GetSubresource() != "scale" || conflicts > 0 {
			return false, nil, nil
		}
		conflicts++
		d.set(2) // the other writer
		return true, nil, apierrors.NewConflict(scaleResource, testName, errors.New("the object has been modified; please apply your changes to the latest version and try again"))
	})
	s := fastScaler(t, c)
	s.SetDesired(5)
	start(t, s.Run)
	waitConverged(t, s, d, 5)
	mu.Lock()
	defer mu.Unlock()
	if conflicts != 1 {
		t.Errorf("conflicts = %d, want 1", conflicts)
	}
	if _, updates := d.state(); updates != 1 {
		t.Errorf("updates reaching the Deployment = %d, want 1 (the retry after the conflict)", updates)
	}
}

// manualClock replaces time.After: it records each wait Run asks for and fires only when told.
type manualClock struct {
	waits chan time.Duration
	fire  chan time.Time
}

func newManualClock() *manualClock {
	return &manualClock{waits: make(chan time.Duration, 16), fire: make(chan time.Time)}
}

func (m *manualClock) after(d time.Duration) <-chan time.Time {
	m.waits <- d
	return m.fire
}

func (m *manualClock) nextWait(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-m.waits:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for Run to wait")
		return 0
	}
}

// TestScalerPermanentErrors checks that errors a retry cannot fix are reported with what to check
// and retried only after MaxBackoff, not in a hot loop.
func TestScalerPermanentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		deployment string
		reactor    k8stesting.ReactionFunc // on update deployments
		sentinel   error
		api        func(error) bool
		want       []string // in the message
		wantWrites int      // UpdateScale calls that reach the Deployment per pass
	}{
		{
			name:       "forbidden update",
			deployment: testName,
			reactor: func(a k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(scaleResource, testName,
					errors.New(`User "system:serviceaccount:lt:stampede-master" cannot update resource "deployments/scale" in API group "apps" in the namespace "lt"`))
			},
			sentinel: ErrForbidden,
			api:      apierrors.IsForbidden,
			want: []string{`update deployments/scale "stampede-worker" in namespace "lt"`, "ServiceAccount",
				`allows "update" on "deployments/scale" in API group "apps"`, "system:serviceaccount:lt:stampede-master"},
		},
		{
			name:       "unauthorized",
			deployment: testName,
			reactor: func(a k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewUnauthorized("token expired")
			},
			sentinel: ErrForbidden,
			api:      apierrors.IsUnauthorized,
			want:     []string{`update deployments/scale "stampede-worker" in namespace "lt"`, "credentials"},
		},
		{
			name:       "no such deployment",
			deployment: "nope",
			sentinel:   ErrNotFound,
			api:        apierrors.IsNotFound,
			want:       []string{`get deployments/scale "nope" in namespace "lt"`, "check the name and namespace"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := &fakeDeployment{replicas: 1, ready: 1, rv: 1}
			c := newFakeCluster(d)
			var attempts int
			var mu sync.Mutex
			c.PrependReactor("*", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
				mu.Lock()
				attempts++
				mu.Unlock()
				if tt.reactor != nil && a.GetVerb() == "update" {
					return tt.reactor(a)
				}
				return false, nil, nil
			})
			attemptsNow := func() int { mu.Lock(); defer mu.Unlock(); return attempts }

			const maxBackoff = 42 * time.Second
			s, err := NewScaler(ScalerOptions{Client: c, Namespace: testNS, Deployment: tt.deployment,
				MinBackoff: time.Millisecond, MaxBackoff: maxBackoff, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			clock := newManualClock()
			s.after = clock.after
			s.SetDesired(5)
			start(t, s.Run)

			for pass := 1; pass <= 3; pass++ {
				if d := clock.nextWait(t); d != maxBackoff {
					t.Fatalf("pass %d: Run waits %v after %q, want MaxBackoff %v", pass, d, tt.name, maxBackoff)
				}
				// Run is now blocked until the clock fires: exactly two requests per pass so far
				// (get + refused update, or the get that found nothing).
				perPass := 2
				if tt.reactor == nil {
					perPass = 1
				}
				if got := attemptsNow(); got != pass*perPass {
					t.Fatalf("pass %d: %d requests, want %d", pass, got, pass*perPass)
				}
				_, _, _, lastErr := s.Status()
				if !errors.Is(lastErr, tt.sentinel) || !tt.api(lastErr) {
					t.Fatalf("Status error %v: want errors.Is %v and the API status kept", lastErr, tt.sentinel)
				}
				for _, w := range tt.want {
					if !strings.Contains(lastErr.Error(), w) {
						t.Errorf("error %q does not say %q", lastErr, w)
					}
				}
				clock.fire <- time.Now()
			}
			if r, _ := d.state(); r != 1 {
				t.Errorf("replicas = %d, want 1 untouched", r)
			}
		})
	}
}

func TestRetryWait(t *testing.T) {
	t.Parallel()
	const lo, hi = 100 * time.Millisecond, 3 * time.Second
	conflict := request{verb: "update"}.wrap(apierrors.NewConflict(scaleResource, testName, errors.New("modified")))
	forbidden := request{verb: "update"}.wrap(apierrors.NewForbidden(scaleResource, testName, errors.New("no")))
	notFound := request{verb: "get"}.wrap(apierrors.NewNotFound(scaleResource, testName))
	invalid := request{verb: "update"}.wrap(apierrors.NewInvalid(schema.GroupKind{Group: "autoscaling", Kind: "Scale"}, testName, nil))
	tests := []struct {
		name     string
		err      error
		failures int
		want     time.Duration
	}{
		{"first conflict", conflict, 1, lo},
		{"second conflict", conflict, 2, 2 * lo},
		{"fifth timeout", errors.New("i/o timeout"), 5, 16 * lo},
		{"capped", errors.New("i/o timeout"), 50, hi},
		{"forbidden at once", forbidden, 1, hi},
		{"not found at once", notFound, 1, hi},
		{"invalid at once", invalid, 1, hi},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := retryWait(tt.err, tt.failures, lo, hi); got != tt.want {
				t.Errorf("retryWait(%v, %d) = %v, want %v", tt.err, tt.failures, got, tt.want)
			}
		})
	}
}

func TestNewScalerValidates(t *testing.T) {
	t.Parallel()
	c := fake.NewClientset()
	tests := []struct {
		name string
		opts ScalerOptions
	}{
		{"no client", ScalerOptions{Namespace: testNS, Deployment: testName}},
		{"no namespace", ScalerOptions{Client: c, Deployment: testName}},
		{"no deployment", ScalerOptions{Client: c, Namespace: testNS}},
		{"backoff upside down", ScalerOptions{Client: c, Namespace: testNS, Deployment: testName, MinBackoff: time.Minute, MaxBackoff: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewScaler(tt.opts); err == nil {
				t.Error("NewScaler accepted invalid options")
			}
		})
	}
}
