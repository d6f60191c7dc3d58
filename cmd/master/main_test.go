package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/cli/clitest"
	"github.com/stampede-load/stampede/internal/master"
)

// fakeExe stands for the master's own binary: no test here gets as far as starting k6.
func fakeExe() (string, error) { return "/nonexistent/stampede-master", nil }

// runCmd runs the command as main would, with environ as its environment, and returns its exit code
// and output.
func runCmd(ctx context.Context, environ []string, args ...string) (code int, stdout, stderr *clitest.Output) {
	stdout, stderr = &clitest.Output{}, &clitest.Output{}
	code = run(ctx, cli.Process{Args: args, Stdout: stdout, Stderr: stderr, Environ: environ, Executable: fakeExe})
	return code, stdout, stderr
}

func TestParseFlagsAndEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		environ []string
		check   func(*config) string // what is wrong with the config, "" if nothing
	}{
		{"defaults", []string{"-f", "s.js"}, nil, func(c *config) string {
			want := master.RunConfig{Script: "s.js", Env: map[string]string{}, ExpectWorkers: 1, ExpectTimeout: time.Minute}
			switch {
			case fmt.Sprint(c.run) != fmt.Sprint(want):
				return fmt.Sprintf("run %+v, want %+v", c.run, want)
			case c.masterBind != "0.0.0.0:5557" || c.webListen != "127.0.0.1:8089":
				return fmt.Sprintf("master bind %q, web listen %q", c.masterBind, c.webListen)
			case c.maxNames != master.DefaultNameCap || c.kubeIdleWorkers != -1 || c.kubeMaxWorkers != master.DefaultMaxWorkers:
				return fmt.Sprintf("max names %d, kube idle %d, kube max %d", c.maxNames, c.kubeIdleWorkers, c.kubeMaxWorkers)
			case c.limits.maxUsers != master.DefaultMaxUsers || c.logLevel != "info":
				return fmt.Sprintf("max users %d, log level %q", c.limits.maxUsers, c.logLevel)
			}
			return ""
		}},
		{"headless: no web UI unless asked", []string{"-f", "s.js", "--headless"}, nil, func(c *config) string {
			return clitest.Want(c.webListen == "", "web listen %q, want none", c.webListen)
		}},
		{"short flags", []string{"-f", "s.js", "-u", "5", "-r", "2.5", "-t", "30s", "-e", "A=1", "-e", "B=x=y"}, nil, func(c *config) string {
			r := c.run
			return clitest.Want(r.Users == 5 && r.SpawnRate == 2.5 && r.RunTime == 30*time.Second && r.Env["A"] == "1" && r.Env["B"] == "x=y",
				"run %+v", r)
		}},
		{"long flags", []string{"--script", "s.js", "--users", "5", "--spawn-rate", "2.5", "--run-time", "30s", "--env", "A=1"}, nil,
			func(c *config) string {
				r := c.run
				return clitest.Want(r.Script == "s.js" && r.Users == 5 && r.SpawnRate == 2.5 && r.RunTime == 30*time.Second && r.Env["A"] == "1",
					"run %+v", r)
			}},
		{"every run setting from the environment", nil, []string{"STAMPEDE_SCRIPT=s.js", "STAMPEDE_USERS=7", "STAMPEDE_SPAWN_RATE=1.5",
			"STAMPEDE_RUN_TIME=1m", "STAMPEDE_ENV=A=1", "STAMPEDE_EXPECT_WORKERS=3", "STAMPEDE_EXPECT_WORKERS_TIMEOUT=5s",
			"STAMPEDE_THRESHOLD=http_req_failed: rate<0.01\nhttp_req_duration{name:a,method:GET}: p(95)<300"}, func(c *config) string {
			r := c.run
			return clitest.Want(r.Script == "s.js" && r.Users == 7 && r.SpawnRate == 1.5 && r.RunTime == time.Minute && r.Env["A"] == "1" &&
				r.ExpectWorkers == 3 && r.ExpectTimeout == 5*time.Second && len(r.Thresholds) == 2, "run %+v", r)
		}},
		{"master settings from the environment", []string{"-f", "s.js"}, []string{"STAMPEDE_HEADLESS=true", "STAMPEDE_MASTER_BIND=127.0.0.1:1",
			"STAMPEDE_MAX_USERS=10", "STAMPEDE_MAX_NAMES=5", "STAMPEDE_WATCH_HPA=a,b\nc", "STAMPEDE_LOG_LEVEL=debug"}, func(c *config) string {
			return clitest.Want(c.headless && c.masterBind == "127.0.0.1:1" && c.limits.maxUsers == 10 && c.maxNames == 5 &&
				slices.Equal(c.watchHPA, []string{"a", "b", "c"}) && c.logLevel == "debug",
				"headless %v, bind %q, max users %d, max names %d, watch HPA %q, log level %q",
				c.headless, c.masterBind, c.limits.maxUsers, c.maxNames, c.watchHPA, c.logLevel)
		}},
		{"a token from the environment opens the web UI to the network", []string{"-f", "s.js", "--web-listen", "0.0.0.0:8089"},
			[]string{"STAMPEDE_WEB_TOKEN=secret"}, func(c *config) string {
				return clitest.Want(c.sec.webAuth.Token == "secret", "web token %q", c.sec.webAuth.Token)
			}},
		{"an explicit flag wins over the environment", []string{"-f", "s.js", "--users", "3", "-r", "1"},
			[]string{"STAMPEDE_USERS=7", "STAMPEDE_SPAWN_RATE=9"}, func(c *config) string {
				return clitest.Want(c.run.Users == 3 && c.run.SpawnRate == 1, "users %d, spawn rate %g; want the flags' 3 and 1", c.run.Users, c.run.SpawnRate)
			}},
		{"single-letter flags have no variable", []string{"-f", "s.js"}, []string{"STAMPEDE_U=7", "STAMPEDE_F=other.js"}, func(c *config) string {
			return clitest.Want(c.run.Users == 0 && c.run.Script == "s.js", "users %d, script %q", c.run.Users, c.run.Script)
		}},
		{"the workers waited for: the local ones", []string{"-f", "s.js", "--local-workers", "3"}, nil, func(c *config) string {
			return clitest.Want(c.run.ExpectWorkers == 3, "expect workers %d, want 3", c.run.ExpectWorkers)
		}},
		{"the workers waited for: as asked", []string{"-f", "s.js", "--local-workers", "3", "--expect-workers", "5"}, nil, func(c *config) string {
			return clitest.Want(c.run.ExpectWorkers == 5, "expect workers %d, want 5", c.run.ExpectWorkers)
		}},
		{"user classes: tags, comma-separated or repeated, and weights", []string{"-f", "s.js", "-u", "4", "--tags", "read,write",
			"--tags", "admin", "--exclude-tags", "slow", "--class-weights", "browse=3, buy=1"}, nil, func(c *config) string {
			r := c.run
			return clitest.Want(slices.Equal(r.Tags, []string{"read", "write", "admin"}) && slices.Equal(r.ExcludeTags, []string{"slow"}) &&
				maps.Equal(r.ClassWeights, map[string]int64{"browse": 3, "buy": 1}), "tags %q, exclude %q, weights %v", r.Tags, r.ExcludeTags, r.ClassWeights)
		}},
		{"user classes from the environment", []string{"-f", "s.js"}, []string{"STAMPEDE_TAGS=read,write", "STAMPEDE_CLASS_WEIGHTS=a=1"},
			func(c *config) string {
				r := c.run
				return clitest.Want(slices.Equal(r.Tags, []string{"read", "write"}) && maps.Equal(r.ClassWeights, map[string]int64{"a": 1}),
					"tags %q, weights %v", r.Tags, r.ClassWeights)
			}},
		{"kube workers", []string{"-f", "s.js", "--kube-deployment", "w", "--kube-workers", "4", "--kube-idle-workers", "0"}, nil,
			func(c *config) string {
				return clitest.Want(c.run.Workers == 4 && c.kubeIdleWorkers == 0, "workers %d, idle %d", c.run.Workers, c.kubeIdleWorkers)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clitest.CheckParse(t, parse, tt.args, tt.environ, tt.check)
		})
	}
}

