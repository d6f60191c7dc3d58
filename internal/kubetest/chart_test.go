package kubetest_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

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
