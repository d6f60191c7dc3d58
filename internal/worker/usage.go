package worker

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cpuSampler samples the CPU and memory of this process and its k6 child from /proc (Linux);
// elsewhere it reports zeros.
type cpuSampler struct {
	mu       sync.Mutex
	lastTick float64 // clock ticks used by the sampled processes at lastTime
	lastTime time.Time
}

// clockTicks is USER_HZ, 100 on every Linux Stampede runs on.
const clockTicks = 100

// sample returns the CPU percent since the previous sample (100 = one core) and resident memory.
func (s *cpuSampler) sample(pids []int) (float64, uint64) {
	ticks, rss := procStat("self")
	for _, p := range pids {
		t, r := procStat(strconv.Itoa(p))
		ticks, rss = ticks+t, rss+r
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var pct float64
	if !s.lastTime.IsZero() && ticks >= s.lastTick {
		pct = 100 * (ticks - s.lastTick) / clockTicks / now.Sub(s.lastTime).Seconds()
	}
	s.lastTick, s.lastTime = ticks, now
	return pct, rss
}

// procStat returns utime+stime in clock ticks and the resident set in bytes of /proc/<pid>.
func procStat(pid string) (float64, uint64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%s/stat", pid))
	if err != nil {
		return 0, 0
	}
	// Fields after the command name, which is in parentheses and may contain spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 22 {
		return 0, 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	rssPages, _ := strconv.ParseUint(f[21], 10, 64)
	return utime + stime, rssPages * uint64(os.Getpagesize())
}
