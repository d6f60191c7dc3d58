// Command stampede-worker connects to a Stampede master and runs the k6 scenarios it assigns.
//
//	stampede-worker --master 127.0.0.1:5557
//
// `stampede-worker k6 ...` runs the embedded k6 (the worker starts itself this way for every run).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/internal/rpc"
	"github.com/stampede-load/stampede/internal/worker"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == k6run.Subcommand {
		k6run.Exec(os.Args[2:])
	}
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("stampede-worker", flag.ContinueOnError)
	masterAddr := fs.String("master", "127.0.0.1:5557", "the master's worker address (host:port)")
	workDir := fs.String("work-dir", "", "directory for run files (default: a new temporary directory)")
	masterTimeout := fs.Duration("master-timeout", 6*time.Second, "stop the load when the master is silent this long")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if err := cli.ApplyEnv(fs, os.LookupEnv); err != nil {
		fmt.Fprintln(os.Stderr, "stampede-worker:", err)
		return 2
	}
	if *showVersion {
		fmt.Println("stampede-worker", version)
		return 0
	}
	log, err := cli.NewLogger(os.Stderr, *logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stampede-worker:", err)
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		log.Error("cannot find my own binary", "err", err)
		return 1
	}
	dir := *workDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "stampede-worker-"); err != nil {
			log.Error("cannot create a work directory", "err", err)
			return 1
		}
		defer os.RemoveAll(dir)
	}
	host, _ := os.Hostname()
	w, err := worker.New(worker.Options{Host: host, CPUs: runtime.NumCPU(), Version: version, Exe: exe, Dir: dir,
		MasterTimeout: *masterTimeout, Logger: log})
	if err != nil {
		log.Error("invalid options", "err", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process at once
	}()
	d := rpc.NewDialer(*masterAddr, log)
	defer d.Close()
	log.Info("worker starting", "id", w.ID(), "master", *masterAddr, "version", version)
	if err := w.Run(ctx, d); err != nil {
		log.Error("worker stopped", "err", err)
		if errors.Is(err, worker.ErrRejected) {
			return 3
		}
		return 1
	}
	return 0
}
