// Command mastersim loads a real Stampede master the way a fleet of workers and a room full of
// browsers would, and measures what that costs the master and how late its UI is.
//
// It runs N simulated workers in one process. Each is a real gRPC client of the master (one
// connection per worker, through internal/rpc's Dialer) and speaks the worker protocol as
// internal/worker does, with the k6 child replaced by a generator: every second, per worker, a
// stats delta with requests spread over M request names (plus the builtin k6 metrics a real delta
// carries). Alongside, W websocket clients follow the master's UI feed.
//
// With -web it starts a run through the REST API once every worker is connected; without it the
// master is expected to start one itself (--headless --expect-workers N). The measured window
// opens -warmup after the workers are started and lasts -duration. Over it mastersim reports:
//
//   - the master's CPU (cores) and memory (RSS), read from /proc with -master-pid;
//   - the delay from each delta a worker sends to the first websocket frame that reflects it, for
//     every client: p50, p99 and max;
//   - the websocket frames: size, how many each client got, how many the master dropped.
//
// It never judges the figures; it fails only when it cannot measure. bench/master.sh drives it;
// see bench/README.md.
//
//	go run ./bench/mastersim -master 127.0.0.1:5557 -web http://127.0.0.1:8089 -workers 10 -names 1000
//
// Concurrency: each simulated worker and each websocket client runs on its own goroutines; they
// share only the frame decoder (locked) and report through locked results read at the end.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stampede-load/stampede/internal/rpc"
)

type config struct {
	master      string
	web         string
	workers     int
	wsClients   int
	load        load
	warmup      time.Duration
	duration    time.Duration
	tail        time.Duration
	startRun    bool
	masterPID   int
	clkTck      int
	kvOut       string
	cpuProfile  string
	scrapeEvery time.Duration
	seed        uint64
	logLevel    string
}

func parse(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("mastersim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.master, "master", "127.0.0.1:5557", "the master's gRPC address (its --master-bind)")
	fs.StringVar(&c.web, "web", "", "the master's web address, e.g. http://127.0.0.1:8089: websocket clients, REST start, /metrics (empty: none of these)")
	fs.IntVar(&c.workers, "workers", 10, "simulated workers, each with its own gRPC connection")
	fs.IntVar(&c.load.Names, "names", 1000, "distinct request names (/api/item/0 ...) in each worker's deltas")
	fs.Float64Var(&c.load.PerName, "per-name", 2, "requests per name per second on each worker (fractions are honoured on average)")
	fs.DurationVar(&c.load.Median, "latency", 50*time.Millisecond, "median request duration (log-normal)")
	fs.Float64Var(&c.load.Sigma, "latency-sigma", 0.6, "sigma of the log-normal request durations")
	fs.Float64Var(&c.load.FailRate, "fail", 0, "share of requests reported as failed (status 500)")
	fs.IntVar(&c.wsClients, "ws-clients", 50, "websocket clients following the UI feed (needs -web)")
	fs.DurationVar(&c.warmup, "warmup", 5*time.Second, "time after the load starts that is not measured")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "the measured window")
	fs.DurationVar(&c.tail, "tail", 3*time.Second, "run time past the window, so every delta of the window reaches the UI")
	fs.BoolVar(&c.startRun, "start", true, "start the run through the REST API (needs -web); run_time = warmup + duration + tail")
	fs.IntVar(&c.masterPID, "master-pid", 0, "the master's process id, to read its CPU and memory from /proc (0: not measured)")
	fs.IntVar(&c.clkTck, "clk-tck", 100, "the kernel's USER_HZ, for /proc CPU times (getconf CLK_TCK)")
	fs.StringVar(&c.kvOut, "kv", "", "also write the figures to this file as key=value lines")
	fs.DurationVar(&c.scrapeEvery, "scrape-every", time.Second, "read the master's /metrics this often during the run, for the delta → /metrics delay (needs -web; 0: not measured)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the simulator itself to this file")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the generated durations")
	fs.StringVar(&c.logLevel, "log-level", "warn", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case c.workers < 1:
		return nil, fmt.Errorf("-workers %d: want at least 1", c.workers)
	case c.load.Names < 1:
		return nil, fmt.Errorf("-names %d: want at least 1", c.load.Names)
	case c.load.PerName <= 0:
		return nil, fmt.Errorf("-per-name %g: want more than 0", c.load.PerName)
	case c.load.Median <= 0 || c.load.Sigma < 0:
		return nil, errors.New("-latency must be positive and -latency-sigma not negative")
	case c.load.FailRate < 0 || c.load.FailRate > 1:
		return nil, fmt.Errorf("-fail %g: want a share between 0 and 1", c.load.FailRate)
	case c.wsClients < 0:
		return nil, fmt.Errorf("-ws-clients %d: must not be negative", c.wsClients)
	case c.warmup < 0 || c.duration <= 0 || c.tail < 0:
		return nil, errors.New("-duration must be positive, -warmup and -tail not negative")
	case c.scrapeEvery < 0:
		return nil, errors.New("-scrape-every must not be negative")
	case c.clkTck < 1:
		return nil, fmt.Errorf("-clk-tck %d: want at least 1", c.clkTck)
	}
	if c.web != "" {
		u, err := url.Parse(c.web)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("-web %q: want http://host:port", c.web)
		}
		c.web = strings.TrimSuffix(c.web, "/")
	} else {
		c.wsClients, c.startRun = 0, false
	}
	return c, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "mastersim:", err)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		fmt.Fprintf(stderr, "mastersim: -log-level %q: want debug, info, warn or error\n", cfg.logLevel)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "mastersim:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "mastersim:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	res, err := simulate(ctx, cfg, log, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "mastersim:", err)
		return 1
	}
	writeReport(stdout, cfg, res)
	if cfg.kvOut != "" {
		if err := writeKV(cfg.kvOut, cfg, res); err != nil {
			fmt.Fprintln(stderr, "mastersim:", err)
			return 1
		}
	}
	return 0
}

