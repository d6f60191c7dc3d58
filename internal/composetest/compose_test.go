//go:build linux

package composetest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lockPath is shared by every clone on the machine: the test uses the machine's podman.
var lockPath = filepath.Join(os.TempDir(), "stampede-composetest.lock")

func TestComposeRun(t *testing.T) {
	need(t)
	root := repoRoot(t)
	lock(t)

	suffix := randomHex(t, 4)
	project := "stampedetest" + suffix
	tag := "composetest-" + suffix
	dir := t.TempDir()
	c := &compose{t: t, root: root, project: project, env: composeEnv(t, dir, tag)}
	c.env["STAMPEDE_SCRIPTS"] = filepath.Join(root, "examples")
	c.file = podmanComposeFile(t, filepath.Join(root, "deploy/compose/compose.yaml"), dir)

	// Registered first, so it runs last: whatever happens, nothing of ours stays.
	t.Cleanup(c.removeAll(tag))

	c.loadImages(tag, dir)
	c.run("up", "-d", "--scale", "worker=3")

	api := &client{base: "http://127.0.0.1:" + c.env["STAMPEDE_UI_PORT"], token: c.env["token"]}
	target := "http://127.0.0.1:" + c.env["STAMPEDE_TARGET_PORT"]
	c.waitHealthy(5 * time.Minute)

	// Three workers connected, through the published loopback port and with the web token.
	waitFor(t, 2*time.Minute, "3 connected workers", func() (bool, string) {
		var ws struct{ Workers []struct{ Connected bool } }
		if err := api.get("/api/v1/workers", &ws); err != nil {
			return false, err.Error()
		}
		n := 0
		for _, w := range ws.Workers {
			if w.Connected {
				n++
			}
		}
		return n == 3, fmt.Sprintf("%d connected", n)
	})
	if code := status(t, api.base+"/api/v1/workers", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/workers without the token: %d, want 401", code)
	}

	var run struct{ ID, State, Error string }
	if err := api.post("/api/v1/runs", `{"users": 12, "spawn_rate": 12, "run_time": "10s"}`, &run); err != nil {
		t.Fatalf("starting a run: %v", err)
	}
	waitFor(t, 3*time.Minute, "the run to stop", func() (bool, string) {
		if err := api.get("/api/v1/runs/current", &run); err != nil {
			return false, err.Error()
		}
		return run.State == "stopped", run.State
	})
	if run.Error != "" {
		t.Fatalf("the run ended with %q", run.Error)
	}
	var stats struct {
		Totals struct{ Requests, Failures int64 }
	}
	if err := api.get("/api/v1/stats", &stats); err != nil {
		t.Fatal(err)
	}
	var counted struct{ Total int64 }
	if err := getJSON(target+"/stats", "", &counted); err != nil {
		t.Fatalf("the target's own count: %v", err)
	}
	t.Logf("master: %d requests (%d failed); target: %d", stats.Totals.Requests, stats.Totals.Failures, counted.Total)
	if stats.Totals.Requests == 0 || stats.Totals.Requests != counted.Total {
		t.Errorf("the master counted %d requests, the target served %d", stats.Totals.Requests, counted.Total)
	}
	var workers struct {
		Workers []struct {
			Requests int64
		}
	}
	if err := api.get("/api/v1/runs/current", &workers); err != nil {
		t.Fatal(err)
	}
	busy := 0
	for _, w := range workers.Workers {
		if w.Requests > 0 {
			busy++
		}
	}
	if busy != 3 {
		t.Errorf("%d of the run's workers sent requests, want all 3: %+v", busy, workers.Workers)
	}
}

