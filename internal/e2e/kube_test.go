//go:build linux

package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/stampede-load/stampede/internal/kubetest"
)

// The chart's names for release "lt" in namespace "lt".
const (
	kubeNS         = "lt"
	kubeRelease    = "lt"
	kubeWorkers    = "lt-stampede-worker"
	kubeTargetHPA  = "lt-stampede-target"
	kubeMasterName = "lt-stampede" // the master's Deployment and its ServiceAccount
)

// kubeCluster is the chart installed on a real control plane. kwok plays the kubelet, so no pod
// runs; instead a "kubelet" in the test starts a real stampede-worker process for each worker pod
// that kwok reports Ready, and stops it when the pod goes. The master runs outside the cluster as
// the chart's ServiceAccount, with the environment the chart gives its container.
type kubeCluster struct {
	cp        *kubetest.ControlPlane
	masterEnv []string // the chart's master container env, resolved
	saConfig  string   // a kubeconfig that authenticates as the master's ServiceAccount
}

func startKubeCluster(t *testing.T, helmArgs ...string) *kubeCluster {
	t.Helper()
	cp := kubetest.Start(t, kubetest.Options{})
	ctx := t.Context()
	args := append([]string{"install", kubeRelease, filepath.Join(root, "deploy", "helm", "stampede"),
		"--namespace", kubeNS, "--create-namespace", "--kubeconfig", cp.Kubeconfig, "--wait", "--timeout", "2m"}, helmArgs...)
	if out, err := exec.CommandContext(ctx, cp.Tools.Helm, args...).CombinedOutput(); err != nil {
		t.Fatalf("helm install: %v\n%s", err, out)
	}
	k := &kubeCluster{cp: cp, saConfig: filepath.Join(t.TempDir(), "sa.kubeconfig")}
	if err := cp.ServiceAccountKubeconfig(ctx, kubeNS, kubeMasterName, k.saConfig); err != nil {
		t.Fatal(err)
	}
	d, err := cp.Client.AppsV1().Deployments(kubeNS).Get(ctx, kubeMasterName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		switch {
		case e.ValueFrom == nil:
			k.masterEnv = append(k.masterEnv, e.Name+"="+e.Value)
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			k.masterEnv = append(k.masterEnv, e.Name+"="+kubeNS)
		}
	}
	return k
}

