// Package native runs flow scenarios (scenario/flow, docs/flow.md) in the worker's own process:
// the native engine of docs/design/native-engine.md. Its Engine offers what the worker's Child
// interface needs, so the worker drives it as it drives a k6 child process, and everything
// after it (deltas, the master, thresholds, reports) cannot tell the engines apart.
//
// A run:
//
//	e, err := native.Start(ctx, native.Options{Scenario: sc, Data: tables, Env: env, Dial: dial})
//	go forward(e.Deltas())                 // a *stats.Delta every FlushInterval, then closed
//	data, err := e.Setup(ctx)              // on one worker of the fleet
//	err = e.SetSetupData(ctx, data)        // on every worker
//	err = e.Resume(ctx)
//	err = e.SetClasses(map[string]int64{"browser": 6, "buyer": 2})
//	err = e.SetVUs(ctx, 8, 8)              // swarm mode: exactly 8 users, 6 and 2
//	...
//	err = e.Stop(ctx)                      // users finish the request in flight and end
//	err = e.Teardown(ctx)
//	e.Terminate(10 * time.Second)          // then Exited is closed; ExitCode is 0
//
// A user is a goroutine running its class's compiled steps (or one weighted task's) each
// iteration, then its think time, until it is stopped; onStart runs once before its first
// iteration (again after its think time when one of its captures found nothing). It owns one
// h1.Conn per host it talks to, a cookie jar for its life, its capture slots and its data rows.
// Templates are resolved against slots when the engine starts, and each request's static part
// (target, headers, body) is built once, so a static GET allocates nothing in the steady state.
//
// Stats are k6's: a request row per (name, method, status) with its received bytes, k6's
// http_req_* metrics, http_reqs, http_req_failed (statuses 200-399 are expected), iterations,
// iteration_duration, group_duration, data_sent, data_received and checks, with the group,
// name, method, status, scenario ("swarm"), expected_response, url and proto tags that
// sub-metrics select on. A capture that finds nothing is recorded as a failed check named
// "<request name>: capture <name>" and ends the iteration (which still counts, and is followed
// by the think time). vus is not recorded: the master counts users from the workers.
//
// # Concurrency
//
// Every method of Engine is safe for concurrent use. SetVUs, SetClasses, Resume and Stop take
// effect before they return (users are started, or told to stop); Stop then waits, up to its
// context, for the users to end. Setup and Teardown run in the caller's goroutine. A user is
// stopped between two steps or during a think time, never in the middle of a request: a user
// stopped by SetVUs or SetClasses gets userGrace to finish it before its context is
// cancelled. Kill, Terminate's deadline and the end of Start's context cancel every request in
// flight; such a request is not recorded. A panic in a user is recovered, ends the engine, and
// ExitCode reports it with k6's script-error code. Exited closes once every user goroutine has
// returned and the last delta was sent on Deltas, whose reader must keep reading until it is
// closed.
//
// # Not built yet
//
// Script mode (k6's executors, segments, arrival rates and dropped_iterations), HTTP/2,
// redirects, TLS options beyond the system roots, the allow-list (the worker passes Dial, which
// enforces it at dial time), the fleet-wide first user number (Options.FirstUser is the
// worker's to give), basic auth in URLs, and Domain, Expires and Secure in the cookie jar.
package native