// need skips (or, with STAMPEDE_REQUIRE_COMPOSE=1, fails) without what the test runs.
func need(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts containers")
	}
	var missing []string
	if runtime.GOOS != "linux" {
		missing = append(missing, "linux")
	}
	for _, tool := range []string{"podman", "podman-compose", "runc", "make", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "needs " + strings.Join(missing, ", ") + " (Debian: apt-get install podman podman-compose runc; make test installs them)"
	if os.Getenv("STAMPEDE_REQUIRE_COMPOSE") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

// lock holds the machine-wide lock until the test ends, waiting for another holder to finish.
func lock(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Logf("waiting for another compose test to release %s", lockPath)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// composeEnv writes the tokens and podman's configuration and returns the compose file's
// variables (and, under "token", the web token).
func composeEnv(t *testing.T, dir, tag string) map[string]string {
	t.Helper()
	secrets := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	token := randomHex(t, 32)
	for name, v := range map[string]string{"join-token": randomHex(t, 32), "web-token": token} {
		// 0644 so that the containers' uid 65532 reads the bind-mounted file; the directory
		// keeps other users of the host out.
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	nofile, nproc := hostLimit(t, "Max open files"), hostLimit(t, "Max processes")
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`# Written by internal/composetest.
[containers]
default_ulimits = ["nofile=%d:%d", "nproc=%d:%d"]

[engine]
runtime = "runc"
`, nofile, nofile, nproc, nproc)), 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"CONTAINERS_CONF":          conf,
		"STAMPEDE_IMAGE_TAG":       tag,
		"STAMPEDE_WORKERS":         "3", // podman-compose 1.0.3 ignores --scale
		"STAMPEDE_UI_PORT":         freePort(t),
		"STAMPEDE_TARGET_PORT":     freePort(t),
		"STAMPEDE_JOIN_TOKEN_FILE": filepath.Join(secrets, "join-token"),
		"STAMPEDE_WEB_TOKEN_FILE":  filepath.Join(secrets, "web-token"),
		"token":                    token,
	}
}

// hostLimit is this process's soft limit named so in /proc/self/limits, at most 4096.
func hostLimit(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 || f[0] == "unlimited" {
			return 4096
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			t.Fatalf("/proc/self/limits: %q: %v", sc.Text(), err)
		}
		return min(n, 4096)
	}
	t.Fatalf("/proc/self/limits has no %q", name)
	return 0
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// compose runs podman and podman-compose for one project.
type compose struct {
	t       *testing.T
	root    string
	file    string // what podman-compose runs
	project string
	env     map[string]string
}

