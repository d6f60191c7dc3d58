// Command stampede-worker connects to a Stampede master and runs the k6 scenarios it assigns.
//
//	stampede-worker --master 127.0.0.1:5557
//
// It serves /metrics, /healthz and /readyz on --metrics-listen (default :9100, every interface, so
// kubelet probes and Prometheus reach it on the pod IP; "" turns it off).
//
// `stampede-worker k6 ...` runs the embedded k6 (the worker starts itself this way for every run).
package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/internal/worker"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes. A worker stopped by a signal, having flushed its last stats, exits 0.
const (
	exitOK       = 0
	exitInternal = 1 // anything else: no work directory, the metrics endpoints failed, ...
	exitUsage    = 2
	exitRejected = 3 // the master refused this worker for good (not its credentials: those are retried)
)

// main is the only code that touches the process: its arguments, environment, standard streams,
// signals and exit. run gets them as values; its outcome comes back as the exit code.
func main() {
	if len(os.Args) > 1 && os.Args[1] == k6run.Subcommand {
		k6run.Exec(os.Args[2:])
	}
	// The first signal ends ctx: the worker stops its load, flushes its last stats and exits. The
	// second one ends the process at once, as the signal's default action.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	os.Exit(run(ctx, proc{args: os.Args[1:], stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ(), executable: os.Executable}))
}

// proc is what the command takes from its process; main fills it from package os, tests with their
// own values.
type proc struct {
	args           []string // the command line, without the program's name
	stdout, stderr io.Writer
	environ        []string // KEY=VALUE, as os.Environ: the STAMPEDE_<FLAG> fallbacks
	executable     func() (string, error)
}

// lookupEnv is os.LookupEnv on p.environ.
func (p proc) lookupEnv(key string) (string, bool) { return cli.LookupEnv(p.environ, key) }

// run is the whole command; it returns the exit code. When ctx ends the worker stops gracefully.
func run(ctx context.Context, p proc) int {
	cfg, err := parse(p)
	if err == nil {
		err = serve(ctx, cfg, p)
	}
	return cli.Exit(p.stderr, "stampede-worker", err, exitCode)
}

// exitCode maps the error the command ends with to its exit code.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, new(cli.UsageError)):
		return exitUsage
	case errors.Is(err, worker.ErrRejected):
		return exitRejected
	default:
		return exitInternal
	}
}
