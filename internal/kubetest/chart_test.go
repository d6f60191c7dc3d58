//go:build linux

package kubetest_test

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/stampede-load/stampede/internal/kubetest"
)

// chartDir is the chart under test, from this package's directory.
const chartDir = "../../deploy/helm/stampede"

// offlineHelm is helm without a cluster, for lint and template.
func offlineHelm(t *testing.T) *kubetest.Helm {
	t.Helper()
	return &kubetest.Helm{Bin: kubetest.NeedTools(t).Helm, Home: t.TempDir()}
}

// valueFiles are the chart's ci/*.yaml value sets, "" standing for the defaults.
func valueFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no ci/*.yaml in %s: %v", chartDir, err)
	}
	return append([]string{""}, files...)
}

// helm lint --strict and helm template pass on the defaults and on every ci/*.yaml.
func TestChartLintAndTemplate(t *testing.T) {
	t.Parallel()
	h := offlineHelm(t)
	for _, f := range valueFiles(t) {
		name := "defaults"
		var args []string
		if f != "" {
			name, args = filepath.Base(f), []string{"-f", f}
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			out, err := h.Run(ctx, append([]string{"lint", "--strict", chartDir}, args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Errorf("helm lint --strict:\n%s", out)
			}
			out, err = h.Run(ctx, append([]string{"template", "lt", chartDir, "--namespace", "load"}, args...)...)
			if err != nil {
				t.Fatal(err)
			}
			for _, kind := range []string{"kind: ServiceAccount", "kind: Service", "kind: ConfigMap"} {
				if !strings.Contains(out, kind) {
					t.Errorf("helm template renders no %s", kind)
				}
			}
		})
	}
}

// Bad values fail `helm template` with a message naming the value and what is wrong with it, from
// the schema or from the chart's own checks.
func TestChartRejectsBadValues(t *testing.T) {
	t.Parallel()
	h := offlineHelm(t)
	cases := []struct {
		name string
		set  []string
		want string // in the error
	}{
		{"unknown key", []string{"replicas=3"}, "additional properties 'replicas' not allowed"},
		{"misspelt nested key", []string{"workers.replica=3"}, "at '/workers': additional properties 'replica' not allowed"},
		{"renamed key rbac.hpaNamespace", []string{"rbac.hpaNamespace=shop"}, "at '/rbac': additional properties 'hpaNamespace' not allowed"},
		{"negative replicas", []string{"workers.replicas=-1"}, "at '/workers/replicas': minimum: got -1, want 0"},
		{"negative run.workers", []string{"run.workers=-2"}, "at '/run/workers': minimum: got -2, want 0"},
		{"bad mode", []string{"mode=batch"}, "at '/mode': value must be one of 'ui', 'headless'"},
		{"bad HPA name", []string{"watchHPA.names[0]=Web_1"}, "at '/watchHPA/names/0': 'Web_1' does not match pattern"},
		{"zero maxReplicas", []string{"workers.scaling.maxReplicas=0"}, "at '/workers/scaling/maxReplicas': minimum: got 0, want 1"},
		{"bad run time", []string{"run.runTime=soon"}, "at '/run/runTime'"},
		{"run.workers without scaling", []string{"run.workers=3", "workers.scaling.enabled=false"},
			"run.workers > 0 needs workers.scaling.enabled"},
		{"run.workers above maxReplicas", []string{"run.workers=30", "workers.scaling.maxReplicas=20"},
			"run.workers (30) is above workers.scaling.maxReplicas (20)"},
		{"headless swarm without run time", []string{"mode=headless", "run.runTime="},
			"mode=headless with run.users > 0 needs run.runTime"},
		{"a Service outside the cluster", []string{"master.service.type=LoadBalancer"}, "at '/master/service/type': value must be 'ClusterIP'"},
		{"cert-manager without an issuer", []string{"tls.enabled=true", "tls.certManager.enabled=true"},
			"at '/tls/certManager/issuerRef/name': minLength: got 0, want 1"},
		{"a bad Secret name", []string{"auth.existingSecret=My_Secret"}, "at '/auth/existingSecret'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"template", "lt", chartDir}
			for _, s := range c.set {
				args = append(args, "--set", s)
			}
			out, err := h.Run(context.Background(), args...)
			if err == nil {
				t.Fatalf("helm template %s succeeded, want an error containing %q; it rendered %d bytes", strings.Join(c.set, " "), c.want, len(out))
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error does not say %q:\n%v", c.want, err)
			}
		})
	}
}

// rendered is what `helm template` produced, decoded.
type rendered struct {
	roles     map[string]*rbacv1.Role // by namespace/name
	bindings  int
	masterPod *corev1.PodSpec // of the Deployment or the Job
	masterEnv map[string]string
	workerPod *corev1.PodSpec
	testPod   *corev1.Pod
	secrets   map[string]*corev1.Secret // by name
	custom    []string                  // documents of kinds the scheme does not know (ServiceMonitor, Certificate)
}

func renderChart(t *testing.T, h *kubetest.Helm, set ...string) rendered {
	t.Helper()
	args := []string{"template", "lt", chartDir, "--namespace", "load"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := h.Run(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	r := rendered{roles: map[string]*rbacv1.Role{}, secrets: map[string]*corev1.Secret{}}
	dec := scheme.Codecs.UniversalDeserializer()
	for _, doc := range strings.Split(out, "\n---\n") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
			continue
		}
		obj, _, err := dec.Decode([]byte(doc), nil, nil)
		if err != nil {
			if strings.Contains(doc, "kind: ServiceMonitor") || strings.Contains(doc, "kind: Certificate") {
				r.custom = append(r.custom, doc) // not a built-in kind
				continue
			}
			t.Fatalf("decode %q: %v", doc, err)
		}
		switch o := obj.(type) {
		case *rbacv1.Role:
			r.roles[o.Namespace+"/"+o.Name] = o
		case *rbacv1.RoleBinding:
			r.bindings++
		case *appsv1.Deployment:
			switch o.Name {
			case "lt-stampede":
				r.masterPod = &o.Spec.Template.Spec
			case "lt-stampede-worker":
				r.workerPod = &o.Spec.Template.Spec
			}
		case *corev1.Secret:
			r.secrets[o.Name] = o
		case *corev1.Pod:
			r.testPod = o
		case *batchv1.Job:
			r.masterPod = &o.Spec.Template.Spec
		}
	}
	if r.masterPod == nil {
		t.Fatal("no master Deployment or Job rendered")
	}
	r.masterEnv = map[string]string{}
	for _, e := range r.masterPod.Containers[0].Env {
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			v = "fieldRef:" + e.ValueFrom.FieldRef.FieldPath
		}
		r.masterEnv[e.Name] = v
	}
	return r
}

// Which values give the master which Roles, which token and which Kubernetes settings.
func TestChartKubernetesAccess(t *testing.T) {
	t.Parallel()
	h := offlineHelm(t)
	const worker = "lt-stampede-worker"
	scaler := scalerRules(worker)
	hpa := []rbacv1.PolicyRule{hpaRule()}
	scalerEnv := map[string]string{
		"STAMPEDE_KUBE_DEPLOYMENT": worker, "STAMPEDE_KUBE_NAMESPACE": "fieldRef:metadata.namespace",
		"STAMPEDE_KUBE_WORKERS": "0", "STAMPEDE_KUBE_IDLE_WORKERS": "2", "STAMPEDE_KUBE_MAX_WORKERS": "100",
	}
	noScalerEnv := map[string]string{"STAMPEDE_KUBE_DEPLOYMENT": "", "STAMPEDE_KUBE_NAMESPACE": "", "STAMPEDE_KUBE_WORKERS": ""}
	noHPAEnv := map[string]string{"STAMPEDE_WATCH_HPA": "", "STAMPEDE_WATCH_HPA_SELECTOR": "", "STAMPEDE_WATCH_HPA_NAMESPACE": ""}
	cases := []struct {
		name      string
		set       []string
		roles     map[string][]rbacv1.PolicyRule // namespace/name -> rules
		automount bool
		env       []map[string]string // "" for absent
	}{
		{"defaults: scale the workers", nil,
			map[string][]rbacv1.PolicyRule{"load/lt-stampede": scaler}, true, []map[string]string{scalerEnv, noHPAEnv}},
		{"no scaling, nothing to watch: no Role, no token", []string{"workers.scaling.enabled=false"},
			nil, false, []map[string]string{noScalerEnv, noHPAEnv}},
		{"rbac.watchHPA alone: read HPAs, watch none by itself", []string{"workers.scaling.enabled=false", "rbac.watchHPA=true"},
			map[string][]rbacv1.PolicyRule{"load/lt-stampede": hpa}, true, []map[string]string{noScalerEnv, noHPAEnv}},
		{"HPAs by name", []string{"watchHPA.names={web,api}"},
			map[string][]rbacv1.PolicyRule{"load/lt-stampede": append(slices.Clone(scaler), hpa...)}, true,
			[]map[string]string{scalerEnv, {"STAMPEDE_WATCH_HPA": "web,api", "STAMPEDE_WATCH_HPA_NAMESPACE": "fieldRef:metadata.namespace", "STAMPEDE_WATCH_HPA_SELECTOR": ""}}},
		{"the demo target's HPA by default", []string{"target.enabled=true"},
			map[string][]rbacv1.PolicyRule{"load/lt-stampede": append(slices.Clone(scaler), hpa...)}, true,
			[]map[string]string{scalerEnv, {"STAMPEDE_WATCH_HPA": "lt-stampede-target"}}},
		{"the demo target without an HPA", []string{"target.enabled=true", "target.autoscaling.enabled=false"},
			map[string][]rbacv1.PolicyRule{"load/lt-stampede": scaler}, true, []map[string]string{scalerEnv, noHPAEnv}},
		{"HPAs by selector in another namespace", []string{"watchHPA.selector=app=shop", "watchHPA.namespace=shop", "target.enabled=true"},
			map[string][]rbacv1.PolicyRule{"load/lt-stampede": scaler, "shop/lt-stampede-hpa": hpa}, true,
			[]map[string]string{scalerEnv, {"STAMPEDE_WATCH_HPA": "", "STAMPEDE_WATCH_HPA_SELECTOR": "app=shop", "STAMPEDE_WATCH_HPA_NAMESPACE": "shop"}}},
		{"run.workers and no idle workers", []string{"run.workers=6", "workers.replicas=0", "workers.scaling.maxReplicas=8"},
			map[string][]rbacv1.PolicyRule{"load/lt-stampede": scaler}, true,
			[]map[string]string{{"STAMPEDE_KUBE_WORKERS": "6", "STAMPEDE_KUBE_IDLE_WORKERS": "0", "STAMPEDE_KUBE_MAX_WORKERS": "8", "STAMPEDE_EXPECT_WORKERS": "6"}}},
		{"rbac.create=false: bring your own Role, keep the token", []string{"rbac.create=false"},
			nil, true, []map[string]string{scalerEnv}},
		{"headless Job", []string{"mode=headless"},
			map[string][]rbacv1.PolicyRule{"load/lt-stampede": scaler}, true, []map[string]string{scalerEnv}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := renderChart(t, h, c.set...)
			if len(r.roles) != len(c.roles) || r.bindings != len(c.roles) {
				t.Errorf("%d Roles %v and %d RoleBindings, want %d of each", len(r.roles), slices.Sorted(maps.Keys(r.roles)), r.bindings, len(c.roles))
			}
			for key, want := range c.roles {
				role, ok := r.roles[key]
				if !ok {
					t.Errorf("no Role %s", key)
					continue
				}
				if !equalRules(role.Rules, want) {
					t.Errorf("Role %s rules:\n%s\nwant:\n%s", key, fmtRules(role.Rules), fmtRules(want))
				}
			}
			if got := r.masterPod.AutomountServiceAccountToken; got == nil || *got != c.automount {
				t.Errorf("master pod automountServiceAccountToken = %v, want %v", got, c.automount)
			}
			for _, env := range c.env {
				for k, v := range env {
					if r.masterEnv[k] != v {
						t.Errorf("master env %s = %q, want %q", k, r.masterEnv[k], v)
					}
				}
			}
		})
	}
}
