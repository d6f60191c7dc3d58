package worker

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
)

// logLimiter passes at most rate lines in each one-second window; the window starts at the first line
// after the previous one ended. It is a pure function of the times it is given.
type logLimiter struct {
	rate   int
	window time.Time
	inWin  int
}

// allow reports whether a line logged at now may pass.
func (l *logLimiter) allow(now time.Time) bool {
	if now.Sub(l.window) >= time.Second {
		l.window, l.inWin = now, 0
	}
	if l.inWin >= l.rate {
		return false
	}
	l.inWin++
	return true
}

// droppedLine is the marker that stands for the lines the limit dropped, where they would have been.
func droppedLine(n uint64, rate int, at time.Time) protocol.LogLine {
	return protocol.LogLine{Time: at, Level: "warning", Source: "stampede",
		Message: fmt.Sprintf("%d log lines dropped (limit %d/s)", n, rate)}
}

// vital reports whether a line is one of k6's warnings about the test itself, which pass whatever the
// script logs. Today that is the cardinality warning ("The test has generated metrics with N unique
// time series, which is higher than the suggested limit of M ..."): it explains a worker's memory
// growing, and a script that generates it (an id in every URL) often fails requests too, whose
// "Request Failed" warnings would otherwise use up the rate. It is rare: logged again only when the
// count doubles.
func vital(l protocol.LogLine) bool {
	return l.Source == "k6" && strings.Contains(l.Message, " unique time series, ")
}

// logSink returns a function that forwards script log lines to the master, at most LogRate lines per
// second (vital lines pass besides); the rest are counted, and each batch that lost lines ends with a
// marker line saying how many (the count also travels as Logs.Dropped). Lines are batched for up to
// 250 ms so a chatty script costs few messages.
func (w *Worker) logSink(runID string) func(protocol.LogLine) {
	var (
		mu      sync.Mutex
		batch   []protocol.LogLine
		dropped uint64
		lim     = logLimiter{rate: w.opts.LogRate}
		timer   *time.Timer
	)
	flush := func() {
		mu.Lock()
		ev := protocol.Logs{RunID: runID, Lines: batch, Dropped: dropped}
		batch, dropped, timer = nil, 0, nil
		mu.Unlock()
		if ev.Dropped > 0 {
			w.logsDropped.Add(ev.Dropped)
			ev.Lines = append(ev.Lines, droppedLine(ev.Dropped, w.opts.LogRate, time.Now()))
		}
		if len(ev.Lines) > 0 {
			_ = w.send(ev)
		}
	}
	return func(l protocol.LogLine) {
		mu.Lock()
		defer mu.Unlock()
		if vital(l) || lim.allow(time.Now()) {
			batch = append(batch, l)
		} else {
			dropped++
		}
		if timer == nil {
			timer = time.AfterFunc(250*time.Millisecond, flush)
		}
	}
}
