// Command stampede-master coordinates Stampede workers: it validates a k6 script, splits the load over
// the workers, aggregates their stats and reports.
//
//	stampede-master -f script.js --local-workers 2                                  # web UI on :8089
//	stampede-master -f script.js --local-workers 2 --headless -u 50 -r 10 -t 30s   # swarm mode
//	stampede-master -f script.js --local-workers 2 --headless                       # script mode
//	stampede-master -f script.js --headless -u 10 -r 5 -t 20s --expect-workers 2     # remote workers
//
// `stampede-master k6 ...` runs the embedded k6 (the master inspects scripts this way).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/stampede-load/stampede/internal/api"
	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/report"
	"github.com/stampede-load/stampede/internal/rpc"
	"github.com/stampede-load/stampede/internal/stats"
	buildinfo "github.com/stampede-load/stampede/internal/version"
	"github.com/stampede-load/stampede/internal/worker"
	"github.com/stampede-load/stampede/scenario"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, documented in README.md.
const (
	exitOK             = 0
	exitInternal       = 1
	exitUsage          = 2
	exitScriptNotFound = 3
	exitScriptError    = 4
	exitModuleNotFound = 5
	exitInvalidOptions = 6
	exitWorkersTimeout = 7
	exitWorkersLost    = 8
	exitSetupFailed    = 9
	exitScriptAborted  = 10
	exitThresholdAbort = 11
	exitWorkersPartial = 12
	exitTeardown       = 13
	exitReports        = 14
	exitThresholds     = 99
	exitInterrupted    = 130
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == k6run.Subcommand {
		k6run.Exec(os.Args[2:])
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	script        string
	headless      bool
	users         int64
	spawnRate     float64
	runTime       time.Duration
	localWorkers  int
	expectWorkers int
	expectTimeout time.Duration
	masterBind    string
	webListen     string
	maxNames      int
	bundleLimits  scenario.Limits
	env           cli.KeyValues
	summaryJSON   string
	csvPrefix     string
	junit         string
	html          string
	summaryMD     string
	thresholds    cli.Strings
	baseline      string
	maxRegression string
	// Kubernetes: the worker Deployment the master scales, and the HPAs it watches.
	kubeconfig        string
	kubeDeployment    string
	kubeNamespace     string
	kubeWorkers       int
	kubeIdleWorkers   int
	kubeMaxWorkers    int
	watchHPA          cli.Strings
	watchHPASelector  string
	watchHPANamespace string

	parsedThresholds []*stats.Threshold
	budgets          []report.Budget
	base             *api.Summary
	workDir          string
	k6Binary         string
	initTimeout      time.Duration
	logLevel         string
	version          bool
	sec              securityConfig
	limits           limitsConfig
}

func parse(args []string, stderr io.Writer) (*config, error) {
	c := &config{env: cli.KeyValues{}}
	fs := flag.NewFlagSet("stampede-master", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.script, "f", "", "the k6 script to run (shorthand)")
	fs.StringVar(&c.script, "script", "", "the k6 script to run")
	fs.BoolVar(&c.headless, "headless", false, "run at once without the web UI, print a summary and exit with the run's code")
	fs.Int64Var(&c.users, "u", 0, "users (shorthand)")
	fs.Int64Var(&c.users, "users", 0, "swarm mode: run the script's default function with this many users; 0 runs the script's own scenarios")
	fs.Float64Var(&c.spawnRate, "r", 0, "spawn rate (shorthand)")
	fs.Float64Var(&c.spawnRate, "spawn-rate", 0, "users started per second across all workers (0: all at once)")
	fs.DurationVar(&c.runTime, "t", 0, "run time (shorthand)")
	fs.DurationVar(&c.runTime, "run-time", 0, "stop after this long (e.g. 30s, 5m); swarm mode runs until interrupted without it")
	fs.IntVar(&c.localWorkers, "local-workers", 0, "start this many workers inside the master process")
	fs.IntVar(&c.expectWorkers, "expect-workers", 0, "wait for this many workers before starting (default: --local-workers, at least 1)")
	fs.DurationVar(&c.expectTimeout, "expect-workers-timeout", time.Minute, "give up when the workers have not connected after this long")
	fs.StringVar(&c.masterBind, "master-bind", "0.0.0.0:5557", "address the master listens on for workers")
	fs.StringVar(&c.webListen, "web-listen", "", "address of the web UI, API and /metrics (default 127.0.0.1:8089; with --headless only when given)")
	fs.IntVar(&c.maxNames, "max-names", master.DefaultNameCap, "most request names (name + method) a run keeps; further ones are counted in one \"(other)\" row")
	fs.IntVar(&c.bundleLimits.Files, "max-bundle-files", scenario.DefaultLimits.Files, "most files in a script bundle (entry, imports, open()ed files); see docs/limits.md")
	fs.Int64Var(&c.bundleLimits.Bytes, "max-bundle-bytes", scenario.DefaultLimits.Bytes, "most bytes in a script bundle, all files together (at most 104857600)")
	fs.Var(c.env, "env", "KEY=VALUE for the script's __ENV (repeatable)")
	fs.Var(c.env, "e", "KEY=VALUE for the script's __ENV (shorthand)")
	fs.StringVar(&c.summaryJSON, "summary-json", "", "write the JSON summary to this file")
	fs.StringVar(&c.junit, "junit", "", "write a JUnit XML report (one testcase per threshold) to this file")
	fs.StringVar(&c.html, "html", "", "write a self-contained HTML report with charts to this file")
	fs.StringVar(&c.summaryMD, "summary-md", "", "write a Markdown summary (for CI job summaries) to this file")
	fs.Var(&c.thresholds, "threshold", "a threshold judged on the fleet's merged data, k6 syntax: 'http_req_duration{name:login}: p(95)<300' (repeatable)")
	fs.StringVar(&c.baseline, "baseline", "", "a JSON summary of an earlier run (--summary-json) to compare with; see --max-regression")
	fs.StringVar(&c.maxRegression, "max-regression", "p(95)=10%,http_req_failed=+0.5%", "how much worse than --baseline the run may get, e.g. 'p(95)=10%,avg=+20ms,http_req_failed=+0.5%,rps=-10%'")
	fs.StringVar(&c.csvPrefix, "csv", "", "write Locust-style CSV files PREFIX_stats.csv, PREFIX_stats_history.csv and PREFIX_failures.csv")
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig for --kube-deployment and --watch-hpa (default: the pod's service account, else $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&c.kubeDeployment, "kube-deployment", "", "the worker Deployment to scale for runs that ask for workers (--kube-workers, or workers in the UI and API)")
	fs.StringVar(&c.kubeNamespace, "kube-namespace", "", "the namespace of --kube-deployment (default: the pod's, or the kubeconfig's)")
	fs.IntVar(&c.kubeWorkers, "kube-workers", 0, "scale --kube-deployment to this many workers for the run and wait for them (UI: the start form's default)")
	fs.IntVar(&c.kubeIdleWorkers, "kube-idle-workers", -1, "scale --kube-deployment back to this many workers when a run ends (-1: leave it)")
	fs.IntVar(&c.kubeMaxWorkers, "kube-max-workers", master.DefaultMaxWorkers, "the most workers a run may ask for")
	fs.Var(&c.watchHPA, "watch-hpa", "a HorizontalPodAutoscaler of the system under test to record every second: hpa_replicas{hpa:NAME} and more (repeatable, or comma-separated)")
	fs.StringVar(&c.watchHPASelector, "watch-hpa-selector", "", "watch the HPAs matching this label selector, e.g. 'app=web'")
	fs.StringVar(&c.watchHPANamespace, "watch-hpa-namespace", "", "the namespace of the watched HPAs (default: --kube-namespace's default)")
	fs.StringVar(&c.workDir, "work-dir", "", "directory for temporary files (default: a new temporary directory)")
	fs.StringVar(&c.k6Binary, "k6-binary", "", k6BinaryUsage)
	fs.DurationVar(&c.initTimeout, "init-timeout", master.DefaultInitTimeout, "how long the script's init code may take when the master validates it before a run")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	c.sec.flags(fs)
	c.limits.flags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := cli.ApplyEnv(fs, os.LookupEnv); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (the script goes after -f)", fs.Arg(0))
	}
	return c, c.validate()
}

func (c *config) validate() error {
	switch {
	case c.version:
		return nil
	case c.script == "":
		return errors.New("no script: pass -f script.js")
	case c.users < 0:
		return fmt.Errorf("--users %d: must be 0 (script mode) or more", c.users)
	case c.spawnRate < 0:
		return fmt.Errorf("--spawn-rate %g: must not be negative", c.spawnRate)
	case c.runTime < 0:
		return fmt.Errorf("--run-time %s: must not be negative", c.runTime)
	case c.localWorkers < 0 || c.expectWorkers < 0:
		return errors.New("--local-workers and --expect-workers must not be negative")
	case c.maxNames < 1:
		return fmt.Errorf("--max-names %d: must be at least 1", c.maxNames)
	case c.bundleLimits.Validate() != nil:
		return fmt.Errorf("--max-bundle-files/--max-bundle-bytes: %w", c.bundleLimits.Validate())
	case c.kubeMaxWorkers < 1:
		return fmt.Errorf("--kube-max-workers %d: must be at least 1", c.kubeMaxWorkers)
	case c.kubeWorkers < 0 || c.kubeWorkers > c.kubeMaxWorkers:
		return fmt.Errorf("--kube-workers %d: must be between 0 and --kube-max-workers (%d)", c.kubeWorkers, c.kubeMaxWorkers)
	case c.kubeIdleWorkers < -1 || c.kubeIdleWorkers > c.kubeMaxWorkers:
		return fmt.Errorf("--kube-idle-workers %d: must be -1 (leave it) or between 0 and --kube-max-workers (%d)", c.kubeIdleWorkers, c.kubeMaxWorkers)
	case (c.kubeWorkers > 0 || c.kubeIdleWorkers >= 0) && c.kubeDeployment == "":
		return errors.New("--kube-workers and --kube-idle-workers need --kube-deployment, the worker Deployment to scale")
	case c.kubeWorkers > 0 && c.localWorkers > 0:
		return errors.New("--kube-workers scales a Deployment of workers; it does not mix with --local-workers")
	}
	if err := c.limits.validate(); err != nil {
		return err
	}
	c.watchHPA = hpaNames(c.watchHPA)
	for _, t := range c.thresholds {
		th, err := stats.ParseCLIThreshold(t)
		if err != nil {
			return fmt.Errorf("--threshold %q: %w", t, err)
		}
		c.parsedThresholds = append(c.parsedThresholds, th)
	}
	if c.baseline != "" {
		var err error
		if c.budgets, err = report.ParseBudgets(c.maxRegression); err != nil {
			return fmt.Errorf("--max-regression: %w", err)
		}
		if c.base, err = report.ReadSummary(c.baseline); err != nil {
			return fmt.Errorf("--baseline: %w", err)
		}
	}
	if !c.headless && c.webListen == "" {
		c.webListen = "127.0.0.1:8089"
	}
	return c.sec.load(c.webListen, c.localWorkers)
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "stampede-master:", err)
		return exitUsage
	}
	if cfg.version {
		fmt.Fprint(stdout, buildinfo.Get(version).String("stampede-master"))
		return exitOK
	}
	log, err := cli.NewLogger(stderr, cfg.logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "stampede-master:", err)
		return exitUsage
	}
	reports := cfg.reportFiles()
	if err := checkReports(reports); err != nil {
		fmt.Fprintln(stderr, "stampede-master:", err)
		return exitUsage
	}
	exe := cfg.k6Binary
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			log.Error("cannot find my own binary (name it with --k6-binary)", "err", err)
			return exitInternal
		}
	}
	if cfg.workDir == "" {
		if cfg.workDir, err = os.MkdirTemp("", "stampede-master-"); err != nil {
			log.Error("cannot create a work directory", "err", err)
			return exitInternal
		}
		defer os.RemoveAll(cfg.workDir)
	}

	// First signal: stop the run gracefully (teardown, summary). Second: exit at once.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		<-sigs
		log.Warn("interrupted: stopping any run and exiting (press Ctrl+C again to quit at once)")
		cancel()
		<-sigs
		os.Exit(exitInterrupted)
	}()

	kp, err := newKube(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "stampede-master:", err)
		return exitUsage
	}
	core, err := master.New(master.Options{Loader: loader{exe: exe}, WorkDir: cfg.workDir, InitTimeout: cfg.initTimeout, Version: version,
		Logger: log, ScriptLog: scriptLogger(log), NameCap: cfg.maxNames, BundleLimits: cfg.bundleLimits,
		Fleet: kp.fleet, IdleWorkers: cfg.kubeIdleWorkers, MaxWorkers: cfg.kubeMaxWorkers, Gauges: kp.gauges,
		MaxUsers: cfg.limits.maxUsers, MaxWorkerVUs: cfg.limits.maxWorkerVUs})
	if err != nil {
		log.Error("invalid options", "err", err)
		return exitInternal
	}
	defer core.Close()
	if kp.fleet != nil && cfg.kubeIdleWorkers >= 0 {
		// Level-based from the start: a master that died mid-run left the workers scaled up.
		kp.fleet.SetDesired(cfg.kubeIdleWorkers)
	}
	kubeCtx, stopKube := context.WithCancel(context.Background())
	kubeDone := kp.start(kubeCtx)
	defer func() {
		kp.settle(10*time.Second, log) // the last run's scale-down reaches the API server
		stopKube()
		<-kubeDone
	}()
	lis, err := net.Listen("tcp", cfg.masterBind)
	if err != nil {
		fmt.Fprintf(stderr, "stampede-master: cannot listen for workers on %s: %v (choose another with --master-bind)\n", cfg.masterBind, err)
		return exitUsage
	}
	srv := rpc.NewServer(core, log, cfg.sec.serverOptions()...)
	workerLis := cfg.limits.workerListener(lis, log) // before the UI's line: a lowered limit is logged first
	go func() { _ = srv.Serve(workerLis) }()
	defer srv.Stop()
	log.Info("listening for workers", "addr", lis.Addr().String())

	workersCtx, stopWorkers := context.WithCancel(context.Background())
	var workersWG sync.WaitGroup
	defer func() {
		stopWorkers()
		workersWG.Wait() // no k6 child outlives the master
	}()
	if err := startLocalWorkers(workersCtx, &workersWG, cfg, exe, cli.DialAddr(lis.Addr(), cfg.masterBind), log); err != nil {
		log.Error("cannot start local workers", "err", err)
		return exitInternal
	}

	expect := cfg.expectWorkers
	if expect == 0 {
		expect = max(cfg.localWorkers, 1)
	}
	template := master.RunConfig{Script: cfg.script, Users: cfg.users, SpawnRate: cfg.spawnRate,
		RunTime: cfg.runTime, Env: cfg.env, ExpectWorkers: expect, ExpectTimeout: cfg.expectTimeout,
		Thresholds: cfg.parsedThresholds, Workers: cfg.kubeWorkers}
	// Reports of every run: a headless run's, and each run started from the UI.
	reportRun := func(res *master.Result, runErr error) error {
		if res == nil {
			return nil
		}
		if !res.Started.IsZero() {
			handled, err := handleSummary(context.Background(), exe, cfg.workDir, res, cfg.env, stdout, stderr)
			if err != nil {
				fmt.Fprintf(stderr, "stampede-master: %v; the summary below is Stampede's own\n", err)
			}
			if !handled {
				if err := report.WriteText(stdout, res); err != nil {
					log.Error("writing the summary", "err", err)
				}
			}
		}
		err := writeReports(reports, res)
		if err != nil {
			fmt.Fprintln(stderr, "stampede-master:", err)
		}
		return err
	}

	webCtx, stopWeb := context.WithCancel(context.Background())
	defer stopWeb()
	var webDone <-chan error
	if cfg.webListen != "" {
		if webDone, err = serveWeb(webCtx, ctx, cfg, template, core, reportRun, stderr, log); err != nil {
			fmt.Fprintln(stderr, "stampede-master:", err)
			return exitUsage
		}
	}

	if !cfg.headless {
		// The UI drives the runs until the first signal; a run in progress then stops gracefully.
		select {
		case <-ctx.Done():
		case err := <-webDone:
			log.Error("the web server stopped", "err", err)
			return exitInternal
		}
		if err := core.Stop("the master is stopping"); err == nil {
			log.Info("waiting for the run to stop")
			core.WaitIdle(context.Background())
		}
		return exitOK
	}

	progressDone := make(chan struct{})
	go printProgress(ctx, stderr, core, progressDone)
	res, runErr := core.Run(ctx, template)
	close(progressDone)
	runErr = judgeBaseline(cfg, res, runErr)
	if err := reportRun(res, runErr); err != nil && runErr == nil {
		return exitReports // the text summary and every other report are out
	}
	if runErr != nil {
		fmt.Fprintln(stderr, "stampede-master:", runErr)
	}
	return exitCode(runErr)
}

