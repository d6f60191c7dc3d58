//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// uiMaster is a stampede-master serving the web UI and API.
type uiMaster struct {
	URL    string // http://127.0.0.1:PORT
	Addr   string // the gRPC address workers dial
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	exited chan error
}

func (m *uiMaster) log() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stderr.String()
}

// startUIMaster starts stampede-master in UI mode (loopback ports) with args, and waits until it
// says where its UI is.
func startUIMaster(t *testing.T, args ...string) *uiMaster {
	t.Helper()
	return startUIMasterWithEnv(t, nil, args...)
}

// startUIMasterWithEnv is startUIMaster with env added to the test's environment.
func startUIMasterWithEnv(t *testing.T, env []string, args ...string) *uiMaster {
	t.Helper()
	return startUIMasterVia(t, nil, env, args...)
}

// startUIMasterVia is startUIMasterWithEnv through a wrapper command that execs its arguments, such
// as sh -c 'ulimit -n 1024 && exec "$@"' sh; nil starts the master directly.
func startUIMasterVia(t *testing.T, wrapper, env []string, args ...string) *uiMaster {
	t.Helper()
	m := &uiMaster{Addr: freeAddr(t), exited: make(chan error, 1)}
	args = append(args, "--web-listen", "127.0.0.1:0", "--master-bind", m.Addr)
	argv := append(append(append([]string(nil), wrapper...), filepath.Join(bin, "stampede-master")), args...)
	m.cmd = exec.Command(argv[0], argv[1:]...)
	m.cmd.Dir = root
	if env != nil {
		m.cmd.Env = append(os.Environ(), env...)
	}
	pipe, err := m.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			m.mu.Lock()
			m.stderr.WriteString(line + "\n")
			m.mu.Unlock()
			if u, ok := strings.CutPrefix(line, "web UI on "); ok {
				found <- u
			}
		}
		m.exited <- m.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = m.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("master stderr:\n%s", m.log())
		}
	})
	select {
	case m.URL = <-found:
	case <-time.After(20 * time.Second):
		t.Fatalf("the master did not serve its UI:\n%s", m.log())
	}
	return m
}

// call sends a JSON request to the master's API and decodes the answer into out (if not nil).
func (m *uiMaster) call(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, m.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

type apiWorker struct {
	Index int    `json:"index"`
	State string `json:"state"`
	Users int64  `json:"users"`
}

func (m *uiMaster) workers(t *testing.T) []apiWorker {
	t.Helper()
	var out struct{ Workers []apiWorker }
	m.call(t, "GET", "/api/v1/workers", "", &out)
	return out.Workers
}

func usersOf(ws []apiWorker) (sum int64, each []int64) {
	for _, w := range ws {
		sum += w.Users
		each = append(each, w.Users)
	}
	return sum, each
}

// TestAPIDrivenRun drives a run as the UI does, with real processes: start from the API, a worker
// process joins mid-run and takes its share while the total holds, users change from 10 to 30,
// stop; the master's totals match the target's count (but for requests k6 cut off when users were
// taken away), /metrics agrees, and the reports download.
func TestAPIDrivenRun(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	m := startUIMaster(t, "-f", "examples/quickstart.js", "--local-workers", "2", "-e", "TARGET="+tg.URL)

	var cfg struct {
		Env map[string]string `json:"env"`
	}
	if code := m.call(t, "GET", "/api/v1/config", "", &cfg); code != 200 || cfg.Env["TARGET"] != tg.URL {
		t.Fatalf("config: %d %+v", code, cfg)
	}
	eventually(t, 20*time.Second, "2 local workers", func() bool { return len(m.workers(t)) == 2 })
	var run struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Error string `json:"error"`
	}
	if code := m.call(t, "POST", "/api/v1/runs", `{"users": 10, "spawn_rate": 20}`, &run); code != 201 {
		t.Fatalf("start: %d %+v", code, run)
	}
	var apiErr struct{ Error string }
	if code := m.call(t, "POST", "/api/v1/runs", `{"users": 10}`, &apiErr); code != 409 || apiErr.Error == "" {
		t.Fatalf("a second start: %d %q, want 409 with a reason", code, apiErr.Error)
	}
	eventually(t, 60*time.Second, "10 users on 2 workers", func() bool {
		sum, _ := usersOf(m.workers(t))
		return sum == 10
	})

	startWorker(t, m.Addr) // joins at steady state
	eventually(t, 60*time.Second, "10 users over 3 workers, the newcomer included", func() bool {
		ws := m.workers(t)
		sum, each := usersOf(ws)
		return len(ws) == 3 && sum == 10 && min(each[0], each[1], each[2]) == 3
	})

	if code := m.call(t, "PATCH", "/api/v1/runs/current", `{"users": 30, "spawn_rate": 30}`, nil); code != 200 {
		t.Fatalf("change users: %d", code)
	}
	eventually(t, 30*time.Second, "30 users, 10 per worker", func() bool {
		_, each := usersOf(m.workers(t))
		return len(each) == 3 && each[0] == 10 && each[1] == 10 && each[2] == 10
	})
	time.Sleep(2 * time.Second) // some load at 30 users

	stopAPIRun(t, m)
	var st struct {
		Totals struct {
			Requests uint64 `json:"requests"`
			Failures uint64 `json:"failures"`
		} `json:"totals"`
		Rows []struct {
			Name     string `json:"name"`
			Requests uint64 `json:"requests"`
		} `json:"rows"`
	}
	m.call(t, "GET", "/api/v1/stats", "", &st)
	// k6's externally-controlled executor has no graceful ramp-down: when the rebalance took a user
	// off each of the two first workers (5+5 -> 4+3+3, three users stopped), a request those users had
	// in flight may reach the target without ever being recorded. So the target may count up to 3
	// more; never fewer (the final stop is graceful), never more than that.
	const stoppedByRebalance = 3
	counted := tg.stats(t).Total
	if st.Totals.Requests == 0 || st.Totals.Requests > counted || counted-st.Totals.Requests > stoppedByRebalance {
		t.Fatalf("the master counted %d requests, the target %d (at most %d in flight when users were stopped may be missing)",
			st.Totals.Requests, counted, stoppedByRebalance)
	}
	if st.Totals.Failures != 0 || len(st.Rows) == 0 {
		t.Fatalf("%d failures, %d rows", st.Totals.Failures, len(st.Rows))
	}

	if got := scrapeSum(t, m.URL+"/metrics", "stampede_requests_total"); got != float64(st.Totals.Requests) {
		t.Fatalf("/metrics: stampede_requests_total adds up to %g, the master's totals %d", got, st.Totals.Requests)
	}

	resp, err := http.Get(m.URL + "/api/v1/reports/summary.json")
	if err != nil {
		t.Fatal(err)
	}
	var sum summary
	err = json.NewDecoder(resp.Body).Decode(&sum)
	resp.Body.Close()
	if err != nil || sum.Totals.Requests != st.Totals.Requests || len(sum.Workers) != 3 {
		t.Fatalf("summary.json: %v, %d requests, %d workers", err, sum.Totals.Requests, len(sum.Workers))
	}
}

// scrapeSum adds up every sample of a metric in a Prometheus text exposition.
func scrapeSum(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var total float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", url, line, err)
		}
		total += v
	}
	return total
}
