//go:build !linux

package targetsrv

import "time"

// threadCPUTime is not read on this system: /cpu?ms= burns against the wall clock.
func threadCPUTime() (time.Duration, bool) { return 0, false }