// result is everything measured.
type result struct {
	runID    string
	started  time.Time // the first worker received Start
	from, to time.Time // the measured window
	deltas   int       // sent in the window, all workers
	requests uint64    // in those deltas
	samples  []sample
	missing  int
	// The delta → /metrics delay (see metricsDelays) and how long each scrape took.
	metricsDelays  []time.Duration
	metricsMissing int
	scrapes        []scrape
	clients        []clientFrames
	proc           *procUsage
	metrics        [2]map[string]float64 // the master's /metrics at the window's start and end
	selfCores      float64               // the simulator's own CPU over the window
	snapshotSize   int                   // the full frame a client gets when it connects, at the end of the window
}

// clientFrames is what one websocket client received in the window.
type clientFrames struct {
	frames  int
	resyncs int // full snapshots after the first: the master dropped frames for this client
	sizes   []int
	rows    int
}

func simulate(ctx context.Context, cfg *config, log *slog.Logger, progress io.Writer) (*result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	names := cfg.load.names()

	var startOnce sync.Once
	startedC := make(chan struct{})
	var started time.Time
	var runID string
	onStart := func(id string, t time.Time) {
		startOnce.Do(func() {
			started, runID = t, id
			close(startedC)
		})
	}
	workers := make([]*simWorker, cfg.workers)
	index := make(map[string]int, cfg.workers)
	for i := range workers {
		d := rpc.NewDialer(cfg.master, log)
		defer d.Close()
		workers[i] = newSimWorker(i, cfg.workers, cfg.load, names, d, cfg.seed, log, onStart)
		index[workers[i].id] = i
	}

	// Connect every worker before anything is measured.
	fmt.Fprintf(progress, "mastersim: connecting %d workers to %s...\n", cfg.workers, cfg.master)
	if err := parallel(ctx, len(workers), func(i int) error { return workers[i].connect(ctx) }); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	workerErr := make(chan error, len(workers))
	// stopped says why ctx ended: a worker's failure (which cancels it) or a signal.
	stopped := func() error {
		select {
		case err := <-workerErr:
			return err
		default:
			return errors.New("interrupted")
		}
	}
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.run(ctx); err != nil {
				workerErr <- err
				cancel()
			}
		}()
	}

	dec := newDecoder(index)
	clients := make([]*wsClient, cfg.wsClients)
	if cfg.wsClients > 0 {
		fmt.Fprintf(progress, "mastersim: connecting %d websocket clients to %s...\n", cfg.wsClients, wsURL(cfg.web))
		conn := make(chan error, cfg.wsClients)
		for i := range clients {
			clients[i] = &wsClient{url: wsURL(cfg.web), dec: dec}
			wg.Add(1)
			go func() {
				defer wg.Done()
				clients[i].run(ctx, func(err error) { conn <- err })
			}()
		}
		for range clients {
			if err := <-conn; err != nil {
				return nil, fmt.Errorf("websocket client: %w", err)
			}
		}
	}

	if cfg.startRun {
		if err := waitWorkers(ctx, cfg.web, index); err != nil {
			return nil, err
		}
		runTime := cfg.warmup + cfg.duration + cfg.tail
		body := fmt.Sprintf(`{"users":%d,"spawn_rate":0,"run_time":%q}`, cfg.workers, runTime.String())
		if err := postJSON(ctx, cfg.web+"/api/v1/runs", body, http.StatusCreated); err != nil {
			return nil, fmt.Errorf("starting the run: %w", err)
		}
		fmt.Fprintf(progress, "mastersim: started a run through the REST API: %s\n", body)
	} else {
		fmt.Fprintf(progress, "mastersim: waiting for the master to start a run...\n")
	}

	select {
	case <-startedC:
	case err := <-workerErr:
		return nil, err
	case <-ctx.Done():
		return nil, stopped()
	case <-time.After(5 * time.Minute):
		return nil, errors.New("no run started within 5 minutes")
	}
	res := &result{started: started, from: started.Add(cfg.warmup)}
	res.to = res.from.Add(cfg.duration)
	res.runID = runID
	fmt.Fprintf(progress, "mastersim: run %s started; measuring %s after a %s warm-up...\n", res.runID, cfg.duration, cfg.warmup)

	scrapeCtx, stopScrapes := context.WithCancel(ctx)
	defer stopScrapes()
	scrapesDone := make(chan []scrape, 1)
	if cfg.web != "" && cfg.scrapeEvery > 0 {
		go func() { scrapesDone <- scrapeLoop(scrapeCtx, cfg.web+"/metrics", cfg.scrapeEvery, log) }()
	} else {
		scrapesDone <- nil
	}
	procDone := make(chan error, 1)
	if cfg.masterPID > 0 {
		go func() {
			u, err := sampleProc(ctx, cfg.masterPID, cfg.clkTck, res.from, res.to, 250*time.Millisecond)
			res.proc = &u
			procDone <- err
		}()
	} else {
		procDone <- nil
	}
	// At the window's edges: the simulator's own CPU (it shares the machine with the master) and
	// the master's counters.
	edgesDone := make(chan struct{})
	go func() {
		defer close(edgesDone)
		var self [2]procSample
		for i, at := range []time.Time{res.from, res.to} {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(at)):
			}
			self[i], _ = readProc(os.Getpid(), cfg.clkTck)
			if cfg.web != "" {
				m, err := scrapeMetrics(ctx, cfg.web+"/metrics")
				if err != nil {
					log.Warn("cannot read the master's /metrics", "err", err)
				}
				res.metrics[i] = m
			}
		}
		if w := self[1].At.Sub(self[0].At); w > 0 {
			res.selfCores = (self[1].CPU - self[0].CPU).Seconds() / w.Seconds()
		}
		// What a browser that opens the UI now downloads first: the full snapshot.
		if cfg.wsClients > 0 {
			n, err := snapshotSize(ctx, wsURL(cfg.web))
			if err != nil {
				log.Warn("cannot read a snapshot frame", "err", err)
			}
			res.snapshotSize = n
		}
	}()

	// The run ends by itself (run_time); every worker is told to finish. Allow it a minute past
	// its run time for stopping, teardown and the last deltas.
	deadline := time.After(time.Until(res.to) + cfg.tail + time.Minute)
	for _, w := range workers {
		select {
		case <-w.finished:
		case err := <-workerErr:
			return nil, err
		case <-ctx.Done():
			return nil, stopped()
		case <-deadline:
			return nil, fmt.Errorf("the run did not finish on worker %d within a minute of its run time", w.idx)
		}
	}
	if err := <-procDone; err != nil {
		return nil, err
	}
	<-edgesDone
	// The frame after the last merge comes at the master's next tick.
	select {
	case <-time.After(1500 * time.Millisecond):
	case <-ctx.Done():
		return nil, stopped()
	}
	stopScrapes()
	res.scrapes = <-scrapesDone
	cancel()
	wg.Wait()
	select {
	case err := <-workerErr:
		return nil, err
	default:
	}

	sends := make([][]sent, len(workers))
	for i, w := range workers {
		sends[i] = w.results()
		for _, s := range sends[i] {
			if !s.At.Before(res.from) && s.At.Before(res.to) {
				res.deltas++
			}
		}
		res.requests += windowRequests(sends[i], res.from, res.to)
	}
	seenBy := make([][]seen, len(clients))
	for i, c := range clients {
		frames, err := c.results()
		if err != nil {
			return nil, err
		}
		seenBy[i] = frames
		res.clients = append(res.clients, frameStats(frames, res.from, res.to))
	}
	res.samples, res.missing = delays(res.runID, sends, seenBy, res.from, res.to)
	if res.scrapes != nil {
		res.metricsDelays, res.metricsMissing = metricsDelays(sends, res.scrapes, res.from, res.to)
	}
	return res, nil
}

