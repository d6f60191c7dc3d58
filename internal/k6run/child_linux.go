package k6run

import "syscall"

// sysProcAttr ties the child's life to the worker on Linux: the kernel kills the child when the
// worker dies, even of SIGKILL (Pdeathsig). The output's liveness watch (see readBeats) backs it up.
// Its own process group keeps a terminal's Ctrl+C for the worker, which stops its children itself,
// and lets killGroup reach anything the child started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
