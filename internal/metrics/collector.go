package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
)

// Namespace prefixes every Stampede metric.
const Namespace = "stampede"

// Source gives the master's state; *master.Coordinator is one. Snapshot is called once per scrape,
// possibly from several scrapes at once, and the result is only read.
type Source interface {
	Snapshot() *master.Snapshot
}

var (
	_ Source               = (*master.Coordinator)(nil)
	_ prometheus.Collector = (*Collector)(nil)
)

// durationBoundsMs are the upper bounds of the request duration buckets, in milliseconds like
// stats histograms: from 1 ms (anything faster is the same to a load test) to a minute (k6's
// default request timeout). They are exported in seconds; ms/1000 is the float64 nearest the
// decimal bound, so le="0.025" reads exactly so.
var durationBoundsMs = [...]float64{1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000}

// runStates are the run states stampede_run_state always reports, so a state's series exists
// before the master first enters it.
var runStates = [...]master.State{master.Idle, master.Preparing, master.Running, master.Stopping, master.Stopped}

// workerStates are the worker states stampede_workers always reports: what workers send in their
// heartbeats, plus missing.
var workerStates = append(labelsOf(protocol.WorkerStates), stateMissing)

func labelsOf(states []protocol.WorkerState) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = s.String()
	}
	return out
}

const (
	// stateMissing counts workers that took part in the active run, were lost, and have not come back.
	stateMissing = "missing"
	// stateUnknown stands for a worker that has not sent its first heartbeat yet.
	stateUnknown = "unknown"
)

// Collector turns master snapshots into Prometheus metrics at scrape time. Create it with New.
type Collector struct {
	src Source

	requests, failures, duration, checks                 *prometheus.Desc
	users, usersTarget, workers                          *prometheus.Desc
	runState, runInfo, runElapsed, namesFolded, logLines *prometheus.Desc
	thresholdOK, thresholdObserved                       *prometheus.Desc
	classUsers, shapeStage, shapeStages, shapeTakenOver  *prometheus.Desc
	fleet                                                *prometheus.Desc
	// hpa maps the master's gauge names (cmd/master records internal/kube's Extras) to their metrics.
	hpa map[string]*prometheus.Desc
}

// New returns a Collector reading src.
func New(src Source) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_"+name, help, labels, nil)
	}
	return &Collector{
		src: src,
		requests: d("requests_total",
			"Requests of the current run by name, method and status (status 0: no response).", "name", "method", "status"),
		failures: d("request_failures_total",
			"Failed requests of the current run by name and method.", "name", "method"),
		duration: d("request_duration_seconds",
			"Request durations of the current run by name and method.", "name", "method"),
		checks: d("checks_total",
			"Outcomes of the current run's k6 checks; check is the group path and name joined by ' › '.",
			"check", "result"),
		users:       d("users", "Users the workers report running."),
		usersTarget: d("users_target", "Users asked for (swarm mode; 0 in script mode)."),
		workers: d("workers",
			"Connected workers by state, plus the active run's lost workers as state=\"missing\".", "state"),
		runState:   d("run_state", "1 for the state the current or last run is in, 0 for the others.", "state"),
		runInfo:    d("run_info", "The current or last run: always 1.", "run_id", "mode", "script"),
		runElapsed: d("run_elapsed_seconds", "How long the current or last run's load has run."),
		namesFolded: d("request_names_folded",
			"Request names over the master's name cap, counted under the name \"(other)\"."),
		logLines: d("log_lines_total", "Script log lines the master has received from workers."),
		thresholdOK: d("threshold_ok",
			"1 while a threshold of the current or last run holds on the fleet's merged data, 0 when it fails.", "metric", "threshold"),
		thresholdObserved: d("threshold_observed_value",
			"The value a threshold judges (e.g. the p95 in ms), while its metric has samples.", "metric", "threshold"),
		classUsers: d("class_users_target",
			"Users of each user class asked of the workers now (a swarm of classes): the users split by the classes' weights.", "class"),
		shapeStage: d("shape_stage",
			"The load shape's stage playing, from 1; 0 before the load starts, the number of stages + 1 once every stage has run."),
		shapeStages:    d("shape_stages", "The stages of the run's load shape."),
		shapeTakenOver: d("shape_taken_over", "1 once a live change of users or spawn rate took over from the load shape, else 0."),
		fleet: d("worker_deployment_replicas",
			"The worker Deployment the master scales: replicas it asks for (desired), in its spec and ready.", "deployment", "kind"),
		hpa: map[string]*prometheus.Desc{
			"hpa_replicas":         d("hpa_replicas", "A watched HorizontalPodAutoscaler's current replicas.", "hpa"),
			"hpa_desired_replicas": d("hpa_desired_replicas", "A watched HorizontalPodAutoscaler's desired replicas.", "hpa"),
			"hpa_cpu_utilization": d("hpa_cpu_utilization_percent",
				"A watched HorizontalPodAutoscaler's average CPU utilisation, in percent of the pods' requests.", "hpa"),
		},
	}
}

