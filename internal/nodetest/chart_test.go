//go:build linux

package nodetest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/stampede-load/stampede/internal/kubedemo"
	"github.com/stampede-load/stampede/internal/nodetest"
)

// root is the repository's root, from this package's directory.
var root = filepath.Join("..", "..")

// The chart as users install it, on a one-node cluster of real parts: the images of `make images`
// imported into containerd; a UI release whose pods all become Ready through their real probes,
// whose workers join the master by its Service's DNS name with the chart's join token, and whose
// `helm test` pod (the master's image) checks them through the same name; then the HPA demo
// (internal/kubedemo): the headless gate Job scales the worker Deployment 1 → 3 through its
// ServiceAccount, the load burns CPU in the demo target, metrics-server reports it, the HPA scales
// the target out, the master's series records it and its hpa_replicas threshold passes, the UI
// (through a port-forward, in Chromium) shows the replica steps, the target pods' own counts add up
// to the master's total, and the HPA scales the target back down after the load.
func TestChartOnARealNode(t *testing.T) {
	tools, kt := needTools(t)
	images := chartImages(t)
	nodeBin, chromium := browser(t)
	ctx := context.Background()

	start := time.Now()
	cp, node := startCluster(t, tools, kt)
	for _, img := range images {
		if err := node.ImportImage(ctx, img); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("cluster up and %d images imported in %s", len(images), time.Since(start).Round(time.Millisecond))
	chart := filepath.Join(root, "deploy", "helm", "stampede")
	h := cp.Helm()

	// The UI release: every pod Ready, then helm test.
	start = time.Now()
	if _, err := h.Run(ctx, "install", "ui", chart, "--namespace", "ui", "--create-namespace",
		"--set", "target.enabled=true", "--set", "workers.replicas=2",
		"--set", "tests.keepPod=true"); err != nil { // for helm test --logs
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Minute, "the UI release's 4 pods (master, 2 workers, target) Running and Ready", func(ctx context.Context) (bool, error) {
		if err := node.Exited(); err != nil {
			return false, err
		}
		pods, err := cp.Client.CoreV1().Pods("ui").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		var notReady []string
		for _, p := range pods.Items {
			if p.Status.Phase != corev1.PodRunning || !podReady(&p) {
				notReady = append(notReady, fmt.Sprintf("%s (%s %v)", p.Name, p.Status.Phase, p.Status.ContainerStatuses))
			}
		}
		return len(pods.Items) == 4 && len(notReady) == 0, fmt.Errorf("%d pods, not ready: %v", len(pods.Items), notReady)
	})
	t.Logf("UI release Ready in %s", time.Since(start).Round(time.Millisecond))
	out, err := h.Run(ctx, "test", "ui", "--namespace", "ui", "--logs", "--timeout", "10m")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Phase:          Succeeded") {
		t.Errorf("helm test ui did not succeed:\n%s", out)
	}
	t.Logf("helm test:\n%s", out)
	if _, err := h.Run(ctx, "uninstall", "ui", "--namespace", "ui", "--wait", "--timeout", "10m"); err != nil {
		t.Fatal(err)
	}

	// The HPA demo.
	artifacts := filepath.Join(root, "test-artifacts", "node-hpa")
	if err := os.RemoveAll(artifacts); err != nil {
		t.Fatal(err)
	}
	opts := kubedemo.Options{
		Config: cp.Config, Kubeconfig: cp.Kubeconfig, Helm: kt.Helm, HelmHome: t.TempDir(),
		Chart: chart, Script: filepath.Join(root, "examples", "hpa.js"),
		RunTime: time.Minute, // the HPA has scaled out about 15 s into the load
		Log:     testLog{t},
		WhileRunning: func(ctx context.Context, master *corev1.Pod, token string) error {
			port, stop, err := portForward(cp.Config, master, 8089)
			if err != nil {
				return err
			}
			defer stop()
			cmd := exec.CommandContext(ctx, nodeBin, filepath.Join("web", "test", "hpa.test.mjs"), fmt.Sprintf("http://127.0.0.1:%d/", port), filepath.Join("test-artifacts", "node-hpa"))
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CHROMIUM="+chromium, "STAMPEDE_WEB_TOKEN="+token, "STAMPEDE_TEST_HPA="+(&kubedemo.Options{}).HPAName())
			out, err := cmd.CombinedOutput()
			t.Logf("hpa.test.mjs:\n%s", out)
			if err != nil {
				return fmt.Errorf("the UI in Chromium: %v (screenshots in %s)", err, artifacts)
			}
			return nil
		},
	}
	start = time.Now()
	res, err := kubedemo.Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	res.Print(&b, opts)
	t.Logf("HPA demo in %s:%s", time.Since(start).Round(time.Millisecond), b.String())

	s := res.Summary
	if res.ExitCode != 0 || !s.Outcome.OK {
		t.Errorf("the gate Job exited %d (outcome %+v), want 0:\n%s", res.ExitCode, s.Outcome, res.Log)
	}
	hpaName := opts.HPAName()
	found := false
	for _, th := range s.Thresholds {
		if th.Metric == "hpa_replicas{hpa:"+hpaName+"}" {
			found = true
			if !th.OK || th.Observed < 2 {
				t.Errorf("threshold %s %s: ok %v, observed %g", th.Metric, th.Source, th.OK, th.Observed)
			}
		}
	}
	if !found {
		t.Errorf("no hpa_replicas threshold in the summary: %+v", s.Thresholds)
	}

	// Workers: 1 → 3 → 1, three pods in the run, their totals adding up.
	if len(res.WorkerScale) < 3 || res.WorkerScale[0] != 1 || res.WorkerScale[len(res.WorkerScale)-1] != 1 || !slices.Contains(res.WorkerScale, 3) {
		t.Errorf("the worker Deployment's replicas went %v, want 1 → 3 → 1", res.WorkerScale)
	}
	if len(s.Workers) != 3 {
		t.Errorf("%d workers in the run, want 3: %+v", len(s.Workers), s.Workers)
	}
	var sum uint64
	for _, w := range s.Workers {
		if w.Requests == 0 || w.Lost {
			t.Errorf("worker %d (%s): %d requests, lost %v", w.Index, w.Host, w.Requests, w.Lost)
		}
		sum += w.Requests
	}
	if sum != s.Totals.Requests || s.Totals.Requests == 0 {
		t.Errorf("the workers' requests add up to %d, the total is %d", sum, s.Totals.Requests)
	}

	// The HPA, as the API shows it and as Stampede's series recorded it.
	if res.MaxReplicas() < 2 {
		t.Errorf("the HPA never scaled the target out: %+v", res.HPA)
	}
	reps, cpu := res.HPASeries(hpaName)
	if len(reps) < 2 || reps[0] != 1 || maxOf(reps) < 2 {
		t.Errorf("hpa_replicas in the series went %v, want from 1 up to 2 or more", reps)
	}
	if maxOf(cpu) <= 50 {
		t.Errorf("hpa_cpu_utilization in the series never went over the HPA's 50%%: %v", cpu)
	}
	if res.ScaledDown.IsZero() {
		t.Errorf("the HPA did not scale the target back to 1 after the load: %+v", res.HPA)
	}

	// What the target pods served is what the master counted.
	if len(res.TargetGone) > 0 {
		t.Errorf("target pods went away during the run, their counts with them: %v", res.TargetGone)
	}
	if uint64(res.TargetTotal()) != s.Totals.Requests {
		t.Errorf("the target pods served %d requests (%v), the master counted %d", res.TargetTotal(), res.TargetCounts, s.Totals.Requests)
	}
	// The pods the HPA added took their share: a Service spreads connections, and the script opens
	// one per request.
	served := 0
	for _, n := range res.TargetCounts {
		if n > 0 {
			served++
		}
	}
	if served < 2 || res.TargetPodsReady < 2 {
		t.Errorf("%d target pods served requests, %d were ready at most: want the load spread over the added pods too: %v", served, res.TargetPodsReady, res.TargetCounts)
	}
	if _, err := os.Stat(filepath.Join(artifacts, "autoscaling.png")); err != nil {
		t.Errorf("no screenshot of the autoscaling chart: %v", err)
	}

	// What make demo-kube does after a run on a cluster of the user's: the release and its
	// namespace go (a namespace left behind would make the next demo refuse to start).
	start = time.Now()
	if err := kubedemo.Uninstall(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Client.CoreV1().Namespaces().Get(ctx, kubedemo.DefaultNamespace, metav1.GetOptions{}); err == nil {
		t.Errorf("namespace %s still there after Uninstall", kubedemo.DefaultNamespace)
	}
	t.Logf("uninstalled in %s", time.Since(start).Round(time.Millisecond))
}

// chartImages are the image tarballs `make images` writes, which must exist.
func chartImages(t *testing.T) []string {
	t.Helper()
	var paths []string
	var missing []error
	for _, b := range []string{"master", "worker", "target"} {
		p := filepath.Join(root, "dist", "images", "stampede-"+b+".tar")
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, err)
		}
		paths = append(paths, p)
	}
	if len(missing) > 0 {
		nodetest.SkipOrFail(t, fmt.Errorf("run `make images` first (make test-node does): %w", errors.Join(missing...)))
	}
	return paths
}

