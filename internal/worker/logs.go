package worker

import (
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/k6run"
)

// logSink returns a function that forwards script log lines to the master, at most LogRate lines per
// second; the rest are counted and the count travels with the next batch. Lines are batched for up to
// 250 ms so a chatty script costs few messages.
func (w *Worker) logSink(runID string) func(k6run.LogLine) {
	var (
		mu      sync.Mutex
		batch   []k6run.LogLine
		dropped uint64
		window  time.Time
		inWin   int
		timer   *time.Timer
	)
	flush := func() {
		mu.Lock()
		ev := Logs{RunID: runID, Lines: batch, Dropped: dropped}
		batch, dropped, timer = nil, 0, nil
		mu.Unlock()
		if len(ev.Lines) > 0 || ev.Dropped > 0 {
			_ = w.send(ev)
		}
	}
	return func(l k6run.LogLine) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if now.Sub(window) >= time.Second {
			window, inWin = now, 0
		}
		if inWin >= w.opts.LogRate {
			dropped++
		} else {
			inWin++
			batch = append(batch, l)
		}
		if timer == nil {
			timer = time.AfterFunc(250*time.Millisecond, flush)
		}
	}
}