// Register registers a Collector reading src with reg.
func Register(reg prometheus.Registerer, src Source) error {
	return reg.Register(New(src))
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.failures, c.duration, c.checks, c.users, c.usersTarget,
		c.workers, c.runState, c.runInfo, c.runElapsed, c.namesFolded, c.logLines, c.thresholdOK, c.thresholdObserved, c.fleet,
		c.classUsers, c.shapeStage, c.shapeStages, c.shapeTakenOver} {
		ch <- d
	}
	for _, d := range c.hpa {
		ch <- d
	}
}

// Collect takes one snapshot and sends every metric read from it.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Snapshot()
	if s == nil {
		s = &master.Snapshot{}
	}
	e := emitter{ch}
	c.collectRun(e, s)
	c.collectWorkers(e, s)
	if s.Stats != nil {
		c.collectRequests(e, s.Stats)
		c.collectChecks(e, s.Stats)
	}
	if f := s.Fleet; f != nil {
		for kind, v := range map[string]int{"desired": f.Desired, "spec": f.Spec, "ready": f.Ready} {
			e.value(c.fleet, prometheus.GaugeValue, float64(v), f.Name, kind)
		}
	}
	for key, v := range s.Gauges {
		if d := c.hpa[key.Metric]; d != nil && key.Tag == "hpa" {
			e.value(d, prometheus.GaugeValue, v, label(key.Value))
		}
	}
	if s.Run != nil {
		for _, t := range s.Run.Thresholds {
			ok := 0.0
			if t.OK {
				ok = 1
			}
			e.value(c.thresholdOK, prometheus.GaugeValue, ok, t.Metric, t.Source)
			if t.HasData {
				e.value(c.thresholdObserved, prometheus.GaugeValue, t.Observed, t.Metric, t.Source)
			}
		}
	}
}

func (c *Collector) collectRun(e emitter, s *master.Snapshot) {
	var lines uint64
	if n := len(s.Logs); n > 0 {
		lines = s.Logs[n-1].Seq // Seq numbers every line the master received, kept or not
	}
	e.value(c.logLines, prometheus.CounterValue, float64(lines))

	state := master.Idle
	var users, target int64
	if r := s.Run; r != nil {
		if r.State != "" {
			state = r.State
		}
		users, target = r.UsersRunning, r.Users
		e.value(c.runInfo, prometheus.GaugeValue, 1, label(r.ID), r.Mode.String(), label(r.Script))
		e.value(c.runElapsed, prometheus.GaugeValue, r.Elapsed(s.Time).Seconds())
		e.value(c.namesFolded, prometheus.GaugeValue, float64(r.NamesFolded))
		for _, cl := range r.Classes {
			e.value(c.classUsers, prometheus.GaugeValue, float64(cl.Users), label(cl.Name))
		}
		if sh := r.Shape; sh != nil {
			e.value(c.shapeStage, prometheus.GaugeValue, float64(sh.Stage+1))
			e.value(c.shapeStages, prometheus.GaugeValue, float64(len(sh.Stages)))
			e.value(c.shapeTakenOver, prometheus.GaugeValue, boolValue(sh.TakenOver))
		}
	}
	e.value(c.users, prometheus.GaugeValue, float64(users))
	e.value(c.usersTarget, prometheus.GaugeValue, float64(target))
	known := false
	for _, st := range runStates {
		known = known || st == state
		e.value(c.runState, prometheus.GaugeValue, boolValue(st == state), string(st))
	}
	if !known {
		e.value(c.runState, prometheus.GaugeValue, 1, string(state))
	}
}

