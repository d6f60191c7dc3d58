//go:build linux

package kubetest_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/stampede-load/stampede/internal/kubetest"
)

// install runs `helm install --wait` of the chart as release in ns with the --set values, and
// returns helm's output (with the NOTES).
func install(t *testing.T, cp *kubetest.ControlPlane, ns, release string, set ...string) string {
	t.Helper()
	args := []string{"install", release, chartDir, "--namespace", ns, "--wait", "--timeout", "2m"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := cp.Helm().Run(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The default install (ui mode): every object has the spec we mean, the pods run on kwok nodes with
// a token only in the master's, `helm test` passes, and `helm uninstall` leaves nothing.
func TestChartInstallUI(t *testing.T) {
	t.Parallel()
	cp := cluster(t)
	ctx := context.Background()
	ns := newNamespace(t, cp, "ui")
	const rel, full, worker = "lt", "lt-stampede", "lt-stampede-worker"
	out := install(t, cp, ns, rel)
	if want := "helm test " + rel + " -n " + ns; !strings.Contains(out, want) {
		t.Errorf("NOTES do not say %q:\n%s", want, out)
	}
	if want := "the master scales Deployment " + worker; !strings.Contains(out, want) {
		t.Errorf("NOTES do not say %q:\n%s", want, out)
	}

	// ServiceAccount: no token unless a pod asks for one.
	sa, err := cp.Client.CoreV1().ServiceAccounts(ns).Get(ctx, full, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("ServiceAccount %s automountServiceAccountToken = %v, want false", full, sa.AutomountServiceAccountToken)
	}

	// RBAC: exactly the worker Deployment's scale, by name.
	role, err := cp.Client.RbacV1().Roles(ns).Get(ctx, full, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := scalerRules(worker); !equalRules(role.Rules, want) {
		t.Errorf("Role %s rules:\n%s\nwant:\n%s", full, fmtRules(role.Rules), fmtRules(want))
	}
	rb, err := cp.Client.RbacV1().RoleBindings(ns).Get(ctx, full, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: full, Namespace: ns}}
	if rb.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: full}) || !slices.Equal(rb.Subjects, wantSubjects) {
		t.Errorf("RoleBinding %s: roleRef %+v subjects %+v, want Role %s bound to ServiceAccount %s/%s", full, rb.RoleRef, rb.Subjects, full, ns, full)
	}

	// The master's Service: gRPC for the workers, HTTP for the UI.
	svc, err := cp.Client.CoreV1().Services(ns).Get(ctx, full, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string][2]string{}
	for _, p := range svc.Spec.Ports {
		ports[p.Name] = [2]string{fmt.Sprint(p.Port), p.TargetPort.String()}
	}
	if want := map[string][2]string{"grpc": {"5557", "grpc"}, "http": {"8089", "http"}}; fmt.Sprint(ports) != fmt.Sprint(want) {
		t.Errorf("Service %s ports (name: port, targetPort) = %v, want %v", full, ports, want)
	}
	if svc.Spec.Selector["app.kubernetes.io/component"] != "master" {
		t.Errorf("Service %s selects %v, want the master", full, svc.Spec.Selector)
	}

	// The master: one replica, never two at once, a token (it scales the workers), the Kubernetes env.
	master, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, full, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *master.Spec.Replicas != 1 || master.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("master Deployment: replicas %d strategy %s, want 1 and Recreate", *master.Spec.Replicas, master.Spec.Strategy.Type)
	}
	mpod := master.Spec.Template.Spec
	if mpod.ServiceAccountName != full || mpod.AutomountServiceAccountToken == nil || !*mpod.AutomountServiceAccountToken {
		t.Errorf("master pod: serviceAccountName %q automount %v, want %q and true", mpod.ServiceAccountName, mpod.AutomountServiceAccountToken, full)
	}
	mc := container(t, mpod, "master")
	checkProbes(t, "master", mc, "http", "/healthz", "/readyz")
	checkRestricted(t, "master", mpod, mc)
	checkEnv(t, "master", mc, map[string]string{
		"STAMPEDE_KUBE_DEPLOYMENT":   worker,
		"STAMPEDE_KUBE_NAMESPACE":    "fieldRef:metadata.namespace",
		"STAMPEDE_KUBE_WORKERS":      "0",
		"STAMPEDE_KUBE_IDLE_WORKERS": "2",
		"STAMPEDE_KUBE_MAX_WORKERS":  "100",
		"STAMPEDE_EXPECT_WORKERS":    "2",
		"STAMPEDE_MASTER_BIND":       "0.0.0.0:5557",
		"STAMPEDE_WEB_LISTEN":        "0.0.0.0:8089",
		"STAMPEDE_WATCH_HPA":         "", // nothing to watch
		"STAMPEDE_WEB_TOKEN":         "valueFrom",
		"STAMPEDE_JOIN_TOKEN":        "valueFrom",
		"STAMPEDE_TLS_CERT":          "",
	})
	if got := mc.Args[:2]; !slices.Equal(got, []string{"-f", "/scripts/test.js"}) {
		t.Errorf("master args start %q, want -f /scripts/test.js", got)
	}

	// The workers: no token, probes on their metrics port, the master's address.
	workers, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, worker, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wpod := workers.Spec.Template.Spec
	if *workers.Spec.Replicas != 2 || wpod.AutomountServiceAccountToken == nil || *wpod.AutomountServiceAccountToken {
		t.Errorf("worker Deployment: replicas %d automount %v, want 2 and false", *workers.Spec.Replicas, wpod.AutomountServiceAccountToken)
	}
	wc := container(t, wpod, "worker")
	checkProbes(t, "worker", wc, "metrics", "/healthz", "/readyz")
	checkRestricted(t, "worker", wpod, wc)
	checkEnv(t, "worker", wc, map[string]string{"STAMPEDE_MASTER": full + "." + ns + ".svc:5557", "STAMPEDE_JOIN_TOKEN": "valueFrom", "STAMPEDE_TLS_CA": ""})

	// The tokens: random, and kept by an upgrade.
	tokens := func() map[string]string {
		t.Helper()
		sec, err := cp.Client.CoreV1().Secrets(ns).Get(ctx, full+"-auth", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for k, v := range sec.Data {
			out[k] = string(v)
		}
		return out
	}
	before := tokens()
	if len(before["web-token"]) != 32 || len(before["join-token"]) != 32 || before["web-token"] == before["join-token"] {
		t.Errorf("Secret %s-auth: %d keys, want two different 32-character tokens, web-token and join-token", full, len(before))
	}
	if _, err := cp.Helm().Run(ctx, "upgrade", rel, chartDir, "--namespace", ns, "--reuse-values", "--wait", "--timeout", "2m"); err != nil {
		t.Fatal(err)
	}
	if after := tokens(); !maps.Equal(before, after) {
		t.Errorf("helm upgrade changed the tokens")
	}

	cm, err := cp.Client.CoreV1().ConfigMaps(ns).Get(ctx, full+"-scripts", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cm.Data["script"], "export default function") {
		t.Errorf("ConfigMap %s-scripts has no script (the chart's demo script): %.200q", full, cm.Data["script"])
	}

	// The pods run on kwok nodes; only the master's has a ServiceAccount token (admission adds the
	// projected kube-api-access volume only where automount is on).
	pods := runningPods(t, cp, ns, 3)
	for _, p := range pods {
		comp := p.Labels["app.kubernetes.io/component"]
		if !isKwokNode(cp, p.Spec.NodeName) {
			t.Errorf("pod %s (%s) is on node %q, not a kwok node", p.Name, comp, p.Spec.NodeName)
		}
		if got, want := hasTokenVolume(p), comp == "master"; got != want {
			t.Errorf("pod %s (%s): ServiceAccount token volume %v, want %v", p.Name, comp, got, want)
		}
	}

	// helm test: kwok does not run the test's probe; a harness Stage marks the pod Succeeded. What is
	// checked is that the hook renders, is accepted, scheduled, and is deleted after passing.
	testOut, err := cp.Helm().Run(ctx, "test", rel, "--namespace", ns, "--timeout", "1m")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(testOut, "TEST SUITE:     "+full+"-test-api") || !strings.Contains(testOut, "Phase:          Succeeded") {
		t.Errorf("helm test output:\n%s", testOut)
	}
	waitUntil(t, 30*time.Second, "the passed test pod deleted", func(ctx context.Context) (bool, error) {
		_, err := cp.Client.CoreV1().Pods(ns).Get(ctx, full+"-test-api", metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})

	if _, err := cp.Helm().Run(ctx, "uninstall", rel, "--namespace", ns, "--wait", "--timeout", "1m"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, "an empty namespace after helm uninstall", func(ctx context.Context) (bool, error) {
		left, err := leftovers(ctx, cp, ns)
		if err != nil {
			return false, err
		}
		return len(left) == 0, fmt.Errorf("left in %s: %v", ns, left)
	})
}

// The headless master is a Job that never retries, with the run in its args and env.
func TestChartInstallHeadless(t *testing.T) {
	t.Parallel()
	cp := cluster(t)
	ctx := context.Background()
	ns := newNamespace(t, cp, "headless")
	install(t, cp, ns, "gate",
		"mode=headless", "run.users=20", "run.spawnRate=5", "run.runTime=30s",
		"run.env.TARGET=http://shop:8080", "run.thresholds[0]=http_req_failed: rate<0.01",
		"headless.activeDeadlineSeconds=600")

	job, err := cp.Client.BatchV1().Jobs(ns).Get(ctx, "gate-stampede-run-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 0 {
		t.Errorf("Job backoffLimit = %v, want 0", job.Spec.BackoffLimit)
	}
	if job.Spec.ActiveDeadlineSeconds == nil || *job.Spec.ActiveDeadlineSeconds != 600 {
		t.Errorf("Job activeDeadlineSeconds = %v, want 600", job.Spec.ActiveDeadlineSeconds)
	}
	pod := job.Spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("Job pods restartPolicy = %s, want Never", pod.RestartPolicy)
	}
	mc := container(t, pod, "master")
	wantArgs := []string{"-f", "/scripts/test.js", "--headless", "--env=TARGET=http://shop:8080", "--threshold=http_req_failed: rate<0.01"}
	if !slices.Equal(mc.Args, wantArgs) {
		t.Errorf("master args = %q, want %q", mc.Args, wantArgs)
	}
	checkEnv(t, "headless master", mc, map[string]string{
		"STAMPEDE_USERS": "20", "STAMPEDE_SPAWN_RATE": "5", "STAMPEDE_RUN_TIME": "30s",
		"STAMPEDE_KUBE_DEPLOYMENT": "gate-stampede-worker", "STAMPEDE_WEB_LISTEN": "0.0.0.0:8089",
	})
	checkRestricted(t, "headless master", pod, mc)
	if _, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, "gate-stampede", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("headless mode has a master Deployment too: err = %v", err)
	}
	// The Job controller starts the pod on a kwok node; kwok's pod-complete stage ends it with exit
	// code 0 (no master runs: this shows the Job's wiring, not a verdict).
	waitUntil(t, 60*time.Second, "Job gate-stampede-run-1 Complete", func(ctx context.Context) (bool, error) {
		j, err := cp.Client.BatchV1().Jobs(ns).Get(ctx, "gate-stampede-run-1", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return j.Status.Succeeded == 1, fmt.Errorf("job status %+v", j.Status)
	})
}

// The demo target: a Deployment without replicas (the HPA owns them), its Service, an
// autoscaling/v2 HPA on CPU; the master watches that HPA and may read HPAs.
func TestChartInstallDemoTarget(t *testing.T) {
	t.Parallel()
	cp := cluster(t)
	ctx := context.Background()
	ns := newNamespace(t, cp, "target")
	const full, target = "demo-stampede", "demo-stampede-target"
	install(t, cp, ns, "demo", "target.enabled=true", "run.workers=3")

	d, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, target, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tc := container(t, d.Spec.Template.Spec, "target")
	checkRestricted(t, "target", d.Spec.Template.Spec, tc)
	svc, err := cp.Client.CoreV1().Services(ns).Get(ctx, target, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 || svc.Spec.Selector["app.kubernetes.io/component"] != "target" {
		t.Errorf("target Service: ports %+v selector %v, want 8080 to the target's pods", svc.Spec.Ports, svc.Spec.Selector)
	}
	hpa, err := cp.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, target, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := hpa.Spec.ScaleTargetRef
	if ref.Kind != "Deployment" || ref.Name != target || ref.APIVersion != "apps/v1" || *hpa.Spec.MinReplicas != 1 || hpa.Spec.MaxReplicas != 5 ||
		len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Resource == nil || hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU ||
		*hpa.Spec.Metrics[0].Resource.Target.AverageUtilization != 70 {
		t.Errorf("HPA %s: %+v", target, hpa.Spec)
	}
	// kube-controller-manager picks the HPA up (no metrics API here: it reports the replicas only).
	waitUntil(t, 30*time.Second, "HPA status currentReplicas 1", func(ctx context.Context) (bool, error) {
		h, err := cp.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, target, metav1.GetOptions{})
		return err == nil && h.Status.CurrentReplicas == 1, err
	})

	m, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, full, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mc := container(t, m.Spec.Template.Spec, "master")
	if !slices.Contains(mc.Args, "--env=TARGET=http://"+target+":8080") {
		t.Errorf("master args %q do not aim the script at the target", mc.Args)
	}
	checkEnv(t, "master", mc, map[string]string{
		"STAMPEDE_WATCH_HPA":           target,
		"STAMPEDE_WATCH_HPA_NAMESPACE": "fieldRef:metadata.namespace",
		"STAMPEDE_WATCH_HPA_SELECTOR":  "",
		"STAMPEDE_KUBE_WORKERS":        "3",
		"STAMPEDE_EXPECT_WORKERS":      "3",
	})
	role, err := cp.Client.RbacV1().Roles(ns).Get(ctx, full, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := append(scalerRules(full+"-worker"), hpaRule()); !equalRules(role.Rules, want) {
		t.Errorf("Role %s rules:\n%s\nwant:\n%s", full, fmtRules(role.Rules), fmtRules(want))
	}
}

func container(t *testing.T, pod corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range pod.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q in %+v", name, pod.Containers)
	return corev1.Container{}
}

// checkProbes: startup and liveness on /healthz, readiness on another path, all on port.
func checkProbes(t *testing.T, what string, c corev1.Container, port, live, ready string) {
	t.Helper()
	path := func(p *corev1.Probe) string {
		if p == nil || p.HTTPGet == nil {
			return "<none>"
		}
		if p.HTTPGet.Port.String() != port {
			return p.HTTPGet.Path + " on port " + p.HTTPGet.Port.String()
		}
		return p.HTTPGet.Path
	}
	if got := path(c.StartupProbe); got != live {
		t.Errorf("%s startupProbe %s, want %s on port %s", what, got, live, port)
	}
	if got := path(c.LivenessProbe); got != live {
		t.Errorf("%s livenessProbe %s, want %s on port %s", what, got, live, port)
	}
	if got := path(c.ReadinessProbe); got != ready || ready == live {
		t.Errorf("%s readinessProbe %s, want %s on port %s (not the liveness path)", what, got, ready, port)
	}
}

// checkRestricted: the Pod Security "restricted" settings the chart promises.
func checkRestricted(t *testing.T, what string, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	ps, sc := pod.SecurityContext, c.SecurityContext
	switch {
	case ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot:
		t.Errorf("%s pod securityContext.runAsNonRoot not true: %+v", what, ps)
	case ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Errorf("%s pod seccompProfile not RuntimeDefault: %+v", what, ps.SeccompProfile)
	}
	switch {
	case sc == nil:
		t.Errorf("%s container has no securityContext", what)
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Errorf("%s container runAsNonRoot not true", what)
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("%s container readOnlyRootFilesystem not true", what)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("%s container allowPrivilegeEscalation not false", what)
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("%s container capabilities %+v, want drop [ALL], add none", what, sc.Capabilities)
	case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Errorf("%s container seccompProfile not RuntimeDefault", what)
	}
}

// checkEnv compares env values; "fieldRef:PATH" stands for a downward-API value, "" for absent.
func checkEnv(t *testing.T, what string, c corev1.Container, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			got[e.Name] = "fieldRef:" + e.ValueFrom.FieldRef.FieldPath
		case e.ValueFrom != nil:
			got[e.Name] = "valueFrom"
		default:
			got[e.Name] = e.Value
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s env %s = %q, want %q", what, k, got[k], v)
		}
	}
}

