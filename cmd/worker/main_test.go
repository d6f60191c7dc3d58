package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/cli/clitest"
	"github.com/stampede-load/stampede/internal/worker"
	pb "github.com/stampede-load/stampede/proto/stampede/v1"
)

// fakeExe stands for the worker's own binary: no test here gets as far as starting k6.
func fakeExe() (string, error) { return "/nonexistent/stampede-worker", nil }

// runCmd runs the command as main would, with environ as its environment, and returns its exit code
// and output.
func runCmd(ctx context.Context, environ []string, args ...string) (code int, stdout, stderr *clitest.Output) {
	stdout, stderr = &clitest.Output{}, &clitest.Output{}
	code = run(ctx, cli.Process{Args: args, Stdout: stdout, Stderr: stderr, Environ: environ, Executable: fakeExe})
	return code, stdout, stderr
}

func TestParseFlagsAndEnv(t *testing.T) {
	t.Parallel()
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		environ []string
		check   func(*config) string // what is wrong with the config, "" if nothing
	}{
		{"defaults", nil, nil, func(c *config) string {
			return clitest.Want(c.masterAddr == "127.0.0.1:5557" && c.masterTimeout == 6*time.Second && c.logLevel == "info" &&
				c.metricsListen == ":9100" && !c.metricsChosen && c.logRate == worker.DefaultLogRate && c.allow.Empty() &&
				c.workDir == "" && c.k6Binary == "" && len(c.dialOpts) == 1, // the (empty) join token; no TLS
				"%+v", *c)
		}},
		{"flags", []string{"--master", "m:1", "--master-timeout", "3s", "--log-level", "debug", "--metrics-listen", "127.0.0.1:0",
			"--allow-hosts", "10.0.0.0/8,127.0.0.1", "--log-rate", "7", "--work-dir", "/w", "--k6-binary", "/k6"}, nil, func(c *config) string {
			return clitest.Want(c.masterAddr == "m:1" && c.masterTimeout == 3*time.Second && c.logLevel == "debug" &&
				c.metricsListen == "127.0.0.1:0" && c.metricsChosen && c.allow.String() == "10.0.0.0/8,127.0.0.1" &&
				c.logRate == 7 && c.workDir == "/w" && c.k6Binary == "/k6", "%+v", *c)
		}},
		{"the environment", nil, []string{"STAMPEDE_MASTER=m:2", "STAMPEDE_MASTER_TIMEOUT=1m", "STAMPEDE_LOG_LEVEL=warn",
			"STAMPEDE_ALLOW_HOSTS=192.0.2.1", "STAMPEDE_LOG_RATE=9", "STAMPEDE_WORK_DIR=/e", "STAMPEDE_K6_BINARY=/ek6",
			"STAMPEDE_JOIN_TOKEN_FILE=" + token, "STAMPEDE_TLS=true"}, func(c *config) string {
			return clitest.Want(c.masterAddr == "m:2" && c.masterTimeout == time.Minute && c.logLevel == "warn" &&
				c.allow.String() == "192.0.2.1" && c.logRate == 9 && c.workDir == "/e" && c.k6Binary == "/ek6" &&
				c.sec.joinTokenFile == token && len(c.dialOpts) == 2, "%+v", *c) // join token and TLS
		}},
		{"metrics off from the environment is a choice", nil, []string{"STAMPEDE_METRICS_LISTEN="}, func(c *config) string {
			return clitest.Want(c.metricsListen == "" && c.metricsChosen, "metrics listen %q, chosen %v", c.metricsListen, c.metricsChosen)
		}},
		{"an explicit flag wins over the environment", []string{"--master", "flag:1", "--log-rate", "3"},
			[]string{"STAMPEDE_MASTER=env:1", "STAMPEDE_LOG_RATE=9"}, func(c *config) string {
				return clitest.Want(c.masterAddr == "flag:1" && c.logRate == 3, "master %q, log rate %d; want the flags'", c.masterAddr, c.logRate)
			}},
		{"an IPv6 master", []string{"--master", "[::1]:5557"}, nil, func(c *config) string {
			return clitest.Want(c.masterAddr == "[::1]:5557", "master %q", c.masterAddr)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clitest.CheckParse(t, parse, tt.args, tt.environ, tt.check)
		})
	}
}