// Every bad command line exits 2 before anything starts, with one line that names the flag.
func TestBadCommandLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() })
	script := []string{"-f", "s.js", "--headless", "--work-dir", dir}
	tests := []struct {
		name    string
		args    []string
		environ []string
		message string // the line stderr ends with, after "stampede-master: "
	}{
		{"no script", []string{"--headless"}, nil, "-f: no script given"},
		{"the -f of STAMPEDE_F is not a variable", []string{"--headless"}, []string{"STAMPEDE_F=s.js"}, "-f: no script given"},
		{"a stray argument", []string{"--headless", "s.js"}, nil, `unexpected argument "s.js" (the script goes after -f)`},
		{"unknown flag", []string{"-f", "s.js", "--nope"}, nil, "flag provided but not defined: -nope"},
		{"not a number", []string{"-f", "s.js", "-u", "ten"}, nil, `invalid value "ten" for flag -u: parse error`},
		{"a bad variable", []string{"-f", "s.js"}, []string{"STAMPEDE_USERS=many"}, `STAMPEDE_USERS="many": parse error`},
		{"negative users", []string{"-f", "s.js", "-u", "-5"}, nil, "--users -5: must be 0 (script mode) or more"},
		{"negative spawn rate", []string{"-f", "s.js", "-r", "-1"}, nil, "--spawn-rate -1: must be a number, 0 or more (0 starts every user at once)"},
		{"spawn rate not a number", []string{"-f", "s.js", "-r", "NaN"}, nil, "--spawn-rate NaN: must be a number, 0 or more (0 starts every user at once)"},
		{"negative run time", []string{"-f", "s.js", "-t", "-1s"}, nil, "--run-time -1s: must not be negative (0 sets no limit)"},
		{"negative run time from the environment", []string{"-f", "s.js"}, []string{"STAMPEDE_RUN_TIME=-1m"},
			"--run-time -1m0s: must not be negative (0 sets no limit)"},
		{"negative expected workers", []string{"-f", "s.js", "--expect-workers", "-1"}, nil, "--expect-workers -1: must not be negative"},
		{"negative expect timeout", []string{"-f", "s.js", "--expect-workers-timeout", "-1s"}, nil, "--expect-workers-timeout -1s: must not be negative"},
		{"negative local workers", []string{"-f", "s.js", "--local-workers", "-1"}, nil, "--local-workers -1: must not be negative"},
		{"no request names", []string{"-f", "s.js", "--max-names", "0"}, nil, "--max-names 0: must be at least 1"},
		{"no bundle files", []string{"-f", "s.js", "--max-bundle-files", "0"}, nil,
			"--max-bundle-files/--max-bundle-bytes: bundle file limit 0: must be 1..",
		},
		{"no users allowed", []string{"-f", "s.js", "--max-users", "0"}, nil, "--max-users 0: must be at least 1"},
		{"no worker connections", []string{"-f", "s.js", "--max-worker-connections", "0"}, nil, "--max-worker-connections 0: must be at least 1"},
		{"an environment too large for k6", []string{"-f", "s.js", "-e", "BIG=" + strings.Repeat("x", master.MaxEnvEntryBytes)}, nil,
			"invalid run settings: env BIG: KEY=VALUE is "},
		{"class weights not pairs", []string{"-f", "s.js", "--class-weights", "browse"}, nil,
			`--class-weights "browse": want CLASS=WEIGHT pairs, comma-separated, each weight a whole number 0 or more (e.g. browse=3,buy=1)`},
		{"a negative class weight", []string{"-f", "s.js", "--class-weights", "browse=-1"}, nil, `--class-weights "browse=-1": want CLASS=WEIGHT pairs`},
		{"a class weighed twice", []string{"-f", "s.js", "--class-weights", "a=1,a=2"}, nil, `--class-weights "a=1,a=2": class "a" is given twice`},
		{"no kube workers allowed", []string{"-f", "s.js", "--kube-max-workers", "0"}, nil, "--kube-max-workers 0: must be at least 1"},
		{"negative kube workers", []string{"-f", "s.js", "--kube-workers", "-1"}, nil,
			"--kube-workers -1: must not be negative (0 runs on the workers connected)"},
		{"kube workers over the limit", []string{"-f", "s.js", "--kube-deployment", "w", "--kube-workers", "3", "--kube-max-workers", "2"}, nil,
			"--kube-workers 3: must be between 0 and --kube-max-workers (2)"},
		{"idle workers out of range", []string{"-f", "s.js", "--kube-deployment", "w", "--kube-idle-workers", "-2"}, nil,
			"--kube-idle-workers -2: must be -1 (leave it) or between 0 and --kube-max-workers (100)"},
		{"kube workers without a deployment", []string{"-f", "s.js", "--kube-workers", "1"}, nil,
			"--kube-workers and --kube-idle-workers need --kube-deployment, the worker Deployment to scale"},
		{"kube and local workers", []string{"-f", "s.js", "--kube-deployment", "w", "--kube-workers", "1", "--local-workers", "1"}, nil,
			"--kube-workers scales a Deployment of workers; it does not mix with --local-workers"},
		{"a bad threshold", []string{"-f", "s.js", "--threshold", "nonsense"}, nil, `--threshold "nonsense": `},
		{"a bad budget", []string{"-f", "s.js", "--baseline", "b.json", "--max-regression", "p(95)=lots"}, nil, "--max-regression: "},
		{"a missing baseline", []string{"-f", "s.js", "--baseline", filepath.Join(dir, "none.json")}, nil, "--baseline: "},
		{"an open web UI without credentials", []string{"-f", "s.js", "--web-listen", "0.0.0.0:8089"}, nil,
			"--web-listen 0.0.0.0:8089 is reachable from other machines"},
		{"basic auth without a password", []string{"-f", "s.js", "--web-basic-auth", "admin"}, nil, "--web-basic-auth: want USER:PASSWORD"},
		{"a certificate without its key", []string{"-f", "s.js", "--tls-cert", "c.pem"}, nil,
			"--tls-cert and --tls-key go together (and --tls-client-ca needs them)"},
		{"TLS and local workers", []string{"-f", "s.js", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--local-workers", "1"}, nil,
			"--local-workers run inside the master and do not use TLS"},
		{"a bad log level", append(script, "--log-level", "loud"), nil, `--log-level "loud": want debug, info, warn or error`},
		{"two reports, one file", append(script, "--summary-json", filepath.Join(dir, "r"), "--junit", filepath.Join(dir, "r")), nil,
			"--junit " + filepath.Join(dir, "r") + ": --summary-json writes that file too"},
		{"the worker port in use", append(script, "--master-bind", busy.Addr().String()), nil,
			"cannot listen for workers on " + busy.Addr().String() + ": "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCmd(context.Background(), tt.environ, tt.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if last := stderr.LastLine(); !strings.HasPrefix(last, "stampede-master: "+tt.message) {
				t.Errorf("stderr ends with\n\t%s\nwant it to start with\n\tstampede-master: %s", last, tt.message)
			}
			if stdout.String() != "" {
				t.Errorf("stdout: %q, want nothing", stdout)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"-h", "--help"} {
		t.Run(arg, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCmd(context.Background(), nil, arg)
			// One flag of each group: the config's, the security's, the limits'.
			clitest.CheckUsage(t, "stampede-master", code, stdout.String(), stderr.String(),
				"-spawn-rate float", "-web-token-file string", "-max-users int", "-k6-binary string")
		})
	}
	t.Run("--version", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runCmd(context.Background(), nil, "--version")
		if code != exitOK || !strings.HasPrefix(stdout.String(), "stampede-master dev\n") || stderr.String() != "" {
			t.Errorf("exit code %d, stdout %q, stderr %q; want 0 and the version on stdout", code, stdout, stderr)
		}
	})
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errors.New("anything else"), exitInternal},
		{context.Canceled, exitInternal},
		{cli.UsageError{Err: errors.New("--users -1")}, exitUsage},
		{fmt.Errorf("%w: users 2000000: over this master's limit", master.ErrBadSettings), exitUsage},
		{fmt.Errorf("%w: stat s.js: no such file or directory", master.ErrScriptNotFound), exitScriptNotFound},
		{fmt.Errorf("%w: s.js:3: SyntaxError", master.ErrScriptError), exitScriptError},
		{fmt.Errorf("%w: ./lib.js", master.ErrModuleNotFound), exitModuleNotFound},
		{fmt.Errorf("%w: unknown executor", master.ErrInvalidOptions), exitInvalidOptions},
		{fmt.Errorf("%w: 0 of 1 connected after 1m0s", master.ErrWorkersTimeout), exitWorkersTimeout},
		{master.ErrWorkersLost, exitWorkersLost},
		{master.ErrSetupFailed, exitSetupFailed},
		{master.ErrScriptAborted, exitScriptAborted},
		{master.ErrThresholdAborted, exitThresholdAbort},
		{master.ErrWorkersPartial, exitWorkersPartial},
		{master.ErrTeardownFailed, exitTeardown},
		{fmt.Errorf("%w: summary.json: disk full", errReports), exitReports},
		{master.ErrThresholdsFailed, exitThresholds},
		{master.ErrInterrupted, exitInterrupted},
		// A failed run keeps its own code when its reports fail too.
		{fmt.Errorf("%w; %w", master.ErrThresholdsFailed, errReports), exitThresholds},
		{fmt.Errorf("%w; %w", errReports, master.ErrSetupFailed), exitSetupFailed},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			t.Parallel()
			if got := exitCode(tt.err); got != tt.want {
				t.Errorf("exitCode = %d, want %d", got, tt.want)
			}
		})
	}

	// README.md documents every code the command returns, and no other.
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	if i := strings.Index(section, "### Exit codes"); i >= 0 {
		section = section[i:]
	}
	if i := strings.Index(section, "#### The worker's exit codes"); i >= 0 {
		section = section[:i]
	}
	var documented []int
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \|`).FindAllStringSubmatch(section, -1) {
		n, _ := strconv.Atoi(m[1])
		documented = append(documented, n)
	}
	var returned []int
	for _, tt := range tests {
		if !slices.Contains(returned, tt.want) {
			returned = append(returned, tt.want)
		}
	}
	for _, c := range []int{exitOK, exitInternal} { // 1 is "anything else", and undocumented on purpose
		documented = append(documented, c)
	}
	slices.Sort(documented)
	documented = slices.Compact(documented)
	slices.Sort(returned)
	if !slices.Equal(documented, returned) {
		t.Errorf("README.md documents exit codes %v (with 0 and 1), exitCode returns %v", documented, returned)
	}
}

// The whole command, in-process: a script that does not exist is exit code 3, and everything it
// says goes to the writers it was given, none to the process's own stderr or the log package's.
func TestRunScriptNotFound(t *testing.T) {
	// Not parallel: it swaps os.Stderr and the log package's output to see that nothing goes there.
	devStderr := clitest.CaptureProcessStderr(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.js")
	code, stdout, stderr := runCmd(context.Background(), nil,
		"-f", missing, "--headless", "--master-bind", "127.0.0.1:0", "--work-dir", dir)
	if code != exitScriptNotFound {
		t.Errorf("exit code %d, want %d", code, exitScriptNotFound)
	}
	out := stderr.String()
	if want := "stampede-master: script not found: stat " + missing + ": no such file or directory\n"; !strings.HasSuffix(out, want) {
		t.Errorf("stderr:\n%s\nwant it to end with\n%s", out, want)
	}
	if !strings.Contains(out, "msg=\"listening for workers\" addr=127.0.0.1:") {
		t.Errorf("stderr:\n%s\nwant the log there too", out)
	}
	if stdout.String() != "" {
		t.Errorf("stdout: %q, want nothing (no run, no summary)", stdout)
	}
	if got := devStderr(); got != "" {
		t.Errorf("the process's stderr got %q, want nothing", got)
	}
}

// The first signal cancels run's context: a headless run still preparing ends as interrupted (130)
// and says so; the UI stops serving and exits 0.
func TestRunInterrupted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "s.js")
	if err := os.WriteFile(script, []byte("export default function () {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const warning = `level=WARN msg="interrupted: stopping any run and exiting (press Ctrl+C again to quit at once)"`
	tests := []struct {
		name     string
		args     []string
		code     int
		messages []string
	}{
		{"headless", []string{"--headless"}, exitInterrupted, []string{warning, "stampede-master: interrupted\n"}},
		{"web UI", []string{"--web-listen", "127.0.0.1:0"}, exitOK, []string{warning, "web UI on http://127.0.0.1:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, interrupt := context.WithCancel(context.Background())
			interrupt()
			args := append([]string{"-f", script, "--master-bind", "127.0.0.1:0", "--work-dir", t.TempDir()}, tt.args...)
			code, _, stderr := runCmd(ctx, nil, args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\n%s", code, tt.code, stderr)
			}
			// The warning is logged as the interrupt comes, from another goroutine.
			deadline := time.Now().Add(5 * time.Second)
			for _, m := range tt.messages {
				for !strings.Contains(stderr.String(), m) && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if !strings.Contains(stderr.String(), m) {
					t.Errorf("stderr:\n%s\nwant %q", stderr, m)
				}
			}
		})
	}
}
