package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stampede-load/stampede/internal/native"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario/flow"
)

// openFlow is the open model: one GET / an iteration, no think time, started by k6's
// constant-arrival-rate at %d a second for %s, on %d VUs all pre-allocated (maxVUs the same).
const openFlow = `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
classes:
  hit:
    steps: [ { get: / } ]
scenarios:
  open:
    executor: constant-arrival-rate
    class: hit
    rate: %d
    timeUnit: 1s
    duration: %s
    preAllocatedVUs: %d
    maxVUs: %d
    gracefulStop: 5s
`

// openResult is one asked rate's run.
type openResult struct {
	asked          int64
	made, dropped  int64         // iterations run (iterations) and dropped (dropped_iterations)
	served         int64         // requests the target counted
	failed         int64         // requests that failed (http_req_failed)
	cpu, targetCPU time.Duration // the engine's process and the target's, user+sys
	wall           time.Duration // the scenario's run, Resume to Ended
}

// runOpen runs the native engine in script mode, in this process, with constant-arrival-rate at
// each rate of c.openRates for c.dur, against the target in its own process, and prints for
// each the asked rate, the starts made a second, what the target counted, dropped_iterations,
// the starts never made (the schedule's lag at the end), and the CPU of both processes. It stops
// after the first rate whose starts fall below 90% of the asked.
func runOpen(c config) error {
	base, pid, stop, err := startTargetProc(c.targetBin, c.targetCPU)
	if err != nil {
		return err
	}
	defer stop()
	stopProfile, err := startProfile(c.profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	fmt.Printf("open model: the native engine (this process, GOMAXPROCS %d), constant-arrival-rate for %s a rate, %d VUs; target %s (pid %d) pinned to CPU %s\n",
		runtime.GOMAXPROCS(0), c.dur, c.openVUs, base, pid, c.targetCPU)
	fmt.Printf("\n%9s %11s %8s %10s %10s %9s %9s %10s %11s %10s\n",
		"asked/s", "started/s", "% asked", "target", "dropped", "behind", "failed", "engine cpu", "µs/started", "target cpu")
	for _, rate := range c.openRates {
		r, err := openRun(c, base, pid, rate)
		if err != nil {
			return fmt.Errorf("rate %d: %w", rate, err)
		}
		secs := c.dur.Seconds()
		started := float64(r.made) / secs
		behind := r.asked*int64(secs) - r.made - r.dropped
		per := 0.0
		if r.made > 0 {
			per = float64(r.cpu.Microseconds()) / float64(r.made)
		}
		fmt.Printf("%9d %11.0f %7.1f%% %10d %10d %9d %9d %9.2fs %11.1f %9.2fs\n",
			rate, started, 100*started/float64(rate), r.served, r.dropped, behind, r.failed, r.cpu.Seconds(), per, r.targetCPU.Seconds())
		if started < 0.9*float64(rate) {
			fmt.Printf("(stopped: under 90%% of the asked rate)\n")
			break
		}
	}
	fmt.Println("started: iterations the engine ran (each one request); dropped: dropped_iterations, a start that found no free VU, counted as k6 counts it;")
	fmt.Println("behind: starts the schedule still owed at the scenario's end (neither run nor dropped); cpu: user+sys over the run")
	return nil
}

func openRun(c config, base string, pid int, rate int64) (openResult, error) {
	r := openResult{asked: rate}
	if err := post(base + "/reset"); err != nil {
		return r, err
	}
	src := fmt.Sprintf(openFlow, rate, c.dur, c.openVUs, c.openVUs)
	sc, err := flow.Parse("open.yaml", []byte(src))
	if err != nil {
		return r, err
	}
	ctx := context.Background()
	e, err := native.Start(ctx, native.Options{Scenario: sc, Env: map[string]string{"TARGET": base}, Script: true,
		FlushInterval: 200 * time.Millisecond, Submetrics: []string{}})
	if err != nil {
		return r, err
	}
	var sum stats.Delta
	summed := make(chan struct{})
	go func() {
		defer close(summed)
		for d := range e.Deltas() {
			sum.Merge(d)
		}
	}()
	cpu0, tcpu0 := selfCPU(), procCPU(pid)
	begin := time.Now()
	if err := e.Resume(ctx); err != nil {
		e.Kill()
		return r, err
	}
	for {
		st, err := e.Status(ctx)
		if err != nil {
			e.Kill()
			return r, err
		}
		if st.Ended() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.wall = time.Since(begin)
	r.cpu, r.targetCPU = selfCPU()-cpu0, procCPU(pid)-tcpu0
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.Stop(sctx); err != nil {
		return r, err
	}
	e.Terminate(10 * time.Second)
	<-summed
	if code, msg := e.ExitCode(); code != 0 {
		return r, fmt.Errorf("the engine exited with %d: %s", code, msg)
	}
	if m := sum.Metrics["iterations"]; m != nil {
		r.made = int64(m.Sum)
	}
	if m := sum.Metrics["dropped_iterations"]; m != nil {
		r.dropped = int64(m.Sum)
	}
	if m := sum.Metrics["http_req_failed"]; m != nil {
		r.failed = int64(m.Trues)
	}
	r.served, err = total(base + "/stats")
	return r, err
}

// selfCPU is this process's user+sys time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is process pid's user+sys time so far, from /proc/pid/stat (in clock ticks, taken as
// the usual 100 a second); 0 when it cannot be read.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state): utime is field 14, stime 15
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// parseRates reads a comma-separated list of rates, each > 0.
func parseRates(s string) ([]int64, error) {
	var out []int64
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("rate %q: want a whole number of iterations a second, more than 0", p)
		}
		out = append(out, n)
	}
	return out, nil
}
