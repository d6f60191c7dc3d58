package k6run

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"
)

// sysProcAttr on Windows, which has neither Pdeathsig nor inherited descriptor numbers: what ties
// the child's life to the worker is the liveness pipe. The worker holds its only write end (the
// child inherits the read end alone, see passFiles), so when the worker ends, even by
// TerminateProcess, Windows closes it and the child's output reads end of file and exits at once
// (see readBeats); a worker that lives but freezes stops beating, and the output stops the load
// after LivenessTimeout. The child gets its own process group so that askToStop can send it a
// Ctrl+Break alone, and the console's Ctrl+C reaches only the worker, which stops its children itself.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// passFiles lets the child inherit files (and no other handle) and returns their handle values,
// which are the same in the child, as the output's argument. It needs cmd.SysProcAttr set.
func passFiles(cmd *exec.Cmd, files ...*os.File) string {
	hs := make([]string, len(files))
	for i, f := range files {
		h := syscall.Handle(f.Fd()) // os.Pipe's handles are inheritable, as the list requires
		cmd.SysProcAttr.AdditionalInheritedHandles = append(cmd.SysProcAttr.AdditionalInheritedHandles, h)
		hs[i] = strconv.FormatUint(uint64(h), 10)
	}
	return strings.Join(hs, ",")
}

// askToStop sends the child's process group a Ctrl+Break, which k6 handles as Ctrl+C. Windows
// delivers console events only to processes attached to the sender's console: a worker without
// one (a service) gets an error, and the child is killed instead.
func askToStop(p *os.Process) error {
	return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(p.Pid))
}

// killGroup has nothing to do on Windows: a k6 child starts no processes, and Kill's Process.Kill
// (TerminateProcess) ends the child itself.
func killGroup(*os.Process) {}
