//go:build linux

// Command kube-demo is `make demo-kube`: the HPA demo (internal/kubedemo) on a Kubernetes cluster.
//
// Without $KUBECONFIG it brings up a one-node cluster of real parts on this machine (as root:
// internal/kubetest's control plane, internal/nodetest's node with kube-proxy, CoreDNS and
// metrics-server, from the tools `.ci/k8s-tools.sh --node` prints), imports the images of
// `make images`, runs the demo, prints what happened and tears the cluster down, checking that the
// machine is as it was. With $KUBECONFIG it runs the demo on that cluster, which must be able to
// run the chart's images (give their repository with --set), and uninstalls it after.
//
//	kube-demo [--chart DIR] [--script FILE] [--images DIR] [--set KEY=VALUE]... [--keep]
//
// It exits with the gate Job's exit code (0: the HPA scaled the target out and the gate passed),
// or 1 when the demo could not run.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/stampede-load/stampede/internal/kubedemo"
	"github.com/stampede-load/stampede/internal/kubetest"
	"github.com/stampede-load/stampede/internal/nodetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code, err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube-demo:", err)
	}
	os.Exit(code)
}

type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, ",") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("kube-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	chart := fs.String("chart", filepath.Join("deploy", "helm", "stampede"), "the chart's directory")
	script := fs.String("script", filepath.Join("examples", "hpa.js"), "the k6 script the gate Job runs")
	images := fs.String("images", filepath.Join("dist", "images"), "where `make images` wrote stampede-{master,worker,target}.tar (own node only)")
	keep := fs.Bool("keep", false, "with $KUBECONFIG: leave the release installed")
	var set setFlags
	fs.Var(&set, "set", "a further helm --set value, e.g. master.image.repository=REGISTRY/stampede-master (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2, nil
	}
	opts := kubedemo.Options{Chart: *chart, Script: *script, Set: set, Log: stdout}

	if kc, ok := lookup("KUBECONFIG"); ok && kc != "" {
		return onCluster(ctx, kc, *keep, opts, lookup, stdout)
	}
	return onOwnNode(ctx, *images, opts, lookup, stdout, stderr)
}

// onCluster runs the demo on the cluster of kubeconfig.
func onCluster(ctx context.Context, kubeconfig string, keep bool, opts kubedemo.Options, lookup func(string) (string, bool), stdout io.Writer) (int, error) {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}, nil).ClientConfig()
	if err != nil {
		return 1, fmt.Errorf("KUBECONFIG=%s: %w", kubeconfig, err)
	}
	helm, ok := lookup("HELM")
	if !ok || helm == "" {
		if helm, err = exec.LookPath("helm"); err != nil {
			return 1, errors.New("no helm: set HELM or put helm on the PATH")
		}
	}
	opts.Config, opts.Kubeconfig, opts.Helm = cfg, kubeconfig, helm
	fmt.Fprintf(stdout, "running the HPA demo on the cluster of %s\n", kubeconfig)
	return demo(ctx, opts, !keep, stdout)
}

// onOwnNode brings up a cluster on this machine, runs the demo and tears the cluster down.
func onOwnNode(ctx context.Context, images string, opts kubedemo.Options, lookup func(string) (string, bool), stdout, stderr io.Writer) (code int, err error) {
	if os.Geteuid() != 0 {
		return 1, errors.New("without $KUBECONFIG the demo runs a kubelet and containerd on this machine: run it as root (make demo-kube), or give a cluster with KUBECONFIG")
	}
	kt, err := kubetest.ToolsFromEnv(lookup)
	if err != nil {
		return 1, err
	}
	nt, err := nodetest.ToolsFromEnv(lookup)
	if err != nil {
		return 1, err
	}
	var tars []string
	for _, b := range []string{"master", "worker", "target"} {
		p := filepath.Join(images, "stampede-"+b+".tar")
		if _, err := os.Stat(p); err != nil {
			return 1, fmt.Errorf("%w (run `make images`)", err)
		}
		tars = append(tars, p)
	}
	nodeIP, err := nodetest.DefaultNodeIP()
	if err != nil {
		return 1, err
	}
	fmt.Fprintf(stdout, "starting a one-node cluster on %s (control plane, containerd, kubelet, kube-proxy, CoreDNS, metrics-server)\n", nodeIP)
	cp, err := kubetest.New(ctx, kubetest.Options{Tools: kt, RealNodes: true, AdvertiseAddress: nodeIP})
	if err != nil {
		return 1, err
	}
	defer cp.Stop()
	node, err := nodetest.New(ctx, cp, nodetest.Options{
		Tools: nt, NodeIP: nodeIP, Addons: true,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return 1, err
	}
	defer func() {
		fmt.Fprintln(stdout, "tearing the node down and checking the machine")
		if serr := node.Stop(context.Background()); serr != nil {
			err = errors.Join(err, serr)
			code = max(code, 1)
		}
	}()
	for _, t := range tars {
		if err := node.ImportImage(ctx, t); err != nil {
			return 1, err
		}
	}
	opts.Config, opts.Kubeconfig, opts.Helm = cp.Config, cp.Kubeconfig, kt.Helm
	return demo(ctx, opts, false, stdout)
}

func demo(ctx context.Context, opts kubedemo.Options, uninstall bool, stdout io.Writer) (int, error) {
	res, err := kubedemo.Run(ctx, opts)
	if uninstall && !errors.Is(err, kubedemo.ErrNamespaceExists) {
		defer func() {
			// A namespace held by a finalizer would keep this waiting: say so rather than hang.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if uerr := kubedemo.Uninstall(ctx, opts); uerr != nil {
				ns := cmp.Or(opts.Namespace, kubedemo.DefaultNamespace)
				fmt.Fprintf(os.Stderr, "kube-demo: uninstall: %v (check: kubectl get namespace %s)\n", uerr, ns)
			}
		}()
	}
	if err != nil {
		return 1, err
	}
	res.Print(stdout, opts)
	return int(res.ExitCode), nil
}
