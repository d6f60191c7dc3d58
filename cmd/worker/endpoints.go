package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// stalledAfter is how long the worker's main loop may go without progress before /healthz fails.
// The loop turns every second while connected, and at least once per reconnect attempt (backoff
// up to 5 s plus the dial) otherwise, so this leaves a wide margin before Kubernetes restarts a pod.
const stalledAfter = 30 * time.Second

// newHandler serves the worker's own endpoints:
//
//   - /metrics: Go and process metrics and the worker's stampede_worker_* metrics, from a registry
//     of its own.
//   - /healthz (liveness): 200 while the main loop makes progress. Not being connected is no reason
//     to restart a worker: it keeps reconnecting by itself.
//   - /readyz (readiness): 200 while the worker is connected to a master (and live), that is able
//     to take a run.
//
// now is the clock the probes read; tests pass their own.
func newHandler(src statusSource, now func() time.Time) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newCollector(src),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		probe(w, live(src, now))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		err := live(src, now)
		if err == nil && !src.Snapshot().Connected {
			err = errors.New("not connected to a master")
		}
		probe(w, err)
	})
	return mux, nil
}

// live says why the worker's main loop is not live, or nil.
func live(src statusSource, now func() time.Time) error {
	last := src.Snapshot().LastLoop
	switch age := now().Sub(last); {
	case last.IsZero():
		return errors.New("the worker has not started")
	case age > stalledAfter:
		return fmt.Errorf("the worker's main loop made no progress for %s", age.Round(time.Second))
	}
	return nil
}

// probe answers a health probe: 200 "ok", or 503 with the reason.
func probe(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, err)
		return
	}
	fmt.Fprintln(w, "ok")
}

// serveEndpoints serves h on lis until ctx ends, then shuts the server down, giving requests in
// flight two seconds. It returns an error only if serving failed.
func serveEndpoints(ctx context.Context, lis net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving metrics on %s: %w", lis.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	<-errc // http.ErrServerClosed
	return nil
}
