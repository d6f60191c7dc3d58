package k6run

import (
	"bufio"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.k6.io/k6/lib/netext/httpext"
	"go.k6.io/k6/metrics"
	"go.k6.io/k6/output"

	"github.com/stampede-load/stampede/internal/stats"
)

// outputName is the name k6 knows the extension by: `--out stampede=<stats file>,<liveness file>`,
// where Start names the two files the child inherits as passFiles does on its OS: descriptors 3
// and 4 on Unix, handle values on Windows.
const outputName = "stampede"

// submetricsEnv carries the child's sub-metric selectors, a JSON array of strings, from Start to
// newOutput (k6 hands the output its process environment).
const submetricsEnv = "STAMPEDE_SUBMETRICS"

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
	w     *os.File
	enc   *gob.Encoder
	live  *os.File // the parent's liveness beats; nil when the output was started without one
	abort func(error)
	// lastBeat is when the last liveness beat arrived and flushing when the current write to the
	// parent began (zero: none in progress), both as Unix nanoseconds; the watchdog reads them.
	lastBeat, flushing atomic.Int64
	subs               submetrics                         // read-only after newOutput
	log                interface{ Warnf(string, ...any) } // k6's logger: its lines reach the worker as JSON on stderr
	mu                 sync.Mutex                         // guards cur, series and iters
	cur                *stats.Delta
	series             seriesCounter
	iters              iterations // nil until the first samples
	writeMu            sync.Mutex // serialises writes to w
	done               chan struct{}
	wg                 sync.WaitGroup
	stopOnce           sync.Once
}

var (
	_ output.WithStopWithTestError = (*streamOutput)(nil)
	_ output.WithTestRunStop       = (*streamOutput)(nil)
)

func newOutput(p output.Params) (output.Output, error) {
	subs, err := parseSubmetrics(p.Environment[submetricsEnv])
	if err != nil {
		return nil, fmt.Errorf("stampede output: %w", err)
	}
	w, live, err := openFiles(p.ConfigArgument)
	if err != nil {
		return nil, fmt.Errorf("stampede output: %w", err)
	}
	// The initial classes are in place before any VU runs: k6 creates its outputs before it
	// initialises the VUs. Later changes come on the liveness pipe (readBeats).
	if list := p.Environment[classesEnv]; list != "" {
		targets, err := decodeClasses([]byte(list))
		if err != nil {
			return nil, fmt.Errorf("stampede output: user classes in %s: %w", classesEnv, err)
		}
		childClasses.set(targets)
	}
	return &streamOutput{
		w:    w,
		subs: subs,
		enc:  gob.NewEncoder(w),
		live: live,
		cur:  newDelta(time.Now()),
		done: make(chan struct{}),
		log:  p.Logger,
	}, nil
}

// openFiles opens the files an argument of passFiles names: the stats pipe and, if named, the
// liveness pipe (nil otherwise). Each is a number of at least 3: a descriptor past standard input,
// output and error on Unix, a handle value on Windows (a multiple of 4, never 0).
func openFiles(arg string) (statsFile, live *os.File, err error) {
	bad := fmt.Errorf("want one or two distinct file numbers >= 3 (stats[,liveness]), got %q", arg)
	names := strings.Split(arg, ",")
	if len(names) > 2 {
		return nil, nil, bad
	}
	nums := make([]uintptr, len(names))
	for i, name := range names {
		n, err := strconv.ParseUint(name, 10, strconv.IntSize)
		if err != nil || n < 3 {
			return nil, nil, bad
		}
		nums[i] = uintptr(n)
	}
	if len(nums) == 2 && nums[0] == nums[1] {
		return nil, nil, bad
	}
	if statsFile = os.NewFile(nums[0], "stampede-stats"); statsFile == nil {
		return nil, nil, fmt.Errorf("file %d is not open", nums[0])
	}
	if len(nums) == 2 {
		if live = os.NewFile(nums[1], "stampede-liveness"); live == nil {
			return nil, nil, fmt.Errorf("file %d is not open", nums[1])
		}
	}
	return statsFile, live, nil
}

func newDelta(start time.Time) *stats.Delta {
	return &stats.Delta{Start: start}
}

func (o *streamOutput) Description() string { return "stampede (stats stream to the worker)" }

