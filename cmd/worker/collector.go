package main

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/worker"
)

// statusSource is what the endpoints need from the worker; *worker.Worker is one.
type statusSource interface {
	Snapshot() worker.Snapshot
}

var (
	_ statusSource         = (*worker.Worker)(nil)
	_ prometheus.Collector = (*collector)(nil)
)

// collector exposes worker.Snapshot at scrape time. It keeps nothing between scrapes, so it is as
// safe for concurrent scrapes as Snapshot is.
type collector struct {
	src statusSource

	connected, users, state, runs, sessions, pending, dropped, lastLoop, info *prometheus.Desc
	logsDropped                                                               *prometheus.Desc
}

func newCollector(src statusSource) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("stampede_worker_"+name, help, labels, nil)
	}
	return &collector{
		src:       src,
		connected: d("connected", "1 while a session with a master is open, else 0."),
		users:     d("users", "Users (k6 VUs) the current run's k6 child reports running."),
		state:     d("state", "1 for the state of this worker's current run (idle without one), 0 for the others.", "state"),
		runs:      d("runs_total", "Runs assigned to this worker since it started."),
		sessions:  d("sessions_total", "Sessions opened with a master since the worker started; more than one means reconnects."),
		pending:   d("stats_pending", "Stats deltas waiting for the master's acknowledgement (resent after a reconnect)."),
		dropped:   d("stats_dropped_total", "Stats deltas given up because the master acknowledged nothing for too long."),
		lastLoop: d("last_loop_timestamp_seconds",
			"When the worker's main loop last made progress (Unix time); /healthz fails when it is too old."),
		info: d("info", "This worker's id and version: always 1.", "worker_id", "version"),
		logsDropped: d("log_lines_dropped_total",
			"Script log lines the worker's rate limit (--log-rate) dropped; a marker line in the run's log says how many."),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.connected, c.users, c.state, c.runs, c.sessions, c.pending, c.dropped,
		c.lastLoop, c.info, c.logsDropped} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Snapshot()
	send := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		for i, l := range labels { // a host name is the OS's to choose; keep the scrape valid
			labels[i] = strings.ToValidUTF8(l, "\uFFFD")
		}
		m, err := prometheus.NewConstMetric(d, t, v, labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(d, err) // the scrape reports it; the worker goes on
		}
		ch <- m
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) { send(d, prometheus.GaugeValue, v, labels...) }
	counter := func(d *prometheus.Desc, v float64) { send(d, prometheus.CounterValue, v) }
	gauge(c.connected, boolValue(s.Connected))
	gauge(c.users, float64(s.Users))
	for _, st := range protocol.WorkerStates {
		gauge(c.state, boolValue(st == s.State), st.String())
	}
	counter(c.runs, float64(s.Runs))
	counter(c.sessions, float64(s.Sessions))
	gauge(c.pending, float64(s.PendingStats))
	counter(c.dropped, float64(s.DroppedStats))
	counter(c.logsDropped, float64(s.DroppedLogs))
	if !s.LastLoop.IsZero() {
		gauge(c.lastLoop, float64(s.LastLoop.UnixNano())/1e9)
	}
	gauge(c.info, 1, s.ID, s.Version)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
