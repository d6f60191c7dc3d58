// Command stampede-target is the demo HTTP server that Stampede examples and
// end-to-end tests aim at. See package targetsrv for its endpoints.
//
// Once listening it prints exactly one line to stdout,
//
//	target listening on http://127.0.0.1:PORT
//
// so scripts can start it with --listen 127.0.0.1:0 and read the address.
// Logs go to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/stampede-load/stampede/examples/target/targetsrv"
	"github.com/stampede-load/stampede/internal/cli"
)

const (
	envPrefix     = "STAMPEDE_TARGET_"
	shutdownGrace = 10 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, restore default handling so a second one kills
	// the process without waiting for the graceful shutdown.
	context.AfterFunc(ctx, stop)

	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "stampede-target:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "stampede-target:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

type config struct {
	listen  string
	maxSlow time.Duration
	maxCPU  time.Duration
}

// maxCPUMS is the largest --max-cpu-ms a time.Duration holds.
const maxCPUMS = math.MaxInt64 / int64(time.Millisecond)

// parseConfig reads flags, falling back to STAMPEDE_TARGET_<FLAG> for each
// flag not given on the command line.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	var cpuMS int64
	fs := flag.NewFlagSet("stampede-target", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080",
		"`address` to listen on; port 0 picks a free one (env "+envName("listen")+")")
	fs.DurationVar(&c.maxSlow, "max-slow", targetsrv.DefaultMaxSlow,
		"longest wait /slow?ms=N accepts (env "+envName("max-slow")+")")
	fs.Int64Var(&cpuMS, "max-cpu-ms", targetsrv.DefaultMaxCPUTime.Milliseconds(),
		"most milliseconds of CPU /cpu?ms=N burns (env "+envName("max-cpu-ms")+")")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}

	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		v := getenv(name)
		if explicit[f.Name] || v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s=%q: %w", errUsage, name, v, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	if c.maxSlow <= 0 {
		return c, fmt.Errorf("%w: --max-slow must be positive, got %s", errUsage, c.maxSlow)
	}
	if cpuMS <= 0 || cpuMS > maxCPUMS {
		return c, fmt.Errorf("%w: --max-cpu-ms must be from 1 to %d, got %d", errUsage, maxCPUMS, cpuMS)
	}
	c.maxCPU = time.Duration(cpuMS) * time.Millisecond
	return c, nil
}

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	opts := targetsrv.Options{MaxSlow: cfg.maxSlow, MaxCPUTime: cfg.maxCPU}
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	srv := &http.Server{
		Handler:           targetsrv.New(opts),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	url := "http://" + cli.DialAddr(ln.Addr(), cfg.listen)
	logger.Info("listening on "+url, "addr", ln.Addr().String(), "max_slow", cfg.maxSlow, "max_cpu", cfg.maxCPU)
	if _, err := fmt.Fprintf(stdout, "target listening on %s\n", url); err != nil {
		_ = ln.Close()
		return fmt.Errorf("announce address: %w", err)
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	logger.Info("shutting down", "grace", shutdownGrace)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Long /slow requests can outlast the grace period; closing their
		// connections cancels their contexts.
		logger.Warn("graceful shutdown incomplete, closing connections", "err", err)
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}
