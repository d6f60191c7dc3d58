//go:build linux

// Package kubedemo runs the HPA demo on a Kubernetes cluster: the chart's headless gate Job runs
// examples/hpa.js on worker pods the master scales up for the run, against the demo target, whose
// HorizontalPodAutoscaler scales it on the CPU that load burns. It records what the cluster did
// (the worker Deployment's scale, the HPA's replica steps, each target pod's own request count,
// the scale-down after the load) beside the master's verdict and summary, for `make demo-kube` to
// print and internal/nodetest's chart test to check.
//
// It talks to the cluster only through the API server (the target pods' counts through its pod
// proxy), so it works on any cluster that can run the images.
package kubedemo

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/stampede-load/stampede/internal/api"
	"github.com/stampede-load/stampede/internal/kubetest"
)

// Options configure Run. Zero values take the defaults.
type Options struct {
	// Config is a client configuration with the rights to install the chart (an admin's);
	// Kubeconfig is the same as a file, for helm.
	Config     *rest.Config
	Kubeconfig string
	// Helm is the helm binary; HelmHome holds its cache, config and data (default: a temporary
	// directory, removed after).
	Helm, HelmHome string
	// Chart is the chart's directory (deploy/helm/stampede); Script the k6 script (examples/hpa.js).
	Chart, Script string
	// Namespace is created for the demo (default "stampede-demo"); Release is the helm release
	// (default "stampede-demo", so the objects are stampede-demo, stampede-demo-worker,
	// stampede-demo-target, ...).
	Namespace, Release string
	// IdleWorkers is the worker Deployment's size between runs (default 1); Workers the size the
	// master scales it to for the run (default 3).
	IdleWorkers, Workers int
	// Users and SpawnRate are the swarm's (default 8 users, 4 a second); RunTime how long the load
	// runs (default 90 s).
	Users     int
	SpawnRate float64
	RunTime   time.Duration
	// CPUMillis is the CPU each request burns in the target (default 10 ms); Pause the think time
	// between a user's requests (default 0.2 s). The defaults burn about a third of a CPU: over 50 %
	// of four target pods' 100m requests, so the HPA scales up to its maximum and stays there while
	// the load lasts.
	CPUMillis int
	Pause     float64
	// MaxReplicas bounds the target's HPA (default 4; its minimum is 1, its goal 50 % CPU).
	MaxReplicas int
	// ScaleDownWindow is the HPA's scale-down stabilization window (default 15 s).
	ScaleDownWindow time.Duration
	// ScaleDownWait bounds the wait for the target to be back at one replica after the run
	// (default 4 minutes; not seen then is reported, not an error).
	ScaleDownWait time.Duration
	// Set are further `helm --set` values, e.g. image repositories in your registry.
	Set []string
	// Log receives progress lines. Default: none.
	Log io.Writer
	// WhileRunning, when set, is called once the master pod runs, with that pod and the web token,
	// while the load runs (e.g. to look at the UI through a port-forward). Its error fails Run.
	WhileRunning func(ctx context.Context, master *corev1.Pod, webToken string) error
}

