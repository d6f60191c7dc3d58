// Command native measures the CPU cost per request of the h1 client against
// a plain net/http loop and wrk, and the memory of idle h1 users. See
// README.md; bench/native.sh builds and runs it.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stampede-load/stampede/internal/native/h1"
)

type config struct {
	engineIdle int
	share      bool
	targetBin  string
	conns      int
	dur        time.Duration
	repeats    int
	tools      string
	path       string
	genCPU     string
	targetCPU  string
	idle       int
	child      string
	url        string
	profile    string
	openRates  []int64
	openVUs    int
}

func main() {
	var c config
	flag.StringVar(&c.targetBin, "target", "", "stampede-target binary (go build -o /tmp/t ./examples/target)")
	flag.IntVar(&c.conns, "c", 50, "connections (closed-loop users)")
	flag.DurationVar(&c.dur, "d", 10*time.Second, "length of each run")
	flag.IntVar(&c.repeats, "n", 3, "repeats per tool, interleaved")
	flag.StringVar(&c.tools, "tools", "h1,nethttp,wrk", "tools to run, comma-separated")
	flag.StringVar(&c.path, "path", "/", "path requested")
	flag.StringVar(&c.genCPU, "gen-cpu", "0", "CPU the load generator is pinned to")
	flag.StringVar(&c.targetCPU, "target-cpu", "1", "CPU the target is pinned to")
	flag.IntVar(&c.idle, "idle", 0, "instead: hold this many idle h1 users and report memory per user")
	flag.IntVar(&c.engineIdle, "engine-idle", 0, "instead: hold this many idle users of the native engine and report memory per user")
	flag.BoolVar(&c.share, "share", false, "with -engine-idle: the users share connections (shareConnections: true)")
	flag.StringVar(&c.child, "child", "", "internal: run one generator (h1 or nethttp)")
	flag.StringVar(&c.url, "url", "", "internal: the target URL for -child")
	flag.StringVar(&c.profile, "cpuprofile", "", "with -child or -open: write a CPU profile to this file")
	open := flag.String("open", "", "instead: the open model, the native engine's constant-arrival-rate at these rates a second, comma-separated, -d each (1000,2000,5000,10000,20000,40000)")
	flag.IntVar(&c.openVUs, "open-vus", 500, "with -open: the VUs (preAllocatedVUs and maxVUs)")
	flag.Parse()
	var err error
	if c.openRates, err = parseRates(*open); err != nil {
		fmt.Fprintln(os.Stderr, "native: -open:", err)
		os.Exit(2)
	}
	switch {
	case c.child != "":
		err = runChild(c)
	case c.targetBin == "":
		err = errors.New("-target is required")
	case c.idle > 0:
		err = runIdle(c)
	case c.engineIdle > 0:
		err = runEngineIdle(c)
	case len(c.openRates) > 0:
		err = runOpen(c)
	default:
		err = runBench(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "native:", err)
		os.Exit(1)
	}
}

// startTarget starts the target (pinned if cpu is not empty) and returns its
// base URL and a stop function.
func startTarget(bin, cpu string) (string, func(), error) {
	u, _, stop, err := startTargetProc(bin, cpu)
	return u, stop, err
}

