package main

// fileLimit is 0, unknown, on Windows: a process has no descriptor limit like Unix's RLIMIT_NOFILE
// (its handles are bounded by memory), so the worker connections are not lowered for it.
func fileLimit() uint64 { return 0 }