func (o *Options) defaults() {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&o.Namespace, DefaultNamespace)
	def(&o.Release, DefaultRelease)
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt(&o.IdleWorkers, 1)
	defInt(&o.Workers, 3)
	defInt(&o.Users, 8)
	defInt(&o.CPUMillis, 10)
	defInt(&o.MaxReplicas, 4)
	if o.SpawnRate <= 0 {
		o.SpawnRate = 4
	}
	if o.Pause <= 0 {
		o.Pause = 0.2
	}
	if o.RunTime <= 0 {
		o.RunTime = 90 * time.Second
	}
	if o.ScaleDownWindow <= 0 {
		o.ScaleDownWindow = 15 * time.Second
	}
	if o.ScaleDownWait <= 0 {
		o.ScaleDownWait = 4 * time.Minute
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Defaults of Options.Namespace and Options.Release.
const (
	DefaultNamespace = "stampede-demo"
	DefaultRelease   = "stampede-demo"
)

// fullname is the chart's name for the release's objects: the release's when it contains
// "stampede".
func (o *Options) fullname() string {
	release := o.Release
	if release == "" {
		release = DefaultRelease
	}
	if strings.Contains(release, "stampede") {
		return release
	}
	return release + "-stampede"
}

// HPAName is the target's HorizontalPodAutoscaler.
func (o *Options) HPAName() string { return o.fullname() + "-target" }

// Threshold is the gate the run must pass: the HPA scaled the target out.
func (o *Options) Threshold() string { return "hpa_replicas{hpa:" + o.HPAName() + "}: max>=2" }

// ErrNamespaceExists is Run's error when Options.Namespace exists before the demo: it is not
// the demo's to delete.
var ErrNamespaceExists = errors.New("kubedemo: the namespace exists")

// Step is one change of the target HPA's status.
type Step struct {
	At               time.Time
	Replicas         int32 // status.currentReplicas
	Desired          int32 // status.desiredReplicas
	CPUUtilization   int32 // average over the pods, % of their request; -1 when not reported
	DuringLoad       bool
	AfterLoadStopped bool
}

// Result is what happened.
type Result struct {
	// Job is the master's Job; ExitCode its container's exit code (-1 if it never ended).
	Job      string
	ExitCode int32
	// Log is the master's log; Summary the summary JSON it printed (--summary-json /dev/stdout).
	Log     string
	Summary api.Summary
	// LoadStarted and LoadEnded are when the load ran, from the summary.
	LoadStarted, LoadEnded time.Time
	// WorkerScale lists the worker Deployment's spec.replicas, each change in order, from the
	// install on; WorkerPodsReady is the most worker pods ready at once.
	WorkerScale     []int32
	WorkerPodsReady int32
	// HPA lists every change of the target HPA's status; TargetPodsReady is the most target pods
	// ready at once during the load.
	HPA             []Step
	TargetPodsReady int
	// TargetCounts is each target pod's own request count (GET /stats through the API server),
	// read as the Job ended; TargetGone names target pods deleted before that (their counts are
	// lost).
	TargetCounts map[string]int64
	TargetGone   []string
	// ScaledDown is when the HPA was back at one replica after the load (zero: not within
	// ScaleDownWait).
	ScaledDown time.Time
}

// TargetTotal is the sum of TargetCounts.
func (r *Result) TargetTotal() int64 {
	var n int64
	for _, c := range r.TargetCounts {
		n += c
	}
	return n
}

// MaxReplicas is the most target replicas the HPA reported.
func (r *Result) MaxReplicas() int32 {
	var m int32
	for _, s := range r.HPA {
		m = max(m, s.Replicas)
	}
	return m
}

// Install installs the release (the namespace must not hold one). Run calls it.
func Install(ctx context.Context, o Options) error {
	o.defaults()
	for _, f := range []struct{ what, path string }{{"Chart", o.Chart}, {"Script", o.Script}, {"Helm", o.Helm}} {
		if f.path == "" {
			return fmt.Errorf("kubedemo: Options.%s is empty", f.what)
		}
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("kubedemo: %s: %w", f.what, err)
		}
	}
	set := []string{
		"mode=headless",
		"target.enabled=true",
		"target.autoscaling.minReplicas=1",
		"target.autoscaling.maxReplicas=" + strconv.Itoa(o.MaxReplicas),
		"target.autoscaling.targetCPUUtilizationPercentage=50",
		"target.autoscaling.behavior.scaleDown.stabilizationWindowSeconds=" + strconv.Itoa(int(o.ScaleDownWindow.Seconds())),
		"workers.replicas=" + strconv.Itoa(o.IdleWorkers),
		// The demo's load is light; the chart's default request (500m a worker) would leave a
		// two-CPU node no room for the target's new pods.
		"workers.resources.requests.cpu=100m",
		"run.workers=" + strconv.Itoa(o.Workers),
		"run.users=" + strconv.Itoa(o.Users),
		"run.spawnRate=" + strconv.FormatFloat(o.SpawnRate, 'f', -1, 64),
		"run.runTime=" + o.RunTime.String(),
		"scriptName=" + filepath.Base(o.Script),
	}
	args := []string{"install", o.Release, o.Chart, "--namespace", o.Namespace, "--create-namespace",
		"--set-file", "script=" + o.Script,
		// Values with commas or braces go as JSON: --set would split them.
		"--set-json", fmt.Sprintf("run.thresholds=[%q,%q]", o.Threshold(), "http_req_failed: rate<0.01"),
		"--set-json", `master.extraArgs=["--summary-json","/dev/stdout"]`,
		// The script's environment is strings.
		"--set-string", "run.env.CPU_MS=" + strconv.Itoa(o.CPUMillis),
		"--set-string", "run.env.PAUSE=" + strconv.FormatFloat(o.Pause, 'f', -1, 64),
	}
	for _, s := range append(set, o.Set...) {
		args = append(args, "--set", s)
	}
	_, err := helm(ctx, o, args...)
	return err
}

