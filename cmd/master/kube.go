package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/stampede-load/stampede/internal/kube"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
)

// saNamespaceFile is where a pod finds its own namespace.
const saNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// kubeParts are the Kubernetes parts the flags ask for: nil fields were not asked for.
type kubeParts struct {
	fleet  master.Fleet
	gauges func() map[stats.GaugeKey]float64
	run    []func(context.Context) error
}

// usesKube says whether any flag needs the API server.
func (c *config) usesKube() bool {
	return c.kubeDeployment != "" || len(c.watchHPA) > 0 || c.watchHPASelector != ""
}

// newKube builds the worker scaler and the HPA watcher from the flags. They talk to the API server
// only once their run functions are started.
func newKube(c *config, log *slog.Logger) (*kubeParts, error) {
	if !c.usesKube() {
		return &kubeParts{}, nil
	}
	rc, ns, err := kubeClientConfig(c.kubeconfig)
	if err != nil {
		return nil, err
	}
	rc.UserAgent = "stampede-master/" + version
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	if c.kubeNamespace != "" {
		ns = c.kubeNamespace
	}
	parts := &kubeParts{}
	if c.kubeDeployment != "" {
		s, err := kube.NewScaler(kube.ScalerOptions{Client: client, Namespace: ns, Deployment: c.kubeDeployment,
			Logger: log.With("part", "scaler")})
		if err != nil {
			return nil, err
		}
		parts.fleet = scalerFleet{s: s, name: "deployment " + ns + "/" + c.kubeDeployment}
		parts.run = append(parts.run, s.Run)
		log.Info("scaling workers", "deployment", c.kubeDeployment, "namespace", ns, "idle", c.kubeIdleWorkers, "max", c.kubeMaxWorkers)
	}
	if len(c.watchHPA) > 0 || c.watchHPASelector != "" {
		hpaNS := ns
		if c.watchHPANamespace != "" {
			hpaNS = c.watchHPANamespace
		}
		w, err := kube.NewHPAWatcher(kube.HPAWatcherOptions{Client: client, Namespace: hpaNS, Names: c.watchHPA,
			Selector: c.watchHPASelector, Logger: log.With("part", "hpa")})
		if err != nil {
			return nil, err
		}
		parts.gauges = func() map[stats.GaugeKey]float64 { return kube.Extras(w.Sample()) }
		parts.run = append(parts.run, w.Run, func(ctx context.Context) error {
			reportMissingHPAs(ctx, w, c.watchHPA, hpaNS, log)
			return nil
		})
		log.Info("watching HPAs", "names", strings.Join(c.watchHPA, ","), "selector", c.watchHPASelector, "namespace", hpaNS)
	}
	return parts, nil
}

// start runs the parts until ctx ends; the channel closes when all have returned.
func (k *kubeParts) start(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, run := range k.run {
		wg.Go(func() { _ = run(ctx) })
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

// settle waits (at most timeout) until the Deployment's spec has the count last asked for, so a
// master that exits right after a run still scales the workers back.
func (k *kubeParts) settle(timeout time.Duration, log *slog.Logger) {
	if k.fleet == nil {
		return
	}
	deadline := time.Now().Add(timeout)
	for {
		st := k.fleet.Status()
		if st.Spec == st.Desired && st.Error == "" {
			return
		}
		if time.Now().After(deadline) {
			log.Warn("the worker Deployment did not reach its count before exit", "deployment", st.Name, "want", st.Desired, "spec", st.Spec, "err", st.Error)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kubeClientConfig finds the API server: --kubeconfig if given, else the pod's service account, else
// $KUBECONFIG or ~/.kube/config. It also returns the namespace that source implies.
func kubeClientConfig(path string) (*rest.Config, string, error) {
	if path == "" {
		if rc, err := rest.InClusterConfig(); err == nil {
			ns := "default"
			if b, err := os.ReadFile(saNamespaceFile); err == nil && len(strings.TrimSpace(string(b))) > 0 {
				ns = strings.TrimSpace(string(b))
			}
			return rc, ns, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	rc, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, "", errors.New("no Kubernetes API server: not in a pod, and no kubeconfig (give --kubeconfig or set KUBECONFIG)")
		}
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil || ns == "" {
		ns = "default"
	}
	return rc, ns, nil
}

// reportMissingHPAs warns, once the watcher has listed, about named HPAs that do not exist: a
// threshold on them would judge no data.
func reportMissingHPAs(ctx context.Context, w *kube.HPAWatcher, names []string, ns string, log *slog.Logger) {
	if len(names) == 0 {
		return
	}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for !w.Synced() {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	seen := map[string]bool{}
	for _, s := range w.Sample() {
		seen[s.Name] = true
	}
	for _, n := range names {
		if !seen[n] {
			log.Warn("no such HorizontalPodAutoscaler (yet): its values stay empty until it appears", "hpa", n, "namespace", ns)
		}
	}
}

// scalerFleet is the master's view of the worker Deployment's scaler.
type scalerFleet struct {
	s    *kube.Scaler
	name string
}

var _ master.Fleet = scalerFleet{}

func (f scalerFleet) SetDesired(n int) { f.s.SetDesired(int32(min(n, 1<<30))) }

func (f scalerFleet) Status() master.FleetStatus {
	desired, spec, ready, err := f.s.Status()
	st := master.FleetStatus{Name: f.name, Desired: int(max(desired, 0)), Spec: int(max(spec, 0)), Ready: int(max(ready, 0))}
	if desired < 0 { // nothing asked yet: the Deployment's own count is what is wanted
		st.Desired = st.Spec
	}
	if err != nil {
		st.Error = err.Error()
	}
	return st
}

// hpaNames splits --watch-hpa values: repeatable, and comma-separated or one per line from the
// environment.
func hpaNames(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, n := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' }) {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}
