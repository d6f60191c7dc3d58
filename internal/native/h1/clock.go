package h1

import _ "unsafe" // for go:linkname

// nanotime is the runtime's monotonic clock, one vDSO call; time.Now reads
// the wall clock too (BenchmarkClock).
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64