// Uninstall removes the release and the namespace, and waits until the namespace is gone.
func Uninstall(ctx context.Context, o Options) error {
	o.defaults()
	_, herr := helm(ctx, o, "uninstall", o.Release, "--namespace", o.Namespace, "--wait", "--ignore-not-found")
	c, err := kubernetes.NewForConfig(o.Config)
	if err != nil {
		return err
	}
	if err := c.CoreV1().Namespaces().Delete(ctx, o.Namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return errors.Join(herr, err)
	}
	return errors.Join(herr, wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().Namespaces().Get(ctx, o.Namespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}))
}

// helm runs helm as the harness does (kubetest.Helm: a home of its own, the cluster of
// o.Kubeconfig), in o.HelmHome or a temporary directory.
func helm(ctx context.Context, o Options, args ...string) (string, error) {
	home := o.HelmHome
	if home == "" {
		dir, err := os.MkdirTemp("", "kubedemo-helm-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(dir)
		home = dir
	}
	return (&kubetest.Helm{Bin: o.Helm, Kubeconfig: o.Kubeconfig, Home: home}).Run(ctx, args...)
}

// Run installs the release and follows the run to its end and the target's scale-down after it.
// The release stays installed: call Uninstall. An error means the demo could not be followed (the
// Job's verdict is in Result.ExitCode, not in the error).
func Run(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	c, err := kubernetes.NewForConfig(o.Config)
	if err != nil {
		return nil, err
	}
	// Uninstall deletes the namespace: it must be the demo's own.
	if _, err := c.CoreV1().Namespaces().Get(ctx, o.Namespace, metav1.GetOptions{}); err == nil {
		return nil, fmt.Errorf("%w: %s: the demo makes its own and deletes it after; delete it (kubectl delete namespace %s) or choose another", ErrNamespaceExists, o.Namespace, o.Namespace)
	} else if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("kubedemo: namespace %s: %w", o.Namespace, err)
	}
	if err := Install(ctx, o); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "installed %s in namespace %s: %d user(s) for %s on %d worker pod(s), HPA %s 1..%d at 50%% CPU\n",
		o.Release, o.Namespace, o.Users, o.RunTime, o.Workers, o.HPAName(), o.MaxReplicas)

	w := &watcher{c: c, ns: o.Namespace, o: o, res: &Result{ExitCode: -1}}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	var wg sync.WaitGroup
	wg.Go(func() { w.watch(watchCtx) })

	job, err := w.waitJob(ctx)
	if err != nil {
		return nil, err
	}
	w.res.Job = job.Name
	if o.WhileRunning != nil {
		pod, err := w.masterPod(ctx, job.Name, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		if err != nil {
			return nil, err
		}
		token, err := w.webToken(ctx)
		if err != nil {
			return nil, err
		}
		if err := o.WhileRunning(ctx, pod, token); err != nil {
			return nil, err
		}
	}
	// The Job's end, then at once the target pods' counts: the HPA scales them down after the
	// window, and a deleted pod's counts are gone.
	if err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		j, err := c.BatchV1().Jobs(o.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, cond := range j.Status.Conditions {
			if (cond.Type == batchv1.JobComplete || cond.Type == batchv1.JobFailed) && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return nil, fmt.Errorf("kubedemo: waiting for Job %s to end: %w", job.Name, err)
	}
	w.mu.Lock()
	w.loadOver = true
	w.mu.Unlock()
	if err := w.readTargetCounts(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "Job %s ended; target pods counted %d requests\n", job.Name, w.res.TargetTotal())
	pod, err := w.masterPod(ctx, job.Name, func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	})
	if err != nil {
		return nil, err
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == "master" && cs.State.Terminated != nil {
			w.res.ExitCode = cs.State.Terminated.ExitCode
		}
	}
	logs, err := c.CoreV1().Pods(o.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: "master"}).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("kubedemo: the master's log: %w", err)
	}
	w.res.Log = string(logs)
	if err := ParseSummary(w.res.Log, &w.res.Summary); err != nil {
		return nil, err
	}
	w.res.LoadStarted, w.res.LoadEnded = w.res.Summary.Started, w.res.Summary.Ended

	// The scale-down, then the workers back at their idle count.
	fmt.Fprintf(o.Log, "waiting for the HPA to scale the target back to 1 (stabilization window %s)\n", o.ScaleDownWindow)
	downCtx, cancel := context.WithTimeout(ctx, o.ScaleDownWait)
	defer cancel()
	_ = wait.PollUntilContextCancel(downCtx, time.Second, true, func(context.Context) (bool, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, s := range w.res.HPA {
			if s.AfterLoadStopped && s.Replicas == 1 {
				w.res.ScaledDown = s.At
				return true, nil
			}
		}
		return false, nil
	})
	stopWatch()
	wg.Wait()
	return w.res, nil
}

