package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stampede-load/stampede/internal/api"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/metrics"
	"github.com/stampede-load/stampede/web"
)

// serveWeb starts the UI, API and /metrics server; it runs until webCtx ends. Runs started from the
// UI take cfg.run as their template, stop when runCtx ends, and end with onRunEnd. The returned
// channel reports the server failing.
func serveWeb(webCtx, runCtx context.Context, cfg *config, core *master.Coordinator,
	onRunEnd func(*master.Result, error), stderr io.Writer, log *slog.Logger) (<-chan error, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := metrics.Register(reg, core); err != nil {
		return nil, err
	}
	defaults := api.Defaults{Script: cfg.script, Users: cfg.users, SpawnRate: cfg.spawnRate, Env: cfg.env,
		Tags: cfg.run.Tags, ExcludeTags: cfg.run.ExcludeTags, ClassWeights: cfg.run.ClassWeights}
	if cfg.kubeDeployment != "" {
		defaults.Scaling, defaults.Workers, defaults.MaxWorkers = true, cfg.kubeWorkers, cfg.kubeMaxWorkers
	}
	if cfg.runTime > 0 {
		defaults.RunTime = cfg.runTime.String()
	}
	if defaults.Users == 0 && !cfg.headless {
		defaults.Users = 10
	}
	ws, err := web.New(web.Options{Core: core, Template: cfg.run, Defaults: defaults, RunContext: runCtx, OnRunEnd: onRunEnd,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}), Registerer: reg, Logger: log,
		Auth: cfg.sec.webAuth, CheckHost: cfg.sec.checkHost, AllowedHosts: cfg.sec.allowedHosts})
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", cfg.webListen)
	if err != nil {
		return nil, fmt.Errorf("cannot listen for the web UI on %s: %w (choose another with --web-listen)", cfg.webListen, err)
	}
	hs := web.NewHTTPServer(ws.Handler())
	done := make(chan error, 1)
	go func() { _ = ws.Run(webCtx) }()
	go func() {
		if err := hs.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			done <- err
		}
	}()
	go func() {
		<-webCtx.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	}()
	fmt.Fprintf(stderr, "web UI on http://%s\n", lis.Addr()) // tests read this line: keep it alone
	if cfg.sec.webAuth.Enabled() {
		log.Info("the web UI, API and /metrics require the --web-token or --web-basic-auth credentials (docs/security.md)")
	}
	return done, nil
}
