package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/rpc"
	buildinfo "github.com/stampede-load/stampede/internal/version"
	"github.com/stampede-load/stampede/internal/worker"
)

// app is the running master. start builds its parts in order; Close stops the ones started, in
// reverse order, as deferred calls would.
type app struct {
	cfg        *config
	p          cli.Process
	log        *slog.Logger
	exe        string // the program k6 children run
	workDir    string
	reports    reporter
	core       *master.Coordinator
	kube       *kubeParts
	workerAddr string       // where a worker on this host dials the master
	webDone    <-chan error // the web server failing; nil without one
	cli.Closers
}

// serve runs the master: with --headless the run the flags describe, else the web UI until ctx ends.
// With --version it only prints the version.
func serve(ctx context.Context, cfg *config, p cli.Process) error {
	if cfg.version {
		fmt.Fprint(p.Stdout, buildinfo.Get(version).String("stampede-master"))
		return nil
	}
	log, err := cli.NewLogger(p.Stderr, cfg.logLevel)
	if err != nil {
		return cli.UsageError{Err: err}
	}
	stopWarning := context.AfterFunc(ctx, func() {
		log.Warn("interrupted: stopping any run and exiting (press Ctrl+C again to quit at once)")
	})
	defer stopWarning()
	a := &app{cfg: cfg, p: p, log: log}
	defer a.Close()
	if err := a.start(ctx); err != nil {
		return err
	}
	if cfg.headless {
		return a.runHeadless(ctx)
	}
	return a.serveUI(ctx)
}

