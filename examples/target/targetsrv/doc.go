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
// counted under "(unmatched)". A /slow request abandoned by its client is
// counted with status 499.
//
// # Concurrency
//
// A [Server] is safe for concurrent use; [Server.ServeHTTP], [Server.Counts]
// and [Server.Reset] may be called from any goroutine.
package targetsrv