func (o *streamOutput) SetTestRunStopCallback(f func(error)) { o.abort = f }

func (o *streamOutput) Start() error {
	o.wg.Add(1)
	go o.loop()
	if o.live != nil {
		o.lastBeat.Store(time.Now().UnixNano())
		go o.readBeats()
		go o.watch()
	}
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
			if err := o.flush(); err != nil {
				// The parent stopped reading: nobody supervises this load.
				o.stop(fmt.Errorf("stampede: stopping the test: %w", err))
				return
			}
		}
	}
}

// readBeats records each liveness beat and applies the user-class targets that come with them.
// End of file means the parent is gone for good (the pipe's only writer was its process): nobody
// will ever read this child's stats, so it exits at once. A stream that breaks the protocol stops
// the test: nobody can steer this load.
func (o *streamOutput) readBeats() {
	r := bufio.NewReader(o.live)
	for {
		targets, err := readLive(r)
		if errors.Is(err, errLiveStream) {
			o.stop(fmt.Errorf("stampede: stopping the load: %w", err))
			return
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, `{"level":"error","msg":"stampede: the worker process is gone; stopping the load"}`)
			os.Exit(ExitSignal)
		}
		o.lastBeat.Store(time.Now().UnixNano())
		if targets != nil {
			childClasses.set(targets)
		}
	}
}

// watch stops the test when the parent stops beating (frozen, deadlocked, or too busy to
// supervise) or a write of stats to it has been blocked (it stopped reading) for LivenessTimeout.
// The process lingers afterwards, so a parent that wakes up can still collect the last stats.
func (o *streamOutput) watch() {
	t := time.NewTicker(LivenessTimeout / 10)
	defer t.Stop()
	for {
		select {
		case <-o.done:
			return
		case now := <-t.C:
			var why string
			if quiet := now.Sub(time.Unix(0, o.lastBeat.Load())); quiet > LivenessTimeout {
				why = fmt.Sprintf("no liveness beat from the worker for %s", quiet.Round(100*time.Millisecond))
			} else if f := o.flushing.Load(); f != 0 && now.Sub(time.Unix(0, f)) > LivenessTimeout {
				why = fmt.Sprintf("the worker has not read its stats for %s", now.Sub(time.Unix(0, f)).Round(100*time.Millisecond))
			}
			if why != "" {
				o.stop(fmt.Errorf("stampede: stopping the load: %s", why))
				return
			}
		}
	}
}

// stop aborts the test run once; an unsupervised load must not go on.
func (o *streamOutput) stop(err error) {
	o.stopOnce.Do(func() {
		if o.abort != nil {
			o.abort(err)
		}
	})
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
	o.flushing.Store(now.UnixNano())
	defer o.flushing.Store(0)
	return o.enc.Encode(frame{Delta: d})
}

func (o *streamOutput) AddMetricSamples(containers []metrics.SampleContainer) {
	o.mu.Lock()
	if o.iters == nil {
		o.iters = iterations{}
	}
	warn := false
	for _, c := range containers {
		if tr, ok := c.(*httpext.Trail); ok {
			k := addTrail(o.cur, tr)
			if vu, ok := tr.Metadata[vuTag]; ok {
				o.iters.request(vu, k)
			}
		}
		for _, s := range c.GetSamples() {
			addSample(o.cur, s, o.subs)
			o.iters.observe(o.cur, s)
			warn = o.series.add(s.TimeSeries) || warn
		}
	}
	n := o.series.count()
	o.mu.Unlock()
	if warn && o.log != nil {
		// k6's own words (internal/metrics/engine/ingester.go), so the user finds its advice.
		o.log.Warnf("The test has generated metrics with %d unique time series, "+
			"which is higher than the suggested limit of %d "+
			"and could cause high memory usage. "+
			"Consider not using high-cardinality values like unique IDs as metric tags "+
			"or, if you need them in the URL, use the name metric tag or URL grouping. "+
			"See https://grafana.com/docs/k6/latest/using-k6/tags-and-groups/ for details.", n, seriesWarnAt)
	}
}

// seriesWarnAt is where k6 v1.8.1 first warns about the number of distinct time series (a metric
// and its tags) a test generated; it warns again each time the count doubles.
const seriesWarnAt = 100_000