// runningPods waits until ns has n pods, all Running and Ready, and returns them.
func runningPods(t *testing.T, cp *kubetest.ControlPlane, ns string, n int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	waitUntil(t, 60*time.Second, fmt.Sprintf("%d pods Running and Ready in %s", n, ns), func(ctx context.Context) (bool, error) {
		l, err := cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		pods = pods[:0]
		for _, p := range l.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && podReady(p) {
				pods = append(pods, p)
			}
		}
		return len(pods) == n && len(l.Items) == n, fmt.Errorf("%d of %d pods Running and Ready", len(pods), len(l.Items))
	})
	return pods
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasTokenVolume(p corev1.Pod) bool {
	for _, v := range p.Spec.Volumes {
		if strings.HasPrefix(v.Name, "kube-api-access-") {
			return true
		}
	}
	return false
}

// leftovers lists every object of every listable namespaced resource in ns, except what the
// cluster puts in any namespace (its default ServiceAccount, the kube-root-ca.crt ConfigMap) and
// Events.
func leftovers(ctx context.Context, cp *kubetest.ControlPlane, ns string) ([]string, error) {
	lists, err := cp.Client.Discovery().ServerPreferredNamespacedResources()
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cp.Config)
	if err != nil {
		return nil, err
	}
	var left []string
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			return nil, err
		}
		for _, r := range l.APIResources {
			if !slices.Contains(r.Verbs, "list") || r.Name == "events" {
				continue
			}
			objs, err := dyn.Resource(gv.WithResource(r.Name)).Namespace(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", r.Name, err)
			}
			for _, o := range objs.Items {
				name := r.Name + "/" + o.GetName()
				if name == "serviceaccounts/default" || name == "configmaps/kube-root-ca.crt" {
					continue
				}
				left = append(left, name)
			}
		}
	}
	return left, nil
}

// scalerRules are the Role rules for scaling the Deployment named worker, as the chart writes them.
func scalerRules(worker string) []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{worker}, Verbs: []string{"get"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments/scale"}, ResourceNames: []string{worker}, Verbs: []string{"get", "update"}},
	}
}

func hpaRule() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}, Verbs: []string{"get", "list", "watch"}}
}

func equalRules(a, b []rbacv1.PolicyRule) bool { return fmtRules(a) == fmtRules(b) }

func fmtRules(rs []rbacv1.PolicyRule) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "  groups %q resources %q names %q verbs %q\n", r.APIGroups, r.Resources, r.ResourceNames, r.Verbs)
	}
	return b.String()
}
