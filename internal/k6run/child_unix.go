//go:build unix

package k6run

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// passFiles hands files to the child as descriptors 3, 4, ... (cmd.ExtraFiles) and returns them as
// the output's argument, "3,4".
func passFiles(cmd *exec.Cmd, files ...*os.File) string {
	cmd.ExtraFiles = files
	fds := make([]string, len(files))
	for i := range files {
		fds[i] = strconv.Itoa(3 + i)
	}
	return strings.Join(fds, ",")
}

// askToStop sends SIGTERM, which k6 handles as Ctrl+C.
func askToStop(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// killGroup kills the child's process group (sysProcAttr gives it its own), so nothing it started
// outlives it.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
