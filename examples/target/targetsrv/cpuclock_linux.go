package targetsrv

import (
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPUTime is Linux's CLOCK_THREAD_CPUTIME_ID, which package syscall does not name.
const clockThreadCPUTime = 3

// threadCPUTime is the CPU time, user and system, the calling OS thread has used; ok is false if it
// cannot be read. It is clock_gettime's rather than getrusage's, whose reading of a running thread
// lags by up to a scheduler tick.
func threadCPUTime() (d time.Duration, ok bool) {
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
