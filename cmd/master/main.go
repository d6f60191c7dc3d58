// Command stampede-master coordinates Stampede workers: it validates a k6 script, splits the load over
// the workers, aggregates their stats and reports.
//
//	stampede-master -f script.js --local-workers 2                                  # web UI on :8089
//	stampede-master -f script.js --local-workers 2 --headless -u 50 -r 10 -t 30s   # swarm mode
//	stampede-master -f script.js --local-workers 2 --headless                       # script mode
//	stampede-master -f script.js --headless -u 10 -r 5 -t 20s --expect-workers 2     # remote workers
//
// `stampede-master k6 ...` runs the embedded k6 (the master inspects scripts this way).
package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/internal/master"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, documented in README.md.
const (
	exitOK             = 0
	exitInternal       = 1
	exitUsage          = 2
	exitScriptNotFound = 3
	exitScriptError    = 4
	exitModuleNotFound = 5
	exitInvalidOptions = 6
	exitWorkersTimeout = 7
	exitWorkersLost    = 8
	exitSetupFailed    = 9
	exitScriptAborted  = 10
	exitThresholdAbort = 11
	exitWorkersPartial = 12
	exitTeardown       = 13
	exitReports        = 14
	exitThresholds     = 99
	exitInterrupted    = 130
)

// main is the only code that touches the process: its arguments, environment, standard streams,
// signals and exit. run gets them as values; its outcome comes back as the exit code.
func main() {
	if len(os.Args) > 1 && os.Args[1] == k6run.Subcommand {
		k6run.Exec(os.Args[2:])
	}
	// First signal: ctx ends, and any run stops gracefully (teardown, summary, reports). Second: exit
	// at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, interrupt := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, cli.Process{Args: os.Args[1:], Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ(), Executable: os.Executable})
	}()
	select {
	case c := <-code:
		os.Exit(c)
	case <-sigs:
		interrupt()
	}
	select {
	case c := <-code:
		os.Exit(c)
	case <-sigs:
		os.Exit(exitInterrupted)
	}
}

// run is the whole command; it returns the exit code. ctx ends when the process is interrupted: a
// run in progress then stops gracefully.
func run(ctx context.Context, p cli.Process) int {
	return cli.Run(ctx, p, "stampede-master", parse, serve, exitCode)
}

// exitCode maps the error the command ends with to its exit code (README.md's table).
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, new(cli.UsageError)):
		return exitUsage
	case errors.Is(err, master.ErrBadSettings): // over a limit: checked before anything starts
		return exitUsage
	case errors.Is(err, master.ErrScriptNotFound):
		return exitScriptNotFound
	case errors.Is(err, master.ErrModuleNotFound):
		return exitModuleNotFound
	case errors.Is(err, master.ErrInvalidOptions):
		return exitInvalidOptions
	case errors.Is(err, master.ErrScriptError):
		return exitScriptError
	case errors.Is(err, master.ErrWorkersTimeout):
		return exitWorkersTimeout
	case errors.Is(err, master.ErrWorkersLost):
		return exitWorkersLost
	case errors.Is(err, master.ErrWorkersPartial):
		return exitWorkersPartial
	case errors.Is(err, master.ErrSetupFailed):
		return exitSetupFailed
	case errors.Is(err, master.ErrTeardownFailed):
		return exitTeardown
	case errors.Is(err, master.ErrScriptAborted):
		return exitScriptAborted
	case errors.Is(err, master.ErrInterrupted):
		return exitInterrupted
	case errors.Is(err, master.ErrThresholdAborted):
		return exitThresholdAbort
	case errors.Is(err, master.ErrThresholdsFailed):
		return exitThresholds
	case errors.Is(err, errReports): // after the run's own errors: a failed run keeps its code
		return exitReports
	default:
		return exitInternal
	}
}
