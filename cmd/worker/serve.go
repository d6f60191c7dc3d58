package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/rpc"
	buildinfo "github.com/stampede-load/stampede/internal/version"
	"github.com/stampede-load/stampede/internal/worker"
)

// app is the running worker: start builds its parts, work runs them, and Close undoes what start
// did, the last step first.
type app struct {
	cli.Closers
	cfg          *config
	p            cli.Process
	log          *slog.Logger
	exe, workDir string         // the program k6 children run, and where their files go
	w            *worker.Worker // serves the master
	endpoints    http.Handler   // /metrics, /healthz and /readyz; nil when they are off
	metrics      net.Listener   // where endpoints are served; nil when they are off
}

// serve runs the worker until ctx ends or the master refuses it. With --version it only prints the
// version.
func serve(ctx context.Context, cfg *config, p cli.Process) error {
	if cfg.version {
		fmt.Fprint(p.Stdout, buildinfo.Get(version).String("stampede-worker"))
		return nil
	}
	log, err := cli.NewLogger(p.Stderr, cfg.logLevel)
	if err != nil {
		return cli.UsageError{Err: err}
	}
	a := &app{cfg: cfg, p: p, log: log}
	defer a.Close()
	if err := a.start(); err != nil {
		return err
	}
	return a.work(ctx)
}

// start builds every part; nothing runs yet.
func (a *app) start() error {
	for _, step := range []func() error{a.prepareFiles, a.newWorker, a.listenMetrics} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// prepareFiles finds the program k6 children run and the work directory.
func (a *app) prepareFiles() error {
	// Under qemu-user without binfmt_misc os.Executable names this binary, yet the kernel cannot
	// start it: --k6-binary then names a script that runs it through the emulator.
	var err error
	if a.exe, err = cli.K6Program(a.cfg.k6Binary, a.p.Executable); err != nil {
		return err
	}
	a.workDir, err = cli.WorkDir(a.cfg.workDir, "stampede-worker-", &a.Closers)
	return err
}

// newWorker builds the worker and the handler of its endpoints.
func (a *app) newWorker() error {
	host, _ := os.Hostname()
	w, err := worker.New(worker.Options{Host: host, CPUs: runtime.NumCPU(), Version: version, Exe: a.exe, Dir: a.workDir,
		MasterTimeout: a.cfg.masterTimeout, Allow: a.cfg.allow, LogRate: a.cfg.logRate, Logger: a.log})
	if err != nil {
		return fmt.Errorf("cannot start the worker: %w", err)
	}
	a.w = w
	if a.cfg.metricsListen == "" {
		return nil
	}
	if a.endpoints, err = newHandler(w, time.Now); err != nil {
		return fmt.Errorf("cannot set up metrics: %w", err)
	}
	return nil
}

// listenMetrics opens the endpoints' listener on --metrics-listen, unless it is "". A default
// address already in use, say by a second worker on one machine, only warns: an address the user
// chose must work.
func (a *app) listenMetrics() error {
	addr := a.cfg.metricsListen
	if addr == "" {
		return nil
	}
	lis, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		a.metrics = lis
		a.OnClose(func() { _ = lis.Close() }) // served, the server has closed it already
		return nil
	case a.cfg.metricsChosen:
		return fmt.Errorf("cannot serve metrics: %w (choose another address with --metrics-listen, or \"\" to turn it off)", err)
	}
	a.log.Warn("metrics and health endpoints are off: the default address is taken; set --metrics-listen",
		"addr", addr, "err", err)
	return nil
}

// defaultMetricsListen listens on every interface, as Kubernetes probes and Prometheus reach a pod on
// its IP. Port 9100 is also node_exporter's; a pod has its own network namespace, and elsewhere a
// busy default port only turns the endpoints off (see listenMetrics).
const defaultMetricsListen = ":9100"

// work connects to the master and serves it, and serves the endpoints, until ctx ends or either
// fails: whichever fails first stops the other.
func (a *app) work(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var serveErr error
	if a.metrics != nil {
		a.log.Info("serving /metrics, /healthz and /readyz", "addr", a.metrics.Addr().String())
		wg.Go(func() {
			if serveErr = serveEndpoints(ctx, a.metrics, a.endpoints); serveErr != nil {
				cancel()
			}
		})
	}
	err := a.runWorker(ctx)
	cancel()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("worker stopped: %w", err)
	}
	if serveErr != nil {
		return fmt.Errorf("worker stopped: %w", serveErr)
	}
	return nil
}

// runWorker serves the master at --master until ctx ends or the master refuses this worker.
func (a *app) runWorker(ctx context.Context) error {
	d := rpc.NewDialer(a.cfg.masterAddr, a.log, a.cfg.dialOpts...)
	defer d.Close()
	a.log.Info("worker starting", "id", a.w.ID(), "master", a.cfg.masterAddr, "version", version)
	if !a.cfg.allow.Empty() {
		a.log.Info("k6 may only reach the allowed targets; requests elsewhere fail with \"ip is blacklisted\"",
			"allow_hosts", a.cfg.allow.String())
	}
	return a.w.Run(ctx, d)
}
