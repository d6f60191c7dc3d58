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
	os.Exit(run(ctx, cli.Process{Args: os.Args[1:], Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ(), Executable: os.Executable}))
}

// run is the whole command; it returns the exit code. When ctx ends the worker stops gracefully.
func run(ctx context.Context, p cli.Process) int {
	return cli.Run(ctx, p, "stampede-worker", parse, serve, exitCode)
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