// env is the chart's master environment, minus what a process outside the cluster must set itself.
func (k *kubeCluster) env(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, kv := range k.masterEnv {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "STAMPEDE_MASTER_BIND", "STAMPEDE_WEB_LISTEN", "STAMPEDE_SCRIPT", "STAMPEDE_WORK_DIR", "STAMPEDE_SUMMARY_JSON":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// runKubelet starts a stampede-worker process for the master at addr for each Ready worker pod, and
// stops it when the pod is gone, until the test ends. It returns the most worker processes that
// ran at once.
func runKubelet(t *testing.T, client kubernetes.Interface, addr string) (peak func() int) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	procs := map[string]*exec.Cmd{}
	most := 0
	stop := func(name string, cmd *exec.Cmd) {
		stopProcess(cmd)
		delete(procs, name)
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			pods, err := client.CoreV1().Pods(kubeNS).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=worker"})
			if err != nil {
				continue
			}
			ready := map[string]bool{}
			for _, p := range pods.Items {
				if p.DeletionTimestamp == nil && podReady(&p) {
					ready[p.Name] = true
				}
			}
			mu.Lock()
			for name, cmd := range procs {
				if !ready[name] {
					stop(name, cmd)
				}
			}
			for name := range ready {
				if procs[name] == nil {
					cmd := exec.Command(filepath.Join(bin, "stampede-worker"), "--master", addr, "--work-dir", t.TempDir(), "--metrics-listen", "")
					cmd.Stderr = &bytes.Buffer{}
					if err := cmd.Start(); err == nil {
						procs[name] = cmd
					}
				}
			}
			most = max(most, len(procs))
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
		mu.Lock()
		defer mu.Unlock()
		for name, cmd := range procs {
			stop(name, cmd)
		}
	})
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return most
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (k *kubeCluster) workerReplicas(t *testing.T) int32 {
	t.Helper()
	d, err := k.cp.Client.AppsV1().Deployments(kubeNS).Get(t.Context(), kubeWorkers, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas
}

// TestKube installs the chart with its demo target (whose HPA's minimum of 2 makes
// kube-controller-manager scale it) on a real control plane and runs the master as the chart would
// (authenticated as the chart's ServiceAccount, configured by the chart's environment): a headless
// gate, then a run started from the web UI in a browser.
func TestKube(t *testing.T) {
	k := startKubeCluster(t, "--set", "target.enabled=true", "--set", "target.autoscaling.minReplicas=2",
		"--set", "workers.replicas=1")
	t.Run("headless gate", func(t *testing.T) { testKubeHeadlessGate(t, k) })
	t.Run("web UI", func(t *testing.T) { testKubeUI(t, k) })
}

// testKubeHeadlessGate: the master scales the worker Deployment from 1 to 3 for the run, waits for
// the 3 workers, records the HPA every second, passes thresholds on it, and scales the workers back
// to 1 when the run ends.
func testKubeHeadlessGate(t *testing.T, k *kubeCluster) {
	ctx := t.Context()
	eventually(t, 60*time.Second, "the HPA to scale the target to its minimum of 2", func() bool {
		h, err := k.cp.Client.AutoscalingV2().HorizontalPodAutoscalers(kubeNS).Get(ctx, kubeTargetHPA, metav1.GetOptions{})
		return err == nil && h.Status.CurrentReplicas == 2
	})
	if n := k.workerReplicas(t); n != 1 {
		t.Fatalf("the chart's worker Deployment has %d replicas, want 1", n)
	}

	tg := startTarget(t)
	addr := freeAddr(t)
	peak := runKubelet(t, k.cp.Client, addr)
	hpaKey := "hpa_replicas{hpa:" + kubeTargetHPA + "}"
	// KUBECONFIG points nowhere: the master may use only the ServiceAccount's --kubeconfig.
	cmd, stdout, stderr, sum := masterWithEnv(t, append(k.env(t), "KUBECONFIG=/nonexistent"), "-f", "examples/quickstart.js", "--headless", "-u", "6", "-r", "6", "-t", "6s",
		"-e", "TARGET="+tg.URL, "--master-bind", addr, "--kubeconfig", k.saConfig, "--kube-workers", "3",
		"--expect-workers-timeout", "90s", "--threshold", hpaKey+": max>=2", "--threshold", hpaKey+": min>=2")
	eventually(t, 30*time.Second, "the master to scale the workers to 3", func() bool { return k.workerReplicas(t) == 3 })
	r := wait(t, cmd, stdout, stderr, sum, 3*time.Minute)
	logOnFailure(t, r)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\n%s", r.code, r.stderr)
	}
	if len(r.summary.Workers) != 3 || peak() != 3 {
		t.Errorf("%d workers took part (peak %d worker processes), want 3", len(r.summary.Workers), peak())
	}
	if got := k.workerReplicas(t); got != 1 {
		t.Errorf("after the run the worker Deployment has %d replicas, want the idle count 1", got)
	}
	var values []float64
	for _, p := range r.summary.Series {
		if v, ok := p.Extra[hpaKey]; ok {
			values = append(values, v)
		}
	}
	if len(values) < 4 || slices.Min(values) != 2 || slices.Max(values) != 2 {
		t.Errorf("series %s = %v, want 2 in every one of the run's %d seconds", hpaKey, values, len(r.summary.Series))
	}
	judged := 0
	for _, th := range r.summary.Thresholds {
		if th.Metric != hpaKey {
			continue
		}
		judged++
		if !th.OK || th.Observed != 2 {
			t.Errorf("threshold %s: %s: ok %v, observed %g; want ok with 2", th.Metric, th.Source, th.OK, th.Observed)
		}
	}
	if judged != 2 {
		t.Errorf("%d thresholds on %s in the summary, want 2", judged, hpaKey)
	}
	if !strings.Contains(r.stdout, hpaKey) {
		t.Errorf("the text summary does not show %s:\n%s", hpaKey, r.stdout)
	}
}

// testKubeUI: in a browser, the start form offers workers (the chart's master scales its worker
// Deployment); a run asking for 2 gets them, the header shows the pods, the Autoscaling chart and
// table show the HPA; after the run the Deployment is back at its idle count.
func testKubeUI(t *testing.T, k *kubeCluster) {
	node, chromium := browserDeps(t)
	tg := startTarget(t)
	m := startUIMasterWithEnv(t, append(k.env(t), "KUBECONFIG=/nonexistent"), "-f", "examples/quickstart.js",
		"--kubeconfig", k.saConfig)
	peak := runKubelet(t, k.cp.Client, m.Addr)
	eventually(t, 30*time.Second, "the idle worker to connect", func() bool { return len(m.workers(t)) == 1 })
	runBrowserScript(t, node, chromium, "kube.test.mjs", m.URL, tg.URL, "ui-kube",
		"STAMPEDE_TEST_HPA="+kubeTargetHPA, "STAMPEDE_TEST_WORKERS=2")
	if peak() != 2 {
		t.Errorf("peak %d worker processes, want 2", peak())
	}
	eventually(t, 30*time.Second, "the worker Deployment back at 1", func() bool { return k.workerReplicas(t) == 1 })
}
