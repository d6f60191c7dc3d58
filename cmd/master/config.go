package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/api"
	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/report"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// config is the command line, checked: parse makes it.
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
	tags          cli.List
	excludeTags   cli.List
	classWeights  string
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
	workDir           string
	k6Binary          string
	initTimeout       time.Duration
	logLevel          string
	version           bool
	sec               securityConfig
	limits            limitsConfig

	// What validate derives from the flags. run is the run they describe: the headless run, or the
	// template of the runs started from the UI.
	run     master.RunConfig
	budgets []report.Budget
	base    *api.Summary
}

// parse reads the command line and, for each flag not on it, its STAMPEDE_<FLAG> variable, and
// validates the result. Usage and the flag package's errors go to p.Stderr.
func parse(p cli.Process) (*config, error) {
	c := &config{env: cli.KeyValues{}}
	fs := flag.NewFlagSet("stampede-master", flag.ContinueOnError)
	fs.SetOutput(p.Stderr)
	c.flags(fs)
	if err := cli.Parse(fs, p.Args, p.LookupEnv, "the script goes after -f"); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, cli.UsageError{Err: err}
	}
	return c, nil
}

func (c *config) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.script, "f", "", "the k6 script to run (shorthand)")
	fs.StringVar(&c.script, "script", "", "the k6 script to run")
	fs.BoolVar(&c.headless, "headless", false, "run at once without the web UI, print a summary and exit with the run's code")
	fs.Int64Var(&c.users, "u", 0, "users (shorthand)")
	fs.Int64Var(&c.users, "users", 0, "swarm mode: run the script's default function with this many users; 0 runs the script's own scenarios")
	fs.Float64Var(&c.spawnRate, "r", 0, "spawn rate (shorthand)")
	fs.Float64Var(&c.spawnRate, "spawn-rate", 0, "users started per second across all workers (0: all at once)")
	fs.DurationVar(&c.runTime, "t", 0, "run time (shorthand)")
	fs.DurationVar(&c.runTime, "run-time", 0, "stop after this long (e.g. 30s, 5m); swarm mode runs until interrupted without it")
	fs.Var(&c.tags, "tags", "run only the user classes with one of these tags (comma-separated or repeatable, as Locust's --tags; docs/locust.md)")
	fs.Var(&c.excludeTags, "exclude-tags", "never run the user classes with one of these tags (comma-separated or repeatable)")
	fs.StringVar(&c.classWeights, "class-weights", "", "user-class weights in place of the script's, e.g. 'browse=3,buy=1'")
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
}

// validate checks the flags, alone and together, and reads the files they name. The run's own
// settings are master.RunConfig.Validate's to check, as for runs started from the API.
func (c *config) validate() error {
	if c.version {
		return nil
	}
	weights, err := parseWeights(c.classWeights)
	if err != nil {
		return err
	}
	c.run = c.runConfig()
	c.run.ClassWeights = weights
	if err := c.run.Validate(); err != nil {
		return flagError(err)
	}
	if err := c.checkMaster(); err != nil {
		return err
	}
	if err := c.limits.validate(); err != nil {
		return err
	}
	if !c.headless && c.webListen == "" {
		c.webListen = "127.0.0.1:8089"
	}
	return c.load()
}

// runConfig is the run the flags describe. Without --expect-workers it waits for the local
// workers, or for one.
func (c *config) runConfig() master.RunConfig {
	expect := c.expectWorkers
	if expect == 0 {
		expect = max(c.localWorkers, 1)
	}
	return master.RunConfig{Script: c.script, Users: c.users, SpawnRate: c.spawnRate, RunTime: c.runTime, Env: c.env,
		ExpectWorkers: expect, ExpectTimeout: c.expectTimeout, Workers: c.kubeWorkers,
		Tags: c.tags, ExcludeTags: c.excludeTags}
}