// seriesCounter counts a test's distinct time series the way k6's metrics ingester does. That
// ingester, and its warning, run only for the end-of-test summary or thresholds, which the child
// turns off (--no-summary --no-thresholds: the master does both for the fleet), so without this
// count a script that puts ids in its tags grows the worker's memory without a word.
type seriesCounter struct {
	seen map[metrics.TimeSeries]struct{}
	next int // warn when the count passes this; 0: seriesWarnAt
}

// add records ts and reports whether the count just passed the next warning level.
func (c *seriesCounter) add(ts metrics.TimeSeries) bool {
	if c.seen == nil {
		c.seen = map[metrics.TimeSeries]struct{}{}
	}
	if c.next == 0 {
		c.next = seriesWarnAt
	}
	if _, ok := c.seen[ts]; ok {
		return false
	}
	c.seen[ts] = struct{}{}
	if len(c.seen) <= c.next {
		return false
	}
	c.next *= 2
	return true
}

func (c *seriesCounter) count() int { return len(c.seen) }

// addTrail records one HTTP request under its (name, method, status) and returns that key.
func addTrail(d *stats.Delta, tr *httpext.Trail) stats.Key {
	name, _ := tr.Tags.Get("name")
	method, _ := tr.Tags.Get("method")
	status, _ := tr.Tags.Get("status")
	errText, _ := tr.Tags.Get("error")
	ms := float64(tr.Duration) / float64(time.Millisecond)
	k := stats.Key{Name: name, Method: method, Status: status}
	d.AddRequest(k, ms, tr.Failed.Bool, errText)
	return k
}

// perInstance are gauges that describe one k6 process, not the fleet; the master knows users from
// the workers' heartbeats instead.
var perInstance = map[string]bool{"vus": true, "vus_max": true}

func addSample(d *stats.Delta, s metrics.Sample, subs submetrics) {
	m := s.Metric
	if perInstance[m.Name] {
		return
	}
	typ, contains, ns := metricType(m.Type), m.Contains.String(), s.Time.UnixNano()
	d.AddSample(m.Name, typ, contains, s.Value, ns)
	for _, sub := range subs[m.Name] {
		if sub.matches(s.Tags) {
			d.AddSample(sub.key, typ, contains, s.Value, ns)
		}
	}
	if m.Name == "checks" {
		check, _ := s.Tags.Get("check")
		group, _ := s.Tags.Get("group")
		d.AddCheck(stats.CheckKey{Group: group, Name: check}, s.Value != 0)
	}
}

// submetrics are the sub-metric selectors by metric name, so a sample of a metric no threshold
// names costs one map lookup.
type submetrics map[string][]submetric

// submetric is one selector, flattened for matching.
type submetric struct {
	key  string      // stats.Selector.Key: the name the samples are filed under
	tags [][2]string // name, value
}

// matches reports whether tags hold every tag of the selector with its value. Like k6's thresholds,
// it looks at the sample's indexed tags only, not its metadata (vu, iter and the like).
func (sm submetric) matches(tags *metrics.TagSet) bool {
	if tags == nil {
		return false
	}
	for _, t := range sm.tags {
		if v, ok := tags.Get(t[0]); !ok || v != t[1] {
			return false
		}
	}
	return true
}

// parseSubmetrics reads the JSON array of selectors that Start passes in the environment; empty is
// none. A selector without tags is skipped: its samples are filed under the metric's name anyway.
func parseSubmetrics(list string) (submetrics, error) {
	if list == "" {
		return nil, nil
	}
	var sels []string
	if err := json.Unmarshal([]byte(list), &sels); err != nil {
		return nil, fmt.Errorf("sub-metrics in %s: %w", submetricsEnv, err)
	}
	subs := submetrics{}
	seen := map[string]bool{}
	for _, text := range sels {
		sel, err := stats.ParseSelector(text)
		if err != nil {
			return nil, fmt.Errorf("sub-metric: %w", err) // the error quotes the selector
		}
		key := sel.Key()
		if len(sel.Tags) == 0 || seen[key] {
			continue
		}
		seen[key] = true
		sm := submetric{key: key}
		for _, name := range slices.Sorted(maps.Keys(sel.Tags)) {
			sm.tags = append(sm.tags, [2]string{name, sel.Tags[name]})
		}
		subs[sel.Metric] = append(subs[sel.Metric], sm)
	}
	return subs, nil
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