// startTargetProc is startTarget, with the target's process id (taskset execs it).
func startTargetProc(bin, cpu string) (string, int, func(), error) {
	args := []string{bin, "--listen", "127.0.0.1:0"}
	if cpu != "" {
		args = append([]string{"taskset", "-c", cpu}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop := func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return "", 0, nil, fmt.Errorf("target: %w", err)
	}
	u, ok := strings.CutPrefix(strings.TrimSpace(line), "target listening on ")
	if !ok {
		stop()
		return "", 0, nil, fmt.Errorf("target said %q", line)
	}
	return u, cmd.Process.Pid, stop, nil
}

type result struct {
	reqs    int64
	cpu     time.Duration
	perReq  float64 // µs
	failure string
}

func runBench(c config) error {
	base, stop, err := startTarget(c.targetBin, c.targetCPU)
	if err != nil {
		return err
	}
	defer stop()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	tools := strings.Split(c.tools, ",")
	if slices.Contains(tools, "wrk") {
		if _, err := exec.LookPath("wrk"); err != nil {
			fmt.Println("wrk not found: no wrk reference (apt-get install -y wrk)")
			tools = slices.DeleteFunc(tools, func(s string) bool { return s == "wrk" })
		}
	}
	fmt.Printf("target %s%s pinned to CPU %s; generators pinned to CPU %s; %d connections, %s a run, %d repeats\n",
		base, c.path, c.targetCPU, c.genCPU, c.conns, c.dur, c.repeats)
	results := map[string][]result{}
	for rep := range c.repeats {
		for _, tool := range tools {
			r := runOne(c, self, base, tool)
			results[tool] = append(results[tool], r)
			fmt.Printf("  run %d %-8s requests %9d  cpu %7.2fs  %6.2f µs/req %s\n", rep+1, tool, r.reqs, r.cpu.Seconds(), r.perReq, r.failure)
		}
	}
	med := map[string]result{}
	fmt.Printf("\n%-8s %12s %10s %12s %10s %10s\n", "tool", "requests", "cpu s", "cpu µs/req", "÷ nethttp", "÷ wrk")
	for _, tool := range tools {
		med[tool] = median(results[tool])
	}
	for _, tool := range tools {
		m := med[tool]
		fmt.Printf("%-8s %12d %10.2f %12.2f %10s %10s\n", tool, m.reqs, m.cpu.Seconds(), m.perReq,
			ratio(m, med["nethttp"]), ratio(m, med["wrk"]))
	}
	fmt.Println("(medians of each column separately; µs/req is generator user+sys CPU over the target's count)")
	return nil
}

func ratio(a, b result) string {
	if a.perReq == 0 || b.perReq == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a.perReq/b.perReq)
}

func median(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, 0, len(rs))
		for _, r := range rs {
			if r.failure == "" {
				v = append(v, f(r))
			}
		}
		if len(v) == 0 {
			return 0
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return result{
		reqs:   int64(pick(func(r result) float64 { return float64(r.reqs) })),
		cpu:    time.Duration(pick(func(r result) float64 { return float64(r.cpu) })),
		perReq: pick(func(r result) float64 { return r.perReq }),
	}
}

