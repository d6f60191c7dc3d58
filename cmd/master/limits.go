package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/rpc"
)

// limitsConfig bounds what a run and the worker port may take (docs/limits.md).
type limitsConfig struct {
	maxUsers, maxWorkerVUs int64
	maxWorkerConns         int
}

func (l *limitsConfig) flags(fs *flag.FlagSet) {
	fs.Int64Var(&l.maxUsers, "max-users", master.DefaultMaxUsers, "the most users (VUs) a run may have, fleet-wide (docs/limits.md)")
	fs.Int64Var(&l.maxWorkerVUs, "max-worker-vus", master.DefaultMaxWorkerVUs, "the most VUs one worker may run: a run whose share per worker is larger is refused before any load")
	fs.IntVar(&l.maxWorkerConns, "max-worker-connections", rpc.DefaultMaxConnections,
		"the most connections to the worker port (--master-bind) open at once; lowered if the file limit (ulimit -n) needs it")
}

func (l *limitsConfig) validate() error {
	switch {
	case l.maxUsers < 1:
		return fmt.Errorf("--max-users %d: must be at least 1", l.maxUsers)
	case l.maxWorkerVUs < 1:
		return fmt.Errorf("--max-worker-vus %d: must be at least 1", l.maxWorkerVUs)
	case l.maxWorkerConns < 1:
		return fmt.Errorf("--max-worker-connections %d: must be at least 1", l.maxWorkerConns)
	}
	return nil
}

// workerListener holds at most --max-worker-connections connections of lis open, fewer when the
// process's file limit would otherwise let a flood of connections to the worker port use up the
// descriptors the web server and the k6 children need.
func (l *limitsConfig) workerListener(lis net.Listener, log *slog.Logger) net.Listener {
	fds := fileLimit()
	n := rpc.ConnectionLimit(l.maxWorkerConns, fds)
	if n < l.maxWorkerConns {
		log.Warn("--max-worker-connections lowered to leave file descriptors to the web server and k6 (raise ulimit -n to allow more)",
			"asked", l.maxWorkerConns, "allowed", n, "file_limit", fds)
	}
	return rpc.LimitListener(lis, n)
}
