package k6run

import (
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"go.k6.io/k6/lib/netext/httpext"
	"go.k6.io/k6/metrics"
	"go.k6.io/k6/output"

	"github.com/stampede-load/stampede/internal/stats"
)

// outputName is the name k6 knows the extension by: `--out stampede=<fd>`.
const outputName = "stampede"

// flushInterval is how often the child sends a delta to its parent.
const flushInterval = time.Second

func init() {
	output.RegisterExtension(outputName, newOutput)
}

// frame is one message on the pipe from the child to its parent.
type frame struct {
	Delta *stats.Delta
}

// streamOutput folds k6 samples into deltas and writes them to the parent.
type streamOutput struct {
	w       *os.File
	enc     *gob.Encoder
	ppid    int
	abort   func(error)
	mu      sync.Mutex // guards cur
	cur     *stats.Delta
	writeMu sync.Mutex // serialises writes to w
	done    chan struct{}
	wg      sync.WaitGroup
}

var (
	_ output.WithStopWithTestError = (*streamOutput)(nil)
	_ output.WithTestRunStop       = (*streamOutput)(nil)
)

func newOutput(p output.Params) (output.Output, error) {
	fd, err := strconv.Atoi(p.ConfigArgument)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("stampede output: want a file descriptor >= 3, got %q", p.ConfigArgument)
	}
	w := os.NewFile(uintptr(fd), "stampede-stats")
	if w == nil {
		return nil, fmt.Errorf("stampede output: file descriptor %d is not open", fd)
	}
	return &streamOutput{
		w:    w,
		enc:  gob.NewEncoder(w),
		ppid: os.Getppid(),
		cur:  newDelta(time.Now()),
		done: make(chan struct{}),
	}, nil
}

func newDelta(start time.Time) *stats.Delta {
	return &stats.Delta{Start: start}
}

func (o *streamOutput) Description() string { return "stampede (stats stream to the worker)" }

func (o *streamOutput) SetTestRunStopCallback(f func(error)) { o.abort = f }

func (o *streamOutput) Start() error {
	o.wg.Add(1)
	go o.loop()
	return nil
}

func (o *streamOutput) loop() {
	defer o.wg.Done()
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-o.done:
			return
		case <-t.C:
			err := o.flush()
			if err == nil && os.Getppid() != o.ppid {
				err = errors.New("the worker process is gone")
			}
			if err != nil && o.abort != nil {
				// Without a parent nobody supervises this load: stop it.
				o.abort(fmt.Errorf("stampede: stopping the test: %w", err))
				return
			}
		}
	}
}

// flush sends what was collected since the last flush, if anything.
func (o *streamOutput) flush() error {
	now := time.Now()
	o.mu.Lock()
	d := o.cur
	o.cur = newDelta(now)
	o.mu.Unlock()
	if d.Empty() {
		return nil
	}
	d.End = now
	o.writeMu.Lock()
	defer o.writeMu.Unlock()
	return o.enc.Encode(frame{Delta: d})
}

func (o *streamOutput) AddMetricSamples(containers []metrics.SampleContainer) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range containers {
		if tr, ok := c.(*httpext.Trail); ok {
			addTrail(o.cur, tr)
		}
		for _, s := range c.GetSamples() {
			addSample(o.cur, s)
		}
	}
}

// addTrail records one HTTP request under its (name, method, status).
func addTrail(d *stats.Delta, tr *httpext.Trail) {
	name, _ := tr.Tags.Get("name")
	method, _ := tr.Tags.Get("method")
	status, _ := tr.Tags.Get("status")
	errText, _ := tr.Tags.Get("error")
	ms := float64(tr.Duration) / float64(time.Millisecond)
	d.AddRequest(stats.Key{Name: name, Method: method, Status: status}, ms, tr.Failed.Bool, errText)
}

// perInstance are gauges that describe one k6 process, not the fleet; the master knows users from
// the workers' heartbeats instead.
var perInstance = map[string]bool{"vus": true, "vus_max": true}

func addSample(d *stats.Delta, s metrics.Sample) {
	m := s.Metric
	if perInstance[m.Name] {
		return
	}
	d.AddSample(m.Name, metricType(m.Type), m.Contains.String(), s.Value, s.Time.UnixNano())
	if m.Name == "checks" {
		check, _ := s.Tags.Get("check")
		group, _ := s.Tags.Get("group")
		d.AddCheck(stats.CheckKey{Group: group, Name: check}, s.Value != 0)
	}
}

func metricType(t metrics.MetricType) stats.MetricType {
	switch t {
	case metrics.Counter:
		return stats.Counter
	case metrics.Gauge:
		return stats.Gauge
	case metrics.Rate:
		return stats.Rate
	default:
		return stats.Trend
	}
}

func (o *streamOutput) Stop() error { return o.StopWithTestError(nil) }

// StopWithTestError flushes the final delta and closes the pipe; the parent reads EOF after it.
func (o *streamOutput) StopWithTestError(error) error {
	select {
	case <-o.done:
		return nil
	default:
	}
	close(o.done)
	o.wg.Wait()
	err := o.flush()
	return errors.Join(err, o.w.Close())
}