// runOne resets the target's counts, runs one pinned generator and reads the
// count back. It never fails: a problem is noted in the result.
func runOne(c config, self, base, tool string) result {
	if err := post(base + "/reset"); err != nil {
		return result{failure: "reset: " + err.Error()}
	}
	var args []string
	switch tool {
	case "wrk":
		args = []string{"wrk", "-t1", "-c" + strconv.Itoa(c.conns), "-d" + strconv.Itoa(int(c.dur.Seconds())) + "s", base + c.path}
	default:
		args = []string{self, "-child", tool, "-url", base + c.path, "-c", strconv.Itoa(c.conns), "-d", c.dur.String()}
	}
	if c.genCPU != "" {
		args = append([]string{"taskset", "-c", c.genCPU}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...) // taskset execs: the rusage is the generator's
	out, err := cmd.CombinedOutput()
	var r result
	if err != nil {
		r.failure = fmt.Sprintf("(%v: %s)", err, lastLine(out))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	n, err := total(base + "/stats")
	if err != nil {
		r.failure += " stats: " + err.Error()
	}
	r.reqs = n
	if n > 0 {
		r.perReq = float64(r.cpu.Microseconds()) / float64(n)
	}
	return r
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func post(u string) error {
	resp, err := http.Post(u, "", nil)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return nil
}

// total reads "total" from the target's GET /stats.
func total(u string) (int64, error) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.Index(s, `"total":`)
	if i < 0 {
		return 0, fmt.Errorf("no total in %q", s)
	}
	s = s[i+len(`"total":`):]
	j := strings.IndexAny(s, ",}")
	if j < 0 {
		return 0, fmt.Errorf("bad stats %q", s)
	}
	return strconv.ParseInt(strings.TrimSpace(s[:j]), 10, 64)
}

// runChild is one generator process: c.conns closed-loop users for c.dur.
func runChild(c config) error {
	u, err := url.Parse(c.url)
	if err != nil {
		return err
	}
	stopProfile, err := startProfile(c.profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	var stop atomic.Bool
	time.AfterFunc(c.dur, func() { stop.Store(true) })
	var reqs, errs atomic.Int64
	var wg sync.WaitGroup
	var loop func()
	switch c.child {
	case "h1":
		cfg, err := h1.NewConfig(h1.Options{Addr: u.Host, RequestTimeout: 10 * time.Second})
		if err != nil {
			return err
		}
		loop = func() {
			conn := cfg.NewConn()
			defer conn.Close()
			var req h1.Request
			req.Start("GET", u.RequestURI())
			req.Host(u.Host)
			req.Header("User-Agent", "stampede-bench")
			req.Finish(nil)
			var resp h1.Response
			ctx := context.Background()
			var n, e int64
			for !stop.Load() {
				if err := conn.Do(ctx, &req, &resp); err != nil {
					e++
				}
				n++
			}
			reqs.Add(n)
			errs.Add(e)
		}
	case "nethttp":
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.conns}}
		loop = func() {
			req, _ := http.NewRequest("GET", c.url, nil)
			req.Header.Set("User-Agent", "stampede-bench")
			var n, e int64
			for !stop.Load() {
				resp, err := client.Do(req)
				if err != nil {
					e++
				} else {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				n++
			}
			reqs.Add(n)
			errs.Add(e)
		}
	default:
		return fmt.Errorf("unknown -child %q", c.child)
	}
	for range c.conns {
		wg.Go(loop)
	}
	wg.Wait()
	fmt.Printf("requests=%d errors=%d\n", reqs.Load(), errs.Load())
	if errs.Load() > 0 {
		return fmt.Errorf("%d of %d requests failed", errs.Load(), reqs.Load())
	}
	return nil
}

// runIdle holds c.idle users, each a goroutine with its own Conn, Request
// and Response, that made one request and now thinks; it reports the
// memory they hold.
func runIdle(c config) error {
	base, stop, err := startTarget(c.targetBin, "")
	if err != nil {
		return err
	}
	defer stop()
	u, _ := url.Parse(base)
	cfg, err := h1.NewConfig(h1.Options{Addr: u.Host, RequestTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	before := memNow()
	think := make(chan struct{})
	ready := make(chan error, 64)
	sem := make(chan struct{}, 50) // dial at most 50 at a time
	var wg sync.WaitGroup
	for range c.idle {
		wg.Go(func() {
			conn := cfg.NewConn()
			defer conn.Close()
			var req h1.Request
			req.Start("GET", "/")
			req.Host(u.Host)
			req.Finish(nil)
			var resp h1.Response
			sem <- struct{}{}
			err := conn.Do(context.Background(), &req, &resp)
			<-sem
			ready <- err
			<-think
		})
	}
	var failed int
	for range c.idle {
		if err := <-ready; err != nil {
			failed++
		}
	}
	after := memNow()
	n := float64(c.idle)
	fmt.Printf("%d idle users (one open connection each, %d failed to connect)\n", c.idle, failed)
	fmt.Printf("  Go heap in use      %8.0f bytes a user\n", float64(after.heap-before.heap)/n)
	fmt.Printf("  goroutine stacks    %8.0f bytes a user\n", float64(after.stack-before.stack)/n)
	fmt.Printf("  Go runtime total    %8.0f bytes a user (Sys)\n", float64(after.sys-before.sys)/n)
	fmt.Printf("  process RSS         %8.0f bytes a user\n", float64(after.rss-before.rss)/n)
	close(think)
	wg.Wait()
	if failed > 0 {
		return fmt.Errorf("%d users failed", failed)
	}
	return nil
}

type mem struct{ heap, stack, sys, rss int64 }

func memNow() mem {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := mem{heap: int64(ms.HeapAlloc), stack: int64(ms.StackInuse), sys: int64(ms.Sys)}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseInt(f[1], 10, 64)
			m.rss = pages * int64(os.Getpagesize())
		}
	}
	return m
}

// startProfile writes a CPU profile to path until the returned function is called; an empty path
// profiles nothing.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