// ParseSummary finds the summary JSON the master printed to stdout (--summary-json /dev/stdout)
// in its log: from a line "{" to the line "}" that closes it. Log lines the master wrote to
// stderr meanwhile ("time=... level=...") are skipped.
func ParseSummary(log string, s *api.Summary) error {
	var b strings.Builder
	in := false
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && line == "{":
			in = true
			b.WriteString(line + "\n")
		case in && strings.HasPrefix(line, "time="):
		case in:
			b.WriteString(line + "\n")
			if line == "}" {
				if err := json.Unmarshal([]byte(b.String()), s); err != nil {
					return fmt.Errorf("kubedemo: the summary JSON in the master's log: %w", err)
				}
				if s.Schema != "stampede.summary/v1" {
					return fmt.Errorf("kubedemo: the master's log has JSON of schema %q, want stampede.summary/v1", s.Schema)
				}
				return nil
			}
		}
	}
	return errors.New("kubedemo: no summary JSON in the master's log (was it started with --summary-json /dev/stdout?)")
}

// watcher records the cluster's side while the demo runs.
type watcher struct {
	c   kubernetes.Interface
	ns  string
	o   Options
	res *Result

	mu       sync.Mutex
	loadOver bool
	lastHPA  Step
	known    map[string]bool // target pods seen running
}

// watch polls the worker Deployment, the HPA and the target pods every half second until ctx
// ends. Polling, not watches: a change that lasts less than that is of no interest here.
func (w *watcher) watch(ctx context.Context) {
	w.known = map[string]bool{}
	worker := w.o.fullname() + "-worker"
	_ = wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		d, derr := w.c.AppsV1().Deployments(w.ns).Get(ctx, worker, metav1.GetOptions{})
		h, herr := w.c.AutoscalingV2().HorizontalPodAutoscalers(w.ns).Get(ctx, w.o.HPAName(), metav1.GetOptions{})
		pods, perr := w.c.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=target"})
		w.mu.Lock()
		defer w.mu.Unlock()
		if derr == nil {
			w.noteWorkers(d)
		}
		if herr == nil {
			w.noteHPA(h)
		}
		if perr == nil && !w.loadOver {
			w.noteTargets(pods.Items)
		}
		return false, nil
	})
}

func (w *watcher) noteWorkers(d *appsv1.Deployment) {
	if d.Spec.Replicas != nil {
		if n := len(w.res.WorkerScale); n == 0 || w.res.WorkerScale[n-1] != *d.Spec.Replicas {
			w.res.WorkerScale = append(w.res.WorkerScale, *d.Spec.Replicas)
			fmt.Fprintf(w.o.Log, "worker Deployment: %d replica(s)\n", *d.Spec.Replicas)
		}
	}
	w.res.WorkerPodsReady = max(w.res.WorkerPodsReady, d.Status.ReadyReplicas)
}