// browser finds node and Chromium for the UI step, as internal/e2e's browser tests do.
func browser(t *testing.T) (node, chromium string) {
	t.Helper()
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	var missing []error
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, err)
	}
	if _, err := exec.LookPath(chromium); err != nil {
		missing = append(missing, err)
	}
	if _, err := os.Stat(filepath.Join(root, "web", "node_modules", "playwright-core")); err != nil {
		missing = append(missing, err)
	}
	if len(missing) > 0 {
		nodetest.SkipOrFail(t, fmt.Errorf("the UI step needs node, Chromium and web/node_modules (make web-deps): %w", errors.Join(missing...)))
	}
	return node, chromium
}

// portForward forwards a free port on 127.0.0.1 to port of pod through the API server and the
// kubelet, as `kubectl port-forward` does.
func portForward(cfg *rest.Config, pod *corev1.Pod, port int) (local int, stop func(), err error) {
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return 0, nil, err
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return 0, nil, err
	}
	u.Path = fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/portforward", pod.Namespace, pod.Name)
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	stopCh, readyCh := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, stopCh, readyCh, io.Discard, io.Discard)
	if err != nil {
		return 0, nil, err
	}
	errCh := make(chan error, 1)
	go func() { errCh <- fw.ForwardPorts() }()
	select {
	case <-readyCh:
	case err := <-errCh:
		return 0, nil, fmt.Errorf("port-forward to %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		close(stopCh)
		return 0, nil, fmt.Errorf("port-forward to %s/%s: ports %v: %v", pod.Namespace, pod.Name, ports, err)
	}
	return int(ports[0].Local), func() { close(stopCh) }, nil
}

// testLog sends the demo's progress lines to t.Log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func maxOf(s []float64) float64 {
	m := 0.0
	for _, v := range s {
		m = max(m, v)
	}
	return m
}
