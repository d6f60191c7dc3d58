//go:build linux

package nodetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// LockPath is the machine-wide lock a Node holds from New to the end of Stop: a node changes
// machine-wide state (sysctls, cgroups, iptables), so two must never overlap, whichever checkout
// or user starts them. /run/lock is a tmpfs: a reboot, which ends every node, also frees it.
const LockPath = "/run/lock/stampede-node.lock"

// machineLock is a held flock; closing the file releases it, as does the holder's death.
type machineLock struct{ f *os.File }

// lockMachine takes the lock at path, calling waiting once if another holder has it, and waits
// until it is free or ctx ends.
func lockMachine(ctx context.Context, path string, waiting func()) (*machineLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("nodetest: lock %s: %w", path, err)
	}
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			// Who holds it, for a person looking at a stuck run.
			_ = f.Truncate(0)
			_, _ = f.WriteAt(fmt.Appendf(nil, "%d\n", os.Getpid()), 0)
			return &machineLock{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("nodetest: lock %s: %w", path, err)
		}
		if !told && waiting != nil {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("nodetest: waiting for another node to release %s: %w", path, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (l *machineLock) release() {
	if l != nil && l.f != nil {
		_ = l.f.Truncate(0)
		l.f.Close()
		l.f = nil
	}
}
