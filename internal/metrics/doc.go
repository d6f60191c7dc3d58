// Package metrics exposes what the Stampede master knows to Prometheus.
//
// Nothing is counted here. A [Collector] reads one [master.Snapshot] per scrape and turns it into
// constant metrics, so a scrape costs one snapshot (about one merge of every request row) and
// nothing at all happens between scrapes.
//
// # Wiring it up
//
// The package never touches the global registry. The caller builds a registry, registers what it
// wants on it, and serves it:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(
//		collectors.NewGoCollector(),
//		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
//	)
//	if err := metrics.Register(reg, coordinator); err != nil {
//		return err
//	}
//	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
//
// Any [Source] will do instead of the *master.Coordinator, which is how the tests feed hand-made
// snapshots.
//
// # Metrics of other parts of the master
//
// A part of the master with metrics of its own takes a prometheus.Registerer in its options and
// registers its collectors there (the web hub's stampede_web_* metrics do). Pass it the same
// registry: one /metrics then serves everything. Name metrics [Namespace]_<subsystem>_<name>_<unit>,
// counters ending in _total and durations in seconds, for example
//
//	prometheus.BuildFQName(metrics.Namespace, "web", "clients")
//
// # What the numbers mean
//
// Request, failure and check counters are the current run's totals since its start or its last
// statistics reset. When a new run starts, or the statistics are reset, they fall back towards zero;
// Prometheus treats that as a counter reset, so rate() and increase() stay correct across runs. Rows
// of the previous run that the new one does not have simply stop being exported. Names over the
// master's name cap are reported under the name "(other)" like any other name.
//
// Request durations are a classic Prometheus histogram with fixed bounds in seconds. The master's
// own histograms are finer (2% wide logarithmic buckets); each Prometheus bucket count is read from
// them with [stats.Histogram.CountAtMost], exact except for requests within 2% of a bound. Percentiles
// computed by histogram_quantile are therefore coarser than the ones the master's UI and reports
// show, which come from the fine histograms directly.
//
// docs/metrics.md lists every metric with its labels.
//
// # Concurrency
//
// A Collector holds no state between scrapes and is safe for concurrent use as long as its
// Source's Snapshot is (the Coordinator's is). Every value of one scrape comes from one snapshot,
// so they agree with each other: requests_total and the duration histogram's count never disagree
// within a scrape.
package metrics