func (w *watcher) noteHPA(h *autoscalingv2.HorizontalPodAutoscaler) {
	s := Step{At: time.Now(), Replicas: h.Status.CurrentReplicas, Desired: h.Status.DesiredReplicas, CPUUtilization: -1}
	for _, m := range h.Status.CurrentMetrics {
		if m.Resource != nil && m.Resource.Name == corev1.ResourceCPU && m.Resource.Current.AverageUtilization != nil {
			s.CPUUtilization = *m.Resource.Current.AverageUtilization
		}
	}
	if len(w.res.HPA) > 0 && s.Replicas == w.lastHPA.Replicas && s.Desired == w.lastHPA.Desired {
		return // CPU alone changes every scrape
	}
	s.AfterLoadStopped = w.loadOver
	s.DuringLoad = !w.loadOver
	w.lastHPA = s
	w.res.HPA = append(w.res.HPA, s)
	cpu := "?"
	if s.CPUUtilization >= 0 {
		cpu = fmt.Sprintf("%d%%", s.CPUUtilization)
	}
	fmt.Fprintf(w.o.Log, "HPA %s: %d replica(s), %d desired, CPU %s\n", w.o.HPAName(), s.Replicas, s.Desired, cpu)
}

func (w *watcher) noteTargets(pods []corev1.Pod) {
	now := map[string]bool{}
	ready := 0
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			now[p.Name] = true
			w.known[p.Name] = true
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
	}
	w.res.TargetPodsReady = max(w.res.TargetPodsReady, ready)
	for name := range w.known {
		if !now[name] && !slices.Contains(w.res.TargetGone, name) {
			w.res.TargetGone = append(w.res.TargetGone, name)
		}
	}
}

// waitJob waits for the chart's master Job.
func (w *watcher) waitJob(ctx context.Context) (*batchv1.Job, error) {
	var job *batchv1.Job
	err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		l, err := w.c.BatchV1().Jobs(w.ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=master"})
		if err != nil || len(l.Items) == 0 {
			return false, nil
		}
		job = &l.Items[0]
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("kubedemo: waiting for the master's Job: %w", err)
	}
	return job, nil
}

// masterPod waits for the Job's pod to satisfy ok.
func (w *watcher) masterPod(ctx context.Context, job string, ok func(*corev1.Pod) bool) (*corev1.Pod, error) {
	var pod *corev1.Pod
	err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		l, err := w.c.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
		if err != nil || len(l.Items) == 0 {
			return false, nil
		}
		pod = &l.Items[0]
		return ok(pod), nil
	})
	if err != nil {
		return nil, fmt.Errorf("kubedemo: waiting for the pod of Job %s: %w", job, err)
	}
	return pod, nil
}

// webToken reads the chart's web token from its Secret.
func (w *watcher) webToken(ctx context.Context) (string, error) {
	s, err := w.c.CoreV1().Secrets(w.ns).Get(ctx, w.o.fullname()+"-auth", metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("kubedemo: the chart's auth Secret: %w", err)
	}
	return string(s.Data["web-token"]), nil
}

// readTargetCounts GETs /stats of every running target pod through the API server's pod proxy.
func (w *watcher) readTargetCounts(ctx context.Context) error {
	pods, err := w.c.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=target"})
	if err != nil {
		return fmt.Errorf("kubedemo: the target pods: %w", err)
	}
	counts := map[string]int64{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
			continue
		}
		body, err := w.c.CoreV1().Pods(w.ns).ProxyGet("http", p.Name, "8080", "/stats", nil).DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("kubedemo: GET /stats of target pod %s: %w: %s", p.Name, err, body)
		}
		var st struct {
			Total int64 `json:"total"`
		}
		if err := json.Unmarshal(body, &st); err != nil {
			return fmt.Errorf("kubedemo: GET /stats of target pod %s: %w: %s", p.Name, err, body)
		}
		counts[p.Name] = st.Total
	}
	w.mu.Lock()
	w.res.TargetCounts = counts
	w.mu.Unlock()
	return nil
}