func (c *Collector) collectWorkers(e emitter, s *master.Snapshot) {
	counts := make(map[string]int, len(workerStates))
	connected := make(map[string]bool, len(s.Workers))
	for _, w := range s.Workers {
		st := label(w.State) // a worker's own word
		if st == "" {
			st = stateUnknown
		}
		counts[st]++
		connected[w.ID] = true
	}
	if r := s.Run; r != nil && active(r.State) {
		for _, w := range r.Workers {
			// A lost worker that reconnected is counted by its state, not as missing.
			if w.Lost && !connected[w.ID] {
				counts[stateMissing]++
			}
		}
	}
	for _, st := range workerStates {
		e.value(c.workers, prometheus.GaugeValue, float64(counts[st]), st)
		delete(counts, st)
	}
	for st, n := range counts { // states this collector does not know yet
		e.value(c.workers, prometheus.GaugeValue, float64(n), st)
	}
}

// active reports whether a run in state st still expects its workers.
func active(st master.State) bool {
	return st == master.Preparing || st == master.Running || st == master.Stopping
}

// nameMethod is a request row's labels, made valid first (see label).
type nameMethod struct{ name, method string }

func (c *Collector) collectRequests(e emitter, agg *stats.Aggregate) {
	type keyLabels struct{ name, method, status string }
	requests := make(map[keyLabels]uint64, len(agg.Entries))
	rows := make(map[nameMethod]*stats.Entry, len(agg.Entries))
	for k, en := range agg.Entries {
		nm := nameMethod{label(k.Name), label(k.Method)}
		// Distinct keys can share labels only after label() replaced invalid bytes; their counts
		// add up, as two series with the same labels would be rejected.
		requests[keyLabels{nm.name, nm.method, label(k.Status)}] += en.Requests
		row := rows[nm]
		if row == nil {
			row = new(stats.Entry)
			rows[nm] = row
		}
		row.Merge(en)
	}
	for k, n := range requests {
		e.value(c.requests, prometheus.CounterValue, float64(n), k.name, k.method, k.status)
	}
	for nm, row := range rows {
		e.value(c.failures, prometheus.CounterValue, float64(row.Failures), nm.name, nm.method)
		e.histogram(c.duration, &row.Duration, nm.name, nm.method)
	}
}

func (c *Collector) collectChecks(e emitter, agg *stats.Aggregate) {
	merged := make(map[string]stats.Check, len(agg.Checks))
	for k, ch := range agg.Checks {
		if ch == nil {
			continue
		}
		name := checkLabel(k)
		m := merged[name]
		m.Merge(ch)
		merged[name] = m
	}
	for name, ch := range merged {
		e.value(c.checks, prometheus.CounterValue, float64(ch.Passes), name, "pass")
		e.value(c.checks, prometheus.CounterValue, float64(ch.Fails), name, "fail")
	}
}

// checkLabel names a check as k6's summary does (stats.CheckKey.Display), as a valid label value.
func checkLabel(k stats.CheckKey) string { return label(k.Display()) }

// label makes s a valid label value. Names come from scripts and URLs; a single invalid byte
// would otherwise fail the whole scrape.
func label(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// emitter sends constant metrics. A metric that cannot be built is sent as an invalid metric, so
// the scrape reports the error instead of the master panicking.
type emitter struct{ ch chan<- prometheus.Metric }

func (e emitter) value(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	e.ch <- m
}

// histogram sends h, in milliseconds, as a histogram in seconds over durationBoundsMs.
func (e emitter) histogram(d *prometheus.Desc, h *stats.Histogram, labels ...string) {
	buckets := make(map[float64]uint64, len(durationBoundsMs))
	for _, ms := range durationBoundsMs {
		buckets[ms/1000] = h.CountAtMost(ms)
	}
	m, err := prometheus.NewConstHistogram(d, h.Count, h.Sum/1000, buckets, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	e.ch <- m
}
