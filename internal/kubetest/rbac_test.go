//go:build linux

package kubetest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/stampede-load/stampede/internal/kube"
	"github.com/stampede-load/stampede/internal/kubetest"
)

// The chart's ServiceAccount can do what the master needs and nothing else: the API server refuses
// everything the Role does not grant, and its own account of the rules (SelfSubjectRulesReview)
// matches the Role exactly.
func TestChartRBACIsMinimal(t *testing.T) {
	t.Parallel()
	cp := cluster(t)
	ctx := context.Background()
	ns := newNamespace(t, cp, "rbac")
	other := newNamespace(t, cp, "rbac-other")
	const worker = "lt-stampede-worker"
	install(t, cp, ns, "lt") // scaling on, no HPA watching: rbac.watchHPA and watchHPA off
	// Another Deployment beside the workers, and one with the workers' name in another namespace.
	createDeployment(t, cp, ns, "bystander", 1)
	createDeployment(t, cp, other, worker, 1)

	sa := saClient(t, cp, ns, "lt-stampede")
	deps := sa.AppsV1().Deployments(ns)

	// Allowed: what the Scaler does.
	if _, err := deps.Get(ctx, worker, metav1.GetOptions{}); err != nil {
		t.Errorf("get the worker Deployment: %v", err)
	}
	sc, err := deps.GetScale(ctx, worker, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get the worker Deployment's scale: %v", err)
	}
	if _, err := deps.UpdateScale(ctx, worker, sc, metav1.UpdateOptions{}); err != nil {
		t.Errorf("update the worker Deployment's scale: %v", err)
	}

	scaleOf := func(ns, name string, n int32) *autoscalingv1.Scale {
		return &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: n}}
	}
	patch := []byte(`{"spec":{"replicas":3}}`)
	forbidden := []struct {
		name string
		do   func(context.Context) error
	}{
		{"get another Deployment's scale", func(ctx context.Context) error {
			_, err := deps.GetScale(ctx, "bystander", metav1.GetOptions{})
			return err
		}},
		{"update another Deployment's scale", func(ctx context.Context) error {
			_, err := deps.UpdateScale(ctx, "bystander", scaleOf(ns, "bystander", 3), metav1.UpdateOptions{})
			return err
		}},
		{"patch another Deployment's scale", func(ctx context.Context) error {
			_, err := deps.Patch(ctx, "bystander", types.MergePatchType, patch, metav1.PatchOptions{}, "scale")
			return err
		}},
		{"patch another Deployment", func(ctx context.Context) error {
			_, err := deps.Patch(ctx, "bystander", types.MergePatchType, patch, metav1.PatchOptions{})
			return err
		}},
		{"get another Deployment", func(ctx context.Context) error {
			_, err := deps.Get(ctx, "bystander", metav1.GetOptions{})
			return err
		}},
		{"scale the workers' namesake in another namespace", func(ctx context.Context) error {
			_, err := sa.AppsV1().Deployments(other).UpdateScale(ctx, worker, scaleOf(other, worker, 3), metav1.UpdateOptions{})
			return err
		}},
		{"patch the worker Deployment (only its scale)", func(ctx context.Context) error {
			_, err := deps.Patch(ctx, worker, types.MergePatchType, patch, metav1.PatchOptions{})
			return err
		}},
		{"patch the worker Deployment's scale (update only)", func(ctx context.Context) error {
			_, err := deps.Patch(ctx, worker, types.MergePatchType, patch, metav1.PatchOptions{}, "scale")
			return err
		}},
		{"update the worker Deployment (its image, say)", func(ctx context.Context) error {
			d, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, worker, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("admin get: %w", err)
			}
			d.Spec.Template.Spec.Containers[0].Image = "evil.example/worker"
			_, err = deps.Update(ctx, d, metav1.UpdateOptions{})
			return err
		}},
		{"delete the worker Deployment", func(ctx context.Context) error {
			return deps.Delete(ctx, worker, metav1.DeleteOptions{})
		}},
		{"list Deployments", func(ctx context.Context) error {
			_, err := deps.List(ctx, metav1.ListOptions{})
			return err
		}},
		{"watch the worker Deployment", func(ctx context.Context) error {
			w, err := deps.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + worker})
			if err == nil {
				w.Stop()
			}
			return err
		}},
		{"create a Deployment", func(ctx context.Context) error {
			_, err := deps.Create(ctx, deployment("mine", 1), metav1.CreateOptions{})
			return err
		}},
		{"list the workers' pods", func(ctx context.Context) error {
			_, err := sa.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=worker"})
			return err
		}},
		{"create a pod", func(ctx context.Context) error {
			_, err := sa.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "mine"},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "evil.example/x"}}},
			}, metav1.CreateOptions{})
			return err
		}},
		{"list secrets", func(ctx context.Context) error {
			_, err := sa.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"read the scripts ConfigMap", func(ctx context.Context) error {
			_, err := sa.CoreV1().ConfigMaps(ns).Get(ctx, "lt-stampede-scripts", metav1.GetOptions{})
			return err
		}},
		{"list HPAs (HPA watching is off)", func(ctx context.Context) error {
			_, err := sa.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"grant itself more (edit its Role)", func(ctx context.Context) error {
			_, err := sa.RbacV1().Roles(ns).Patch(ctx, "lt-stampede", types.JSONPatchType,
				[]byte(`[{"op":"add","path":"/rules/-","value":{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}}]`), metav1.PatchOptions{})
			return err
		}},
	}
	for _, c := range forbidden {
		t.Run(c.name, func(t *testing.T) {
			if err := c.do(ctx); !apierrors.IsForbidden(err) {
				t.Errorf("err = %v, want Forbidden", err)
			}
		})
	}
	d, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, worker, metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Image == "evil.example/worker" {
		t.Errorf("the worker Deployment changed: err %v", err)
	}

	// The API server's view of what the ServiceAccount may do in the namespace: the Role, plus what
	// every authenticated user may do (system:basic-user: review itself).
	rr, err := sa.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
		Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rr.Status.Incomplete {
		t.Fatalf("SelfSubjectRulesReview incomplete: %s", rr.Status.EvaluationError)
	}
	var got []rbacv1.PolicyRule
	for _, r := range rr.Status.ResourceRules {
		if selfReview(r) {
			t.Logf("every authenticated user's: %v %v %v", r.APIGroups, r.Resources, r.Verbs)
			continue
		}
		got = append(got, rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames, Verbs: r.Verbs})
	}
	if want := scalerRules(worker); !equalRuleSets(got, want) {
		t.Errorf("SelfSubjectRulesReview in %s:\n%s\nwant:\n%s", ns, fmtRules(got), fmtRules(want))
	}

	// The Scaler pointed at another Deployment fails with kube.ErrForbidden and says what to check;
	// an HPAWatcher (watching is off) reports the same.
	s, err := kube.NewScaler(kube.ScalerOptions{Client: sa, Namespace: ns, Deployment: "bystander", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	s.SetDesired(3)
	runInBackground(t, s.Run)
	waitUntil(t, 10*time.Second, "the Scaler's error", func(context.Context) (bool, error) {
		_, _, _, err := s.Status()
		return err != nil, nil
	})
	_, _, _, serr := s.Status()
	if !errors.Is(serr, kube.ErrForbidden) || !strings.Contains(serr.Error(), `deployments/scale "bystander"`) {
		t.Errorf("Scaler on another Deployment: %v, want kube.ErrForbidden naming deployments/scale \"bystander\"", serr)
	}
	w, err := kube.NewHPAWatcher(kube.HPAWatcherOptions{Client: sa, Namespace: ns, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, w.Run)
	waitUntil(t, 10*time.Second, "the HPAWatcher's error", func(context.Context) (bool, error) {
		return w.Err() != nil, nil
	})
	if err := w.Err(); !errors.Is(err, kube.ErrForbidden) || w.Synced() {
		t.Errorf("HPAWatcher without HPA access: Err %v, Synced %v; want kube.ErrForbidden and not synced", err, w.Synced())
	}
}

// selfReview tells the rules every authenticated user has (system:basic-user and the like: create
// self-reviews) from the rules a Role grants.
func selfReview(r authorizationv1.ResourceRule) bool {
	return slices.Equal(r.Verbs, []string{"create"}) &&
		(slices.Equal(r.APIGroups, []string{"authorization.k8s.io"}) || slices.Equal(r.APIGroups, []string{"authentication.k8s.io"})) &&
		!slices.ContainsFunc(r.Resources, func(s string) bool { return !strings.HasPrefix(s, "self") })
}

// equalRuleSets compares rules regardless of order.
func equalRuleSets(a, b []rbacv1.PolicyRule) bool {
	fa, fb := strings.Split(fmtRules(a), "\n"), strings.Split(fmtRules(b), "\n")
	slices.Sort(fa)
	slices.Sort(fb)
	return slices.Equal(fa, fb)
}

func deployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "example.invalid/app",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: mustQuantity("100m")}},
				}}},
			},
		},
	}
}

func createDeployment(t *testing.T, cp *kubetest.ControlPlane, ns, name string, replicas int32) {
	t.Helper()
	if _, err := cp.Client.AppsV1().Deployments(ns).Create(context.Background(), deployment(name, replicas), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
