//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bin holds the binaries built once for every test.
var bin string

// root is the repository root.
var root string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			fmt.Fprintln(os.Stderr, "go env GOMOD:", err)
			return 1
		}
		root = filepath.Dir(strings.TrimSpace(string(out)))
		if bin, err = os.MkdirTemp("", "stampede-e2e-bin-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(bin)
		for name, pkg := range map[string]string{
			"stampede-master": "./cmd/master", "stampede-worker": "./cmd/worker", "stampede-target": "./examples/target",
		} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(bin, name), pkg)
			cmd.Dir = root
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "building", pkg, ":", err)
				return 1
			}
		}
		return m.Run()
	}())
}

// target is a running demo target.
type target struct {
	URL string
}

type targetStats struct {
	Total    uint64            `json:"total"`
	ByPath   map[string]uint64 `json:"by_path"`
	ByStatus map[string]uint64 `json:"by_status"`
}

func startTarget(t *testing.T) *target {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "stampede-target"), "--listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "target listening on "); ok {
				lines <- u
			}
		}
	}()
	select {
	case u := <-lines:
		return &target{URL: u}
	case <-time.After(20 * time.Second):
		t.Fatal("the target did not start")
		return nil
	}
}

func (tg *target) stats(t *testing.T) targetStats {
	t.Helper()
	resp, err := http.Get(tg.URL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s targetStats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// summary is the part of the JSON summary the tests read.
type summary struct {
	Schema  string    `json:"schema"`
	Mode    string    `json:"mode"`
	Engine  string    `json:"engine"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
	Outcome struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	} `json:"outcome"`
	Totals struct {
		Requests   uint64 `json:"requests"`
		Failures   uint64 `json:"failures"`
		DurationMs struct {
			Med, P95, P99, P999, Max float64
		} `json:"duration_ms"`
		AvgSizeBytes *float64 `json:"avg_size_bytes"`
	} `json:"totals"`
	Requests []struct {
		Name         string   `json:"name"`
		Requests     uint64   `json:"requests"`
		AvgSizeBytes *float64 `json:"avg_size_bytes"`
	} `json:"requests"`
	Checks []struct {
		Group  string `json:"group"`
		Name   string `json:"name"`
		Passes uint64 `json:"passes"`
		Fails  uint64 `json:"fails"`
	} `json:"checks"`
	Metrics map[string]struct {
		Type  string   `json:"type"`
		Count uint64   `json:"count"`
		Sum   *float64 `json:"sum"`
	} `json:"metrics"`
	Thresholds []struct {
		Metric   string  `json:"metric"`
		Source   string  `json:"source"`
		Observed float64 `json:"observed"`
		OK       bool    `json:"ok"`
		Aborted  bool    `json:"aborted"`
	} `json:"thresholds"`
	Workers []struct {
		Index    int    `json:"index"`
		Requests uint64 `json:"requests"`
		Lost     bool   `json:"lost"`
		Error    string `json:"error"`
	} `json:"workers"`
	Series []struct {
		Time     int64              `json:"time"`
		Requests uint64             `json:"requests"`
		Users    int64              `json:"users"`
		Workers  int                `json:"workers"`
		Extra    map[string]float64 `json:"extra"`
	} `json:"series"`
}

// masterRun is a finished stampede-master process.
type masterRun struct {
	code           int
	stdout, stderr string
	summary        *summary
}

// master starts stampede-master with args (plus --summary-json and a loopback --master-bind when
// not given) and returns the running command and where the summary will be.
func master(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer, string) {
	t.Helper()
	return masterWithEnv(t, nil, args...)
}

// masterWithEnv is master with env added to the test's environment.
func masterWithEnv(t *testing.T, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer, string) {
	t.Helper()
	return masterVia(t, []string{filepath.Join(bin, "stampede-master")}, env, args...)
}

// masterVia is masterWithEnv for the master that argv starts: a binary, or an emulator and a binary.
func masterVia(t *testing.T, argv, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer, string) {
	t.Helper()
	sum := filepath.Join(t.TempDir(), "summary.json")
	args = append([]string{"--summary-json", sum}, args...)
	if !contains(args, "--master-bind") {
		args = append(args, "--master-bind", "127.0.0.1:0")
	}
	cmd := exec.Command(argv[0], slices.Concat(argv[1:], args)...)
	cmd.Dir = root
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, &stdout, &stderr, sum
}

// wait waits for a master started with master() and reads its summary, if it wrote one.
func wait(t *testing.T, cmd *exec.Cmd, stdout, stderr *bytes.Buffer, sum string, limit time.Duration) *masterRun {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("stampede-master did not finish within %s\nstderr:\n%s", limit, stderr.String())
	}
	r := &masterRun{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(sum); err == nil {
		r.summary = &summary{}
		if err := json.Unmarshal(data, r.summary); err != nil {
			t.Fatalf("summary JSON: %v", err)
		}
	}
	return r
}

func runMaster(t *testing.T, limit time.Duration, args ...string) *masterRun {
	t.Helper()
	cmd, out, errb, sum := master(t, args...)
	return wait(t, cmd, out, errb, sum, limit)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startWorker starts a stampede-worker process for the master at addr.
func startWorker(t *testing.T, addr string) *exec.Cmd {
	t.Helper()
	cmd, _ := startWorkerWith(t, addr)
	return cmd
}

// startWorkerWith starts a stampede-worker process for the master at addr with extra flags; its
// standard error is returned for the test to read once the worker stopped (see stopProcess).
func startWorkerWith(t *testing.T, addr string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	return workerVia(t, []string{filepath.Join(bin, "stampede-worker")}, addr, args...)
}

// workerVia is startWorkerWith for the worker that argv starts: a binary, or an emulator and a binary.
func workerVia(t *testing.T, argv []string, addr string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	args = append([]string{"--master", addr, "--work-dir", t.TempDir(), "--metrics-listen", ""}, args...)
	cmd := exec.Command(argv[0], slices.Concat(argv[1:], args)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopProcess(cmd)
		if t.Failed() {
			t.Logf("worker %d stderr:\n%s", cmd.Process.Pid, stderr.String())
		}
	})
	return cmd, &stderr
}

// stopProcess stops a started process as Kubernetes stops a pod: SIGTERM, then SIGKILL after 20 s.
func stopProcess(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// k6Children lists the k6 child processes of parent started from binaries in dir.
func k6Children(dir string, parent int) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 2 && strings.HasPrefix(args[0], dir) && args[1] == "k6" && args[2] == "run" && ppid(pid) == parent {
			pids = append(pids, pid)
		}
	}
	return pids
}

func ppid(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	i := bytes.LastIndexByte(data, ')')
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 2 {
		return -1
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func logOnFailure(t *testing.T, r *masterRun) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("master exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
}

var _ = context.Background

func zombie(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(data, ')')
	return strings.HasPrefix(strings.TrimSpace(string(data[i+1:])), "Z")
}
