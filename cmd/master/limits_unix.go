//go:build unix

package main

import "syscall"

// fileLimit is how many file descriptors the process may open (RLIMIT_NOFILE's soft limit), 0 if
// unknown.
func fileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return uint64(rl.Cur) // int64 on some BSDs
}