// start builds and starts every part. Runs started from the UI stop when ctx ends.
func (a *app) start(ctx context.Context) error {
	steps := []func() error{a.prepareFiles, a.startCore, a.startKube, a.listenForWorkers, a.startLocalWorkers,
		func() error { return a.startWeb(ctx) }}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// prepareFiles makes sure, before anything starts, that every report can be written, and finds the
// program k6 children run and the work directory.
func (a *app) prepareFiles() error {
	files := a.cfg.reportFiles()
	if err := checkReports(files); err != nil {
		return cli.UsageError{Err: err}
	}
	var err error
	if a.exe, err = cli.K6Program(a.cfg.k6Binary, a.p.Executable); err != nil {
		return err
	}
	if a.workDir, err = cli.WorkDir(a.cfg.workDir, "stampede-master-", &a.Closers); err != nil {
		return err
	}
	a.reports = reporter{files: files, exe: a.exe, workDir: a.workDir, env: a.cfg.env, p: a.p, log: a.log}
	return nil
}

// startCore builds the coordinator, with the Kubernetes parts the flags ask for, and starts its
// housekeeping.
func (a *app) startCore() error {
	cfg := a.cfg
	kp, err := newKube(cfg, a.log)
	if err != nil {
		return cli.UsageError{Err: err}
	}
	a.kube = kp
	a.core, err = master.New(master.Options{Loader: loader{exe: a.exe}, WorkDir: a.workDir, InitTimeout: cfg.initTimeout,
		Version: version, Logger: a.log, ScriptLog: scriptLogger(a.log), NameCap: cfg.maxNames, BundleLimits: cfg.bundleLimits,
		Fleet: kp.fleet, IdleWorkers: cfg.kubeIdleWorkers, MaxWorkers: cfg.kubeMaxWorkers, Gauges: kp.gauges,
		MaxUsers: cfg.limits.maxUsers, MaxWorkerVUs: cfg.limits.maxWorkerVUs})
	if err != nil {
		return fmt.Errorf("cannot start the coordinator: %w", err)
	}
	a.OnClose(a.core.Close)
	return nil
}

// startKube runs the worker scaler and the HPA watcher, if the flags ask for them, until Close.
func (a *app) startKube() error {
	if a.kube.fleet != nil && a.cfg.kubeIdleWorkers >= 0 {
		// Level-based from the start: a master that died mid-run left the workers scaled up.
		a.kube.fleet.SetDesired(a.cfg.kubeIdleWorkers)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := a.kube.start(ctx)
	a.OnClose(func() {
		a.kube.settle(10*time.Second, a.log) // the last run's scale-down reaches the API server
		stop()
		<-done
	})
	return nil
}

// listenForWorkers serves the workers on --master-bind.
func (a *app) listenForWorkers() error {
	lis, err := net.Listen("tcp", a.cfg.masterBind)
	if err != nil {
		return cli.UsageError{Err: fmt.Errorf("cannot listen for workers on %s: %w (choose another with --master-bind)", a.cfg.masterBind, err)}
	}
	srv := rpc.NewServer(a.core, a.log, a.cfg.sec.serverOptions()...)
	workerLis := a.cfg.limits.workerListener(lis, a.log) // before the UI's line: a lowered limit is logged first
	go func() { _ = srv.Serve(workerLis) }()
	a.OnClose(srv.Stop)
	a.workerAddr = cli.DialAddr(lis.Addr(), a.cfg.masterBind)
	a.log.Info("listening for workers", "addr", lis.Addr().String())
	return nil
}

// startLocalWorkers starts --local-workers workers inside the master. Close stops them and waits,
// so that no k6 child outlives the master.
func (a *app) startLocalWorkers() error {
	if a.cfg.localWorkers == 0 {
		return nil
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	a.OnClose(func() {
		stop()
		wg.Wait()
	})
	host, _ := os.Hostname()
	for i := range a.cfg.localWorkers {
		dir, err := os.MkdirTemp(a.workDir, "worker-")
		if err != nil {
			return fmt.Errorf("cannot start local workers: %w", err)
		}
		wlog := a.log.With("local_worker", i)
		w, err := worker.New(worker.Options{Host: host, CPUs: runtime.NumCPU(), Version: version, Exe: a.exe, Dir: dir, Logger: wlog})
		if err != nil {
			return fmt.Errorf("cannot start local workers: %w", err)
		}
		d := rpc.NewDialer(a.workerAddr, wlog, a.cfg.sec.localDialOptions()...)
		wg.Go(func() {
			defer d.Close()
			if err := w.Run(ctx, d); err != nil {
				wlog.Error("local worker stopped", "err", err)
			}
		})
	}
	return nil
}

// startWeb serves the UI, API and /metrics on --web-listen, if there is one, until Close. Runs
// started from the UI stop when runCtx ends.
func (a *app) startWeb(runCtx context.Context) error {
	if a.cfg.webListen == "" {
		return nil
	}
	ctx, stop := context.WithCancel(context.Background())
	a.OnClose(stop)
	done, err := serveWeb(ctx, runCtx, a.cfg, a.core, a.reports.onRunEnd, a.p.Stderr, a.log)
	if err != nil {
		return cli.UsageError{Err: err}
	}
	a.webDone = done
	return nil
}

// runHeadless runs the run the flags describe, with a progress line every 2 s, then its reports.
// A failed run keeps its own error; a report that could not be written is said either way.
func (a *app) runHeadless(ctx context.Context) error {
	progressDone := make(chan struct{})
	go printProgress(a.p.Stderr, a.core, progressDone)
	res, runErr := a.core.Run(ctx, a.cfg.run)
	close(progressDone)
	runErr = judgeBaseline(a.cfg, res, runErr)
	reportErr := a.reports.report(res)
	if runErr == nil {
		return reportErr // the text summary and every other report are out
	}
	if reportErr != nil {
		fmt.Fprintln(a.p.Stderr, "stampede-master:", reportErr)
	}
	return runErr
}

// serveUI lets the web UI drive the runs until ctx ends; a run in progress then stops gracefully.
func (a *app) serveUI(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case err := <-a.webDone:
		return fmt.Errorf("the web server stopped: %w", err)
	}
	if err := a.core.Stop("the master is stopping"); err == nil {
		a.log.Info("waiting for the run to stop")
		a.core.WaitIdle(context.Background())
	}
	return nil
}

func scriptLogger(log *slog.Logger) func(int, protocol.LogLine) {
	return func(worker int, l protocol.LogLine) {
		lvl := slog.LevelInfo
		switch l.Level {
		case "debug":
			lvl = slog.LevelDebug
		case "warning", "warn":
			lvl = slog.LevelWarn
		case "error", "fatal":
			lvl = slog.LevelError
		}
		log.Log(context.Background(), lvl, l.Message, "worker", worker, "source", l.Source)
	}
}

// printProgress prints one line every 2 s while the run goes on, until done closes.
func printProgress(w io.Writer, core *master.Coordinator, done <-chan struct{}) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			p := core.Progress()
			if p.State != master.Running && p.State != master.Stopping {
				continue
			}
			fmt.Fprintf(w, "[%6s] %-8s users %d/%d  workers %d  %7.1f req/s  requests %d  failures %d  p95 %.1f ms\n",
				p.Elapsed.Round(time.Second), p.State, p.Users, p.Target, p.Workers, p.RPS, p.Requests, p.Failures, p.P95)
		}
	}
}
