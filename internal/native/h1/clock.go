package h1

import "time"

// epoch anchors nanotime. time.Since from a monotonic start reads only the
// monotonic clock: 37 ns here against 66 ns for time.Now and 33 ns for a
// go:linkname to runtime.nanotime, which is not worth the linkname
// (BenchmarkClock).
var epoch = time.Now()

// nanotime is monotonic nanoseconds since epoch, never 0 after the first
// call (0 means "not yet" in Conn.first).
func nanotime() int64 { return int64(time.Since(epoch)) + 1 }