func (c *compose) cmd(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = c.root
	cmd.Env = os.Environ()
	for k, v := range c.env {
		if k != "token" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// output runs a command to its end and returns its stdout, failing the test if it fails.
func (c *compose) output(name string, args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := c.cmd(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

// run runs podman-compose on the project's compose file.
func (c *compose) run(args ...string) string {
	c.t.Helper()
	return c.output("podman-compose", append([]string{"-p", c.project, "-f", c.file}, args...)...)
}

// loadImages builds this machine's images with make images, under a tag of their own, and loads
// them into podman.
func (c *compose) loadImages(tag, dir string) {
	c.t.Helper()
	images := filepath.Join(dir, "images")
	c.output("make", "--no-print-directory", "images", "IMAGE_ARCHES="+runtime.GOARCH, "IMAGE_TAG="+tag, "IMAGE_DIR="+images)
	for _, b := range []string{"master", "worker", "target"} {
		c.output("podman", "load", "-q", "-i", filepath.Join(images, "linux-"+runtime.GOARCH, "stampede-"+b+".tar"))
	}
}

// waitHealthy waits until every container of the project passes its service's healthcheck. The
// test runs each check itself, with podman exec: podman schedules checks with systemd timers (a
// machine without systemd never runs them), and podman-compose 1.0.3 wraps a CMD check in /bin/sh,
// which the images do not have. Docker Compose runs the CMD form as written.
func (c *compose) waitHealthy(limit time.Duration) {
	c.t.Helper()
	checks := healthchecks(c.t, filepath.Join(c.root, "deploy/compose/compose.yaml"))
	for _, svc := range []string{"master", "worker", "target"} {
		if len(checks[svc]) == 0 {
			c.t.Fatalf("compose.yaml: the %s service has no healthcheck test [CMD, ...]", svc)
		}
	}
	waitFor(c.t, limit, "every container healthy", func() (bool, string) {
		out := c.output("podman", "ps", "-a", "--filter", "label=io.podman.compose.project="+c.project,
			"--format", `{{.Names}} {{index .Labels "com.docker.compose.service"}}`)
		var state []string
		n, healthy := 0, 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			name, svc, _ := strings.Cut(line, " ")
			if name == "" {
				continue
			}
			n++
			out, err := c.cmd(c.t.Context(), "podman", append([]string{"exec", name}, checks[svc]...)...).CombinedOutput()
			if err == nil {
				healthy++
				continue
			}
			state = append(state, fmt.Sprintf("%s: %v %s", name, err, bytes.TrimSpace(out)))
		}
		return n == 5 && healthy == 5, fmt.Sprintf("%d containers, %d healthy; %s", n, healthy, strings.Join(state, "; "))
	})
}

// podmanComposeFile writes a copy of the compose file without the worker's healthcheck and returns
// its path. podman-compose 1.0.3 consumes a service's healthcheck test list while it creates the
// first container, so every further replica fails with "unknown healthcheck test type"; the test
// runs the worker's check itself (waitHealthy). Relative paths in the file are given by variables.
func podmanComposeFile(t *testing.T, file, dir string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	service, skipping, removed := "", false, false
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutSuffix(line, ":"); ok && strings.HasPrefix(name, "  ") && !strings.HasPrefix(name, "   ") {
			service = strings.TrimSpace(name)
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		switch {
		case service == "worker" && line == "    healthcheck:":
			skipping, removed = true, true
			continue
		case skipping && (indent > 4 || strings.TrimSpace(line) == ""):
			continue
		}
		skipping = false
		out = append(out, line)
	}
	if !removed {
		t.Fatalf("%s: no worker healthcheck found", file)
	}
	copied := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(copied, []byte(strings.Join(out, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return copied
}

// healthchecks reads each service's `test: [CMD, ...]` from a compose file written as
// deploy/compose/compose.yaml is (services two spaces in, the test on one line).
func healthchecks(t *testing.T, file string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][]string{}
	service := ""
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutSuffix(line, ":"); ok && strings.HasPrefix(name, "  ") && !strings.HasPrefix(name, "   ") {
			service = strings.TrimSpace(name)
		}
		if args, ok := strings.CutPrefix(strings.TrimSpace(line), "test: [CMD, "); ok && service != "" {
			checks[service] = strings.Split(strings.TrimSuffix(args, "]"), ", ")
		}
	}
	return checks
}

// removeAll takes the project down, removes what podman-compose leaves (its network) and the
// images, and fails the test if anything of the project remains.
func (c *compose) removeAll(tag string) func() {
	return func() {
		t := c.t
		label := "label=io.podman.compose.project=" + c.project
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		quiet := func(name string, args ...string) string {
			out, err := c.cmd(ctx, name, args...).CombinedOutput()
			if err != nil {
				t.Logf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
			}
			return strings.TrimSpace(string(out))
		}
		if t.Failed() {
			t.Logf("containers:\n%s", quiet("podman", "ps", "-a", "--filter", label, "--format", "{{.Names}} {{.Status}}"))
			for _, name := range strings.Fields(quiet("podman", "ps", "-a", "--filter", label, "--format", "{{.Names}}")) {
				t.Logf("logs of %s:\n%s", name, quiet("podman", "logs", "--tail", "30", name))
			}
		}
		quiet("podman-compose", "-p", c.project, "-f", c.file, "down", "-v", "-t", "5")
		// podman-compose 1.0.3 leaves the network it made; Docker Compose removes it.
		for _, n := range strings.Fields(quiet("podman", "network", "ls", "-q", "--filter", label)) {
			quiet("podman", "network", "rm", "-f", n)
		}
		for _, b := range []string{"master", "worker", "target"} {
			quiet("podman", "rmi", "-i", "ghcr.io/stampede-load/stampede-"+b+":"+tag)
		}
		left := map[string]string{
			"containers": quiet("podman", "ps", "-aq", "--filter", label),
			"networks":   quiet("podman", "network", "ls", "-q", "--filter", label),
			"volumes":    quiet("podman", "volume", "ls", "-q", "--filter", label),
		}
		for _, b := range []string{"master", "worker", "target"} {
			ref := "ghcr.io/stampede-load/stampede-" + b + ":" + tag
			if c.cmd(ctx, "podman", "image", "exists", ref).Run() == nil {
				left["images"] += ref + " "
			}
		}
		for what, ids := range left {
			if ids != "" {
				t.Errorf("the project left %s behind: %s", what, ids)
			}
		}
	}
}

// waitFor polls cond every half second until it holds, failing the test after limit with the
// last state cond described.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last: %s", limit, what, state)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// client talks to the master's API with its web token.
type client struct{ base, token string }

func (c *client) get(path string, v any) error { return getJSON(c.base+path, c.token, v) }

func (c *client) post(path, body string, v any) error {
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	return do(req, v)
}

func getJSON(url, token string, v any) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(req, v)
}

func do(req *http.Request, v any) error {
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(body))
	}
	return json.Unmarshal(body, v)
}

func status(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
