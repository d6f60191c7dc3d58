//go:build unix && !linux

package k6run

import "syscall"

// sysProcAttr on macOS and the BSDs, which have no Pdeathsig: what ties the child's life to the
// worker is the liveness pipe. The worker holds its only write end, so when the worker dies, even of
// SIGKILL, the kernel closes it and the child's output reads end of file and exits at once (see
// readBeats); a worker that lives but freezes stops beating, and the output stops the load after
// LivenessTimeout. Its own process group keeps a terminal's Ctrl+C for the worker and lets killGroup
// reach anything the child started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
