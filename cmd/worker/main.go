// Command stampede-worker connects to a Stampede master and runs the k6 scenarios it assigns.
//
//	stampede-worker --master 127.0.0.1:5557
//
// It serves /metrics, /healthz and /readyz on --metrics-listen (default :9100, every interface, so
// kubelet probes and Prometheus reach it on the pod IP; "" turns it off).
//
// `stampede-worker k6 ...` runs the embedded k6 (the worker starts itself this way for every run).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stampede-load/stampede/internal/allowlist"
	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/internal/rpc"
	buildinfo "github.com/stampede-load/stampede/internal/version"
	"github.com/stampede-load/stampede/internal/worker"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == k6run.Subcommand {
		k6run.Exec(os.Args[2:])
	}
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("stampede-worker", flag.ContinueOnError)
	masterAddr := fs.String("master", "127.0.0.1:5557", "the master's worker address (host:port)")
	workDir := fs.String("work-dir", "", "directory for run files (default: a new temporary directory)")
	masterTimeout := fs.Duration("master-timeout", 6*time.Second, "stop the load when the master is silent this long")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	metricsListen := fs.String("metrics-listen", defaultMetricsListen,
		`address of /metrics, /healthz and /readyz ("" to turn them off)`)
	allowHosts := fs.String("allow-hosts", "",
		"comma-separated targets k6 may reach: IPs, CIDRs, hostnames (resolved per run); empty allows any (docs/limits.md)")
	logRate := fs.Int("log-rate", worker.DefaultLogRate,
		"script log lines per second this worker forwards; the rest are counted and replaced by a marker line")
	k6Binary := fs.String("k6-binary", "", "the program each k6 child runs: it is called with \"k6 run ...\" "+
		"(default: this binary; a script that runs this binary under an emulator such as qemu-aarch64-static, or under nice or taskset, works too)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	sec := newSecurityFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0 // asked for: not a usage error
		}
		return 2
	}
	if err := cli.ApplyEnv(fs, os.LookupEnv); err != nil {
		fmt.Fprintln(os.Stderr, "stampede-worker:", err)
		return 2
	}
	if *showVersion {
		fmt.Print(buildinfo.Get(version).String("stampede-worker"))
		return 0
	}
	log, err := cli.NewLogger(os.Stderr, *logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stampede-worker:", err)
		return 2
	}
	allow, err := allowlist.Parse(strings.Split(*allowHosts, ","))
	if err != nil {
		log.Error("--allow-hosts", "err", err)
		return 2
	}
	dialOpts, err := sec.dialOptions()
	if err != nil {
		log.Error("invalid options", "err", err)
		return 2
	}
	// Under qemu-user without binfmt_misc os.Executable names this binary, yet the kernel cannot
	// start it: --k6-binary then names a script that runs it through the emulator.
	exe := *k6Binary
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			log.Error("cannot find my own binary (name it with --k6-binary)", "err", err)
			return 1
		}
	}
	dir := *workDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "stampede-worker-"); err != nil {
			log.Error("cannot create a work directory", "err", err)
			return 1
		}
		defer os.RemoveAll(dir)
	}
	host, _ := os.Hostname()
	w, err := worker.New(worker.Options{Host: host, CPUs: runtime.NumCPU(), Version: version, Exe: exe, Dir: dir,
		MasterTimeout: *masterTimeout, Allow: allow, LogRate: *logRate, Logger: log})
	if err != nil {
		log.Error("invalid options", "err", err)
		return 2
	}

	lis, err := listenMetrics(*metricsListen, isSet(fs, "metrics-listen"), log)
	if err != nil {
		log.Error("cannot serve metrics", "err", err)
		return 1
	}
	var endpoints http.Handler
	if lis != nil {
		if endpoints, err = newHandler(w, time.Now); err != nil {
			lis.Close()
			log.Error("cannot set up metrics", "err", err)
			return 1
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process at once
	}()
	// The worker and its endpoints end together: whichever fails first stops the other.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var serveErr error
	if lis != nil {
		log.Info("serving /metrics, /healthz and /readyz", "addr", lis.Addr().String())
		wg.Go(func() {
			if serveErr = serveEndpoints(runCtx, lis, endpoints); serveErr != nil {
				cancel()
			}
		})
	}
	d := rpc.NewDialer(*masterAddr, log, dialOpts...)
	defer d.Close()
	log.Info("worker starting", "id", w.ID(), "master", *masterAddr, "version", version)
	if !allow.Empty() {
		log.Info("k6 may only reach the allowed targets; requests elsewhere fail with \"ip is blacklisted\"",
			"allow_hosts", allow.String())
	}
	err = w.Run(runCtx, d)
	cancel()
	wg.Wait()
	switch {
	case err != nil:
		log.Error("worker stopped", "err", err)
		if errors.Is(err, worker.ErrRejected) {
			return 3
		}
		return 1
	case serveErr != nil:
		log.Error("worker stopped", "err", serveErr)
		return 1
	}
	return 0
}

// defaultMetricsListen listens on every interface, as Kubernetes probes and Prometheus reach a pod on
// its IP. Port 9100 is also node_exporter's; a pod has its own network namespace, and elsewhere a
// busy default port only turns the endpoints off (see listenMetrics).
const defaultMetricsListen = ":9100"

// listenMetrics opens the endpoints' listener; nil (and no error) when addr is empty. A default
// address already in use, say by a second worker on one machine, only warns: an address the user
// chose must work.
func listenMetrics(addr string, chosen bool, log *slog.Logger) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	lis, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		return lis, nil
	case chosen:
		return nil, fmt.Errorf("%w (choose another address with --metrics-listen, or \"\" to turn it off)", err)
	}
	log.Warn("metrics and health endpoints are off: the default address is taken; set --metrics-listen",
		"addr", addr, "err", err)
	return nil, nil
}

// isSet reports whether the flag name was given, on the command line or in the environment.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
