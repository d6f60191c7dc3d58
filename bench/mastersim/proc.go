package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// procSample is one reading of a process's CPU time and memory from /proc.
type procSample struct {
	At  time.Time
	CPU time.Duration // utime + stime of the process itself (threads included, children not)
	RSS uint64        // VmRSS, bytes
	HWM uint64        // VmHWM: the peak RSS over the process's life, bytes
}

// readProc reads /proc/<pid>/stat and /proc/<pid>/status. clkTck is the kernel's USER_HZ
// (`getconf CLK_TCK`, 100 on every common Linux).
func readProc(pid, clkTck int) (procSample, error) {
	s := procSample{At: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	// f[0] is field 3 (state), so utime (14) and stime (15) are f[11] and f[12].
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("/proc/%d/stat: unexpected utime/stime %q %q", pid, f[11], f[12])
	}
	s.CPU = time.Duration(ut+st) * time.Second / time.Duration(clkTck)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return s, fmt.Errorf("/proc/%d/status: %s: %w", pid, k, err)
		}
		if k == "VmRSS" {
			s.RSS = kb << 10
		} else {
			s.HWM = kb << 10
		}
	}
	return s, nil
}

// procUsage is the master's CPU and memory over the measured window.
type procUsage struct {
	Window     time.Duration
	CPU        time.Duration
	Cores      float64 // CPU / Window
	BusiestSec float64 // cores used in the busiest one-second stretch of the window
	RSSPeak    uint64  // highest sampled RSS in the window
	RSSEnd     uint64
	HWM        uint64 // peak RSS over the process's life (startup included)
	Samples    int
}

// sampleProc reads the process every interval from from to to and sums up. It waits for from.
func sampleProc(ctx context.Context, pid, clkTck int, from, to time.Time, interval time.Duration) (procUsage, error) {
	select {
	case <-ctx.Done():
		return procUsage{}, ctx.Err()
	case <-time.After(time.Until(from)):
	}
	var ss []procSample
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s, err := readProc(pid, clkTck)
		if err != nil {
			return procUsage{}, fmt.Errorf("master process %d: %w", pid, err)
		}
		ss = append(ss, s)
		if !s.At.Before(to) {
			break
		}
		select {
		case <-ctx.Done():
			return procUsage{}, ctx.Err()
		case <-t.C:
		}
	}
	return usage(ss), nil
}

// usage sums up samples taken in order.
func usage(ss []procSample) procUsage {
	if len(ss) == 0 {
		return procUsage{}
	}
	first, last := ss[0], ss[len(ss)-1]
	u := procUsage{Window: last.At.Sub(first.At), CPU: last.CPU - first.CPU, RSSEnd: last.RSS, HWM: last.HWM, Samples: len(ss)}
	if u.Window > 0 {
		u.Cores = u.CPU.Seconds() / u.Window.Seconds()
	}
	j := 0
	for i, s := range ss {
		u.RSSPeak = max(u.RSSPeak, s.RSS)
		for j < i && s.At.Sub(ss[j+1].At) >= time.Second {
			j++
		}
		if d := s.At.Sub(ss[j].At); d >= time.Second {
			u.BusiestSec = max(u.BusiestSec, (s.CPU-ss[j].CPU).Seconds()/d.Seconds())
		}
	}
	return u
}

// scrapeMetrics reads the unlabelled series of a Prometheus text exposition.
func scrapeMetrics(ctx context.Context, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexByte(line, '{'); i >= 0 {
			// Labelled series are left out, except the fleet's request count, summed over its
			// series: the /metrics delay needs it (see metricsDelays).
			if line[:i] != requestsTotal {
				continue
			}
			j := strings.LastIndexByte(line, ' ')
			if v, err := strconv.ParseFloat(line[j+1:], 64); err == nil && j > i {
				out[requestsTotal] += v
			}
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}
