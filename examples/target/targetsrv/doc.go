// Package targetsrv is the demo HTTP target that Stampede examples and
// end-to-end tests aim at. Besides a few endpoints with controllable cost
// (latency, CPU, status codes) it keeps exact counts of what it served, so a
// test can compare what the load tester reported with what the target saw.
//
// # Counting
//
// Every request is counted once, when its status line is written, so the
// count is visible before the client can read the response. Requests whose
// path is /stats, /healthz or /reset are never counted: they are how tests
// observe and reset the counts.
//
// Requests are counted under the path of the route that served them, with
// wildcards filled in: "/", "/slow", "/cpu", "/json", "/login" and
// "/status/503". A /status request with an invalid code is counted under the
// pattern "/status/{code}" so that arbitrary paths cannot grow the table.
// Requests that matched no route (the 404 and 405 answers of the router) are
// counted under "(unmatched)". A /slow or /cpu?ms= request abandoned by its
// client is counted with status 499.
//
// # CPU
//
// /cpu takes one of two parameters. work=N runs N rounds of a hash, a fixed
// amount of work whose time depends on the machine. ms=N runs rounds until
// the thread doing them has used N milliseconds of CPU (user and system, read
// with clock_gettime(CLOCK_THREAD_CPUTIME_ID); the goroutine keeps its OS
// thread meanwhile), so each request costs the same CPU however busy the
// machine or however tight the container's CPU limit: a saturated target
// answers later, as a real CPU-bound service would, which is what an HPA on
// CPU should see. Systems other than Linux burn against the wall clock
// instead. N is at most Options.MaxCPUTime (1 s by default); both parameters
// together are a 400. The answer says what was burned:
//
//	{"ms":20,"clock":"thread_cpu","burned_ms":20.004,"wall_ms":20.131,"work":15581184,"result":"…"}
//
// burned_ms is on clock ("thread_cpu" or "wall"), wall_ms the time the burn
// took on the wall clock, work the rounds run and result their hash.
//
// # Concurrency
//
// A [Server] is safe for concurrent use; [Server.ServeHTTP], [Server.Counts]
// and [Server.Reset] may be called from any goroutine.
package targetsrv