// windowRequests is how many requests a worker's deltas sent in [from, to) carried.
func windowRequests(ss []sent, from, to time.Time) uint64 {
	var before, through uint64
	for _, s := range ss {
		if s.At.Before(from) {
			before = s.Cum
		}
		if s.At.Before(to) {
			through = s.Cum
		}
	}
	return through - before
}

// frameStats sums up one client's frames received in [from, to).
func frameStats(frames []seen, from, to time.Time) clientFrames {
	var cf clientFrames
	for i, f := range frames {
		if f.Recv.Before(from) || !f.Recv.Before(to) {
			continue
		}
		cf.frames++
		if f.Type == "snapshot" && i > 0 {
			cf.resyncs++
		}
		if f.Type == "update" {
			cf.sizes = append(cf.sizes, f.Size)
		}
		if f.Counts != nil {
			cf.rows = max(cf.rows, f.Counts.Rows)
		}
	}
	return cf
}

// parallel runs f(0..n-1) concurrently and returns the first error.
func parallel(ctx context.Context, n int, f func(int) error) error {
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- f(i) }()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// waitWorkers waits until the master lists every simulated worker.
func waitWorkers(ctx context.Context, web string, index map[string]int) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var body struct {
			Workers []struct {
				ID string `json:"id"`
			} `json:"workers"`
		}
		err := getJSON(ctx, web+"/api/v1/workers", &body)
		n := 0
		for _, w := range body.Workers {
			if _, ok := index[w.ID]; ok {
				n++
			}
		}
		if err == nil && n == len(index) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the master lists %d of %d simulated workers after 30s (err: %v)", n, len(index), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func postJSON(ctx context.Context, u, body string, want int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("POST %s: %s: %s", u, resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