// Every bad command line exits 2 before the worker starts, with a last line that names the flag,
// on the stderr it was given and nowhere else.
func TestBadCommandLines(t *testing.T) {
	// Not parallel: it swaps os.Stderr to see that nothing goes there.
	devStderr := clitest.CaptureProcessStderr(t)
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		environ []string
		message string // the start of stderr's last line, after "stampede-worker: "
	}{
		{"unknown flag", []string{"--nope"}, nil, "flag provided but not defined: -nope"},
		{"not a duration", []string{"--master-timeout", "soon"}, nil, `invalid value "soon" for flag -master-timeout: parse error`},
		{"a bad variable", nil, []string{"STAMPEDE_LOG_RATE=lots"}, `STAMPEDE_LOG_RATE="lots": parse error`},
		{"a stray argument", []string{"127.0.0.1:5557"}, nil, `unexpected argument "127.0.0.1:5557" (the master's address goes after --master)`},
		{"a master without a port", []string{"--master", "master.example"}, nil, `--master "master.example": want host:port`},
		{"no master", nil, []string{"STAMPEDE_MASTER="}, `--master "": want host:port`},
		{"a bad allowed host", []string{"--allow-hosts", "10.0.0.0/99"}, nil, "--allow-hosts: "},
		{"a token twice", []string{"--join-token", "a", "--join-token-file", token}, nil, "--join-token and --join-token-file: give one, not both"},
		{"a missing token file", []string{"--join-token-file", filepath.Join(dir, "none")}, nil, "--join-token-file: "},
		{"a certificate without its key", []string{"--tls-cert", "c.pem"}, nil, "--tls-cert and --tls-key go together"},
		{"a missing CA", []string{"--tls-ca", filepath.Join(dir, "none.pem")}, nil, "--tls-ca: "},
		{"a bad log level", []string{"--log-level", "loud"}, nil, `--log-level "loud": want debug, info, warn or error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(context.Background(), tt.environ, append([]string{"--work-dir", dir}, tt.args...)...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if last := stderr.LastLine(); !strings.HasPrefix(last, "stampede-worker: "+tt.message) {
				t.Errorf("stderr ends with\n\t%s\nwant it to start with\n\tstampede-worker: %s", last, tt.message)
			}
			if stdout.String() != "" {
				t.Errorf("stdout: %q, want nothing", stdout)
			}
		})
	}
	if got := devStderr(); got != "" {
		t.Errorf("the process's stderr got %q, want nothing", got)
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"-h", "--help"} {
		t.Run(arg, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCmd(context.Background(), nil, arg)
			// One flag of each group: the config's and the security's.
			clitest.CheckUsage(t, "stampede-worker", code, stdout.String(), stderr.String(),
				"-master string", "-metrics-listen string", "-join-token-file string", "-tls-ca string")
		})
	}
	t.Run("--version", func(t *testing.T) {
		t.Parallel()
		// The version is printed before anything is checked, and before any work directory is made.
		code, stdout, stderr := runCmd(context.Background(), nil, "--version", "--master", "bad")
		if code != exitOK || !strings.HasPrefix(stdout.String(), "stampede-worker dev\n") || stderr.String() != "" {
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
		{errors.New("cannot create a work directory"), exitInternal},
		{context.Canceled, exitInternal},
		{cli.UsageError{Err: errors.New("--master: want host:port")}, exitUsage},
		{fmt.Errorf("worker stopped: %w: too many workers", worker.ErrRejected), exitRejected},
		{fmt.Errorf("worker stopped: %w", worker.ErrUnauthorized), exitInternal}, // never returned: retried
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			t.Parallel()
			if got := exitCode(tt.err); got != tt.want {
				t.Errorf("exitCode = %d, want %d", got, tt.want)
			}
		})
	}

	// README.md's table of the worker's exit codes has every code exitCode returns, and no other.
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, found := strings.Cut(string(readme), "#### The worker's exit codes")
	if !found {
		t.Fatal(`README.md has no "#### The worker's exit codes" section`)
	}
	section, _, _ = strings.Cut(section, "\n#")
	var documented, returned []int
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \|`).FindAllStringSubmatch(section, -1) {
		n, _ := strconv.Atoi(m[1])
		documented = append(documented, n)
	}
	for _, tt := range tests {
		returned = append(returned, tt.want)
	}
	slices.Sort(documented)
	slices.Sort(returned)
	if returned = slices.Compact(returned); !slices.Equal(documented, returned) {
		t.Errorf("README.md documents the worker's exit codes %v, exitCode returns %v", documented, returned)
	}
}

// The whole command, in-process, up to a quick end.
func TestRun(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() })
	rejecting := rejectingMaster(t, "this master takes no more workers")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		args     []string
		code     int
		messages []string // what stderr says, in this order
	}{
		{"interrupted before it connects", cancelled, []string{"--metrics-listen", "127.0.0.1:0"}, exitOK,
			[]string{`msg="serving /metrics, /healthz and /readyz" addr=127.0.0.1:`, `msg="worker starting"`}},
		{"refused by the master", context.Background(), []string{"--master", rejecting, "--metrics-listen", ""}, exitRejected,
			[]string{`msg="worker starting"`, "stampede-worker: worker stopped: master refused this worker: this master takes no more workers\n"}},
		{"a chosen metrics address in use", context.Background(), []string{"--metrics-listen", busy.Addr().String()}, exitInternal,
			[]string{"stampede-worker: cannot serve metrics: listen tcp " + busy.Addr().String() + ": ",
				`(choose another address with --metrics-listen, or "" to turn it off)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCmd(tt.ctx, nil, append([]string{"--work-dir", t.TempDir()}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\n%s", code, tt.code, stderr)
			}
			out := stderr.String()
			for _, m := range tt.messages {
				i := strings.Index(out, m)
				if i < 0 {
					t.Errorf("stderr:\n%s\nwant %q after what came before", stderr, m)
					break
				}
				out = out[i+len(m):]
			}
			if stdout.String() != "" {
				t.Errorf("stdout: %q, want nothing", stdout)
			}
		})
	}
}

// Without --work-dir the worker makes a temporary one, and removes it as it exits.
func TestRunRemovesItsWorkDir(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // os.MkdirTemp's, read by the test process: not parallel
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code, _, stderr := runCmd(ctx, nil, "--metrics-listen", ""); code != exitOK {
		t.Fatalf("exit code %d, want 0\n%s", code, stderr)
	}
	left, err := os.ReadDir(os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("%s holds %s after the worker exited, want nothing", os.TempDir(), left[0].Name())
	}
}

// rejectingMaster serves a master on loopback that refuses every worker with reason, and returns
// its address.
func rejectingMaster(t *testing.T, reason string) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterCoordinatorServer(srv, rejecter{reason: reason})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

type rejecter struct {
	pb.UnimplementedCoordinatorServer
	reason string
}

func (r rejecter) Connect(stream grpc.BidiStreamingServer[pb.WorkerMessage, pb.MasterMessage]) error {
	if _, err := stream.Recv(); err != nil { // the Hello
		return err
	}
	return stream.Send(&pb.MasterMessage{Msg: &pb.MasterMessage_Reject{Reject: &pb.Reject{Reason: r.reason}}})
}