// parseWeights reads --class-weights: NAME=WEIGHT pairs, comma-separated (nil when empty).
func parseWeights(s string) (map[string]int64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]int64{}
	for _, pair := range strings.Split(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(pair), "=")
		n, err := strconv.ParseInt(strings.TrimSpace(w), 10, 64)
		name = strings.TrimSpace(name)
		if !ok || name == "" || err != nil || n < 0 {
			return nil, fmt.Errorf("--class-weights %q: want CLASS=WEIGHT pairs, comma-separated, each weight a whole number 0 or more (e.g. browse=3,buy=1)", s)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("--class-weights %q: class %q is given twice", s, name)
		}
		out[name] = n
	}
	return out, nil
}

// settingFlags names the flag of each run setting (master.SettingError's Field).
var settingFlags = map[string]string{
	"script": "-f", "users": "--users", "spawn_rate": "--spawn-rate", "run_time": "--run-time", "env": "--env",
	"class_weights": "--class-weights", "tags": "--tags", "exclude_tags": "--exclude-tags", "expect_workers": "--expect-workers", "expect_timeout": "--expect-workers-timeout", "workers": "--kube-workers",
}

// flagError restates a refused run setting with its flag: "--spawn-rate -1: must be ...".
func flagError(err error) error {
	var se *master.SettingError
	if !errors.As(err, &se) {
		return err
	}
	name, ok := settingFlags[se.Field]
	switch {
	case !ok:
		return err
	case se.Value == "":
		return fmt.Errorf("%s: %s", name, se.Problem)
	}
	return fmt.Errorf("%s %s: %s", name, se.Value, se.Problem)
}

// checkMaster checks the flags that configure the master rather than a run.
func (c *config) checkMaster() error {
	switch {
	case c.localWorkers < 0:
		return fmt.Errorf("--local-workers %d: must not be negative", c.localWorkers)
	case c.maxNames < 1:
		return fmt.Errorf("--max-names %d: must be at least 1", c.maxNames)
	case c.bundleLimits.Validate() != nil:
		return fmt.Errorf("--max-bundle-files/--max-bundle-bytes: %w", c.bundleLimits.Validate())
	case c.kubeMaxWorkers < 1:
		return fmt.Errorf("--kube-max-workers %d: must be at least 1", c.kubeMaxWorkers)
	case c.kubeWorkers > c.kubeMaxWorkers:
		return fmt.Errorf("--kube-workers %d: must be between 0 and --kube-max-workers (%d)", c.kubeWorkers, c.kubeMaxWorkers)
	case c.kubeIdleWorkers < -1 || c.kubeIdleWorkers > c.kubeMaxWorkers:
		return fmt.Errorf("--kube-idle-workers %d: must be -1 (leave it) or between 0 and --kube-max-workers (%d)", c.kubeIdleWorkers, c.kubeMaxWorkers)
	case (c.kubeWorkers > 0 || c.kubeIdleWorkers >= 0) && c.kubeDeployment == "":
		return errors.New("--kube-workers and --kube-idle-workers need --kube-deployment, the worker Deployment to scale")
	case c.kubeWorkers > 0 && c.localWorkers > 0:
		return errors.New("--kube-workers scales a Deployment of workers; it does not mix with --local-workers")
	}
	return nil
}

// load parses the thresholds and the regression budgets, and reads the baseline, the secrets and the
// certificates the flags name.
func (c *config) load() error {
	c.watchHPA = hpaNames(c.watchHPA)
	for _, t := range c.thresholds {
		th, err := stats.ParseCLIThreshold(t)
		if err != nil {
			return fmt.Errorf("--threshold %q: %w", t, err)
		}
		c.run.Thresholds = append(c.run.Thresholds, th)
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
	return c.sec.load(c.webListen, c.localWorkers)
}

// k6BinaryUsage documents --k6-binary, which the worker has too. It exists for user-mode emulation
// without binfmt_misc: qemu-aarch64-static runs this binary, and os.Executable names it (qemu
// answers /proc/self/exe with the emulated program), but the kernel cannot start that binary
// itself ("exec format error"), so the child must go through the emulator again.
const k6BinaryUsage = "the program each k6 child runs: it is called with \"k6 run ...\" or \"k6 inspect ...\" " +
	"(default: this binary; a script that runs this binary under an emulator such as qemu-aarch64-static, or under nice or taskset, works too)"