// figures are the numbers of the report, by key, in report order.
func figures(cfg *config, res *result) [][2]string {
	var kv [][2]string
	add := func(k, format string, v any) { kv = append(kv, [2]string{k, fmt.Sprintf(format, v)}) }
	window := res.to.Sub(res.from).Seconds()
	add("workers", "%d", cfg.workers)
	add("names", "%d", cfg.load.Names)
	add("per_name", "%g", cfg.load.PerName)
	add("ws_clients", "%d", cfg.wsClients)
	add("window_s", "%.1f", window)
	add("deltas", "%d", res.deltas)
	add("requests_per_s", "%.0f", float64(res.requests)/window)
	if p := res.proc; p != nil {
		add("cpu_cores", "%.3f", p.Cores)
		add("cpu_busiest_second_cores", "%.3f", p.BusiestSec)
		add("cpu_s", "%.2f", p.CPU.Seconds())
		add("rss_peak_bytes", "%d", p.RSSPeak)
		add("rss_end_bytes", "%d", p.RSSEnd)
		add("rss_hwm_bytes", "%d", p.HWM)
	}
	if cfg.wsClients > 0 {
		var total, delivery []time.Duration
		for _, s := range res.samples {
			total = append(total, s.Total)
			delivery = append(delivery, s.Delivery)
		}
		t, d := summarise(total), summarise(delivery)
		add("delay_samples", "%d", t.N)
		add("delay_missing", "%d", res.missing)
		add("delay_p50_ms", "%.0f", ms(t.P50))
		add("delay_p99_ms", "%.0f", ms(t.P99))
		add("delay_max_ms", "%.0f", ms(t.Max))
		add("delivery_p50_ms", "%.1f", ms(d.P50))
		add("delivery_p99_ms", "%.1f", ms(d.P99))
		var sizes []int
		frames, resyncs, rows := 0, 0, 0
		for _, c := range res.clients {
			sizes = append(sizes, c.sizes...)
			frames += c.frames
			resyncs += c.resyncs
			rows = max(rows, c.rows)
		}
		slices.Sort(sizes)
		add("frame_update_bytes", "%d", quantile(sizes, 0.5))
		add("frame_update_max_bytes", "%d", quantile(sizes, 1))
		add("frame_snapshot_bytes", "%d", res.snapshotSize)
		add("frame_rows", "%d", rows)
		add("frames_per_client_per_s", "%.2f", float64(frames)/float64(len(res.clients))/window)
		add("client_resyncs", "%d", resyncs)
	}
	if res.scrapes != nil {
		m := summarise(res.metricsDelays)
		var took []time.Duration
		for _, sc := range res.scrapes {
			took = append(took, sc.Recv.Sub(sc.Sent))
		}
		st := summarise(took)
		add("metrics_delay_samples", "%d", m.N)
		add("metrics_delay_missing", "%d", res.metricsMissing)
		add("metrics_delay_p50_ms", "%.0f", ms(m.P50))
		add("metrics_delay_p99_ms", "%.0f", ms(m.P99))
		add("metrics_delay_max_ms", "%.0f", ms(m.Max))
		add("metrics_scrapes", "%d", st.N)
		add("metrics_scrape_p50_ms", "%.1f", ms(st.P50))
		add("metrics_scrape_p99_ms", "%.1f", ms(st.P99))
	}
	if from, to := res.metrics[0], res.metrics[1]; from != nil && to != nil {
		if v, ok := to["stampede_web_dropped_frames_total"]; ok {
			add("dropped_frames", "%.0f", v-from["stampede_web_dropped_frames_total"])
		}
		if v, ok := to["go_memstats_heap_inuse_bytes"]; ok {
			add("heap_inuse_end_bytes", "%.0f", v)
		}
		if v, ok := to["go_goroutines"]; ok {
			add("goroutines_end", "%.0f", v)
		}
	}
	add("sim_cpu_cores", "%.3f", res.selfCores)
	return kv
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func writeKV(path string, cfg *config, res *result) error {
	var b strings.Builder
	for _, kv := range figures(cfg, res) {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func writeReport(w io.Writer, cfg *config, res *result) {
	f := map[string]string{}
	for _, kv := range figures(cfg, res) {
		f[kv[0]] = kv[1]
	}
	fmt.Fprintf(w, "load:   %d workers × %d names × %g req/name/s = %s req/s in %s deltas; %d websocket clients; run %s\n",
		cfg.workers, cfg.load.Names, cfg.load.PerName, f["requests_per_s"], f["deltas"], cfg.wsClients, res.runID)
	fmt.Fprintf(w, "window: %s s, from %s after the load started\n", f["window_s"], cfg.warmup)
	if p := res.proc; p != nil {
		fmt.Fprintf(w, "CPU:    %.3f cores (%.2f CPU s over %.1f s; busiest second %.3f cores)\n",
			p.Cores, p.CPU.Seconds(), p.Window.Seconds(), p.BusiestSec)
		fmt.Fprintf(w, "RSS:    peak %.1f MiB in the window, %.1f MiB at its end (VmHWM %.1f MiB since start)\n",
			mib(p.RSSPeak), mib(p.RSSEnd), mib(p.HWM))
	}
	if cfg.wsClients > 0 {
		fmt.Fprintf(w, "delay:  delta → websocket frame p50 %s ms, p99 %s ms, max %s ms (%s deltas × clients; %s never shown)\n",
			f["delay_p50_ms"], f["delay_p99_ms"], f["delay_max_ms"], f["delay_samples"], f["delay_missing"])
		fmt.Fprintf(w, "        of which snapshot → client received: p50 %s ms, p99 %s ms\n", f["delivery_p50_ms"], f["delivery_p99_ms"])
		fmt.Fprintf(w, "frames: update %s bytes (median; max %s), snapshot (on connect) %s bytes, %s rows; %s frames/s per client; %s resyncs",
			f["frame_update_bytes"], f["frame_update_max_bytes"], f["frame_snapshot_bytes"], f["frame_rows"],
			f["frames_per_client_per_s"], f["client_resyncs"])
		if v, ok := f["dropped_frames"]; ok {
			fmt.Fprintf(w, ", %s dropped (stampede_web_dropped_frames_total)", v)
		}
		fmt.Fprintln(w)
	}
	if res.scrapes != nil {
		fmt.Fprintf(w, "metrics: delta → /metrics (fleet total, scraped every %s) p50 %s ms, p99 %s ms, max %s ms (%s deltas; %s never shown); a scrape took p50 %s ms, p99 %s ms\n",
			cfg.scrapeEvery, f["metrics_delay_p50_ms"], f["metrics_delay_p99_ms"], f["metrics_delay_max_ms"],
			f["metrics_delay_samples"], f["metrics_delay_missing"], f["metrics_scrape_p50_ms"], f["metrics_scrape_p99_ms"])
	}
	fmt.Fprintf(w, "sim:    the simulator itself used %s cores\n", f["sim_cpu_cores"])
}