func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, master.ErrBadSettings): // over a limit: checked before anything starts
		return exitUsage
	case errors.Is(err, master.ErrScriptNotFound):
		return exitScriptNotFound
	case errors.Is(err, master.ErrModuleNotFound):
		return exitModuleNotFound
	case errors.Is(err, master.ErrInvalidOptions):
		return exitInvalidOptions
	case errors.Is(err, master.ErrScriptError):
		return exitScriptError
	case errors.Is(err, master.ErrWorkersTimeout):
		return exitWorkersTimeout
	case errors.Is(err, master.ErrWorkersLost):
		return exitWorkersLost
	case errors.Is(err, master.ErrWorkersPartial):
		return exitWorkersPartial
	case errors.Is(err, master.ErrSetupFailed):
		return exitSetupFailed
	case errors.Is(err, master.ErrTeardownFailed):
		return exitTeardown
	case errors.Is(err, master.ErrScriptAborted):
		return exitScriptAborted
	case errors.Is(err, master.ErrInterrupted):
		return exitInterrupted
	case errors.Is(err, master.ErrThresholdAborted):
		return exitThresholdAbort
	case errors.Is(err, master.ErrThresholdsFailed):
		return exitThresholds
	default:
		return exitInternal
	}
}

// k6BinaryUsage documents --k6-binary, which the worker has too. It exists for user-mode emulation
// without binfmt_misc: qemu-aarch64-static runs this binary, and os.Executable names it (qemu
// answers /proc/self/exe with the emulated program), but the kernel cannot start that binary
// itself ("exec format error"), so the child must go through the emulator again.
const k6BinaryUsage = "the program each k6 child runs: it is called with \"k6 run ...\" or \"k6 inspect ...\" " +
	"(default: this binary; a script that runs this binary under an emulator such as qemu-aarch64-static, or under nice or taskset, works too)"

func startLocalWorkers(ctx context.Context, wg *sync.WaitGroup, cfg *config, exe, addr string, log *slog.Logger) error {
	host, _ := os.Hostname()
	for i := range cfg.localWorkers {
		dir, err := os.MkdirTemp(cfg.workDir, "worker-")
		if err != nil {
			return err
		}
		wlog := log.With("local_worker", i)
		w, err := worker.New(worker.Options{Host: host, CPUs: runtime.NumCPU(), Version: version, Exe: exe, Dir: dir, Logger: wlog})
		if err != nil {
			return err
		}
		d := rpc.NewDialer(addr, wlog, cfg.sec.localDialOptions()...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer d.Close()
			if err := w.Run(ctx, d); err != nil {
				wlog.Error("local worker stopped", "err", err)
			}
		}()
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

// printProgress prints one line every 2 s while the run goes on.
func printProgress(ctx context.Context, w io.Writer, core *master.Coordinator, done <-chan struct{}) {
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
