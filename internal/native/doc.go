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
// Script mode (Options.Script): Resume starts the flow's scenarios, each at its startTime, each
// running its class's steps with k6's executor semantics, scaled to Options.Segment of
// Options.SegmentSequence with k6's own arithmetic (lib.ExecutionTuple: ScaleInt64, and
// GetStripedOffsets for arrival rates), so the fleet's segments together run what one instance
// would: shared-iterations (10,001 iterations over 0:1/2 and 1/2:1: 5,001 + 5,000),
// per-vu-iterations, constant-vus, constant-arrival-rate and ramping-arrival-rate (an iteration
// with no free user is counted in dropped_iterations, and below maxVUs one more user starts), and
// ramping-vus, whose users follow the plan k6's own
// RampingVUsConfig.GetExecutionRequirements makes for the segment (the halves of 0,1/2,1 of a
// ramp to 5 VUs peak at 3 and 2): a user the ramp takes away ends once its iteration and think
// time are over, or is cut off gracefulRampDown later. The arrival rates' start times are a pure
// function of the fleet's iteration number (startTimes): constant-arrival-rate's i-th at i
// periods, ramping-arrival-rate's where the integral of its linearly ramped rate reaches i+1, as
// k6 computes them; a segment starts its striped numbers, and a segment that scales maxVUs (or a
// shared-iterations' vus) to 0 runs nothing, as k6's HasWork says. An executor stops starting iterations at
// its duration (or maxDuration, or the end of its stages) and cuts off those in flight
// gracefulStop later; the class's think time follows each iteration and holds the user. Once
// every scenario has ended, Status reports k6's ExecutionStatus Ended and the engine lingers
// for Teardown, as a k6 child does, until Terminate (code 0); Stop ends the scenarios early.
// SetVUs and SetClasses are refused.
//
// Stats are k6's: a request row per (name, method, status) with its received bytes, k6's
// http_req_* metrics, http_reqs, http_req_failed (statuses 200-399 are expected), iterations,
// iteration_duration, group_duration, data_sent, data_received, checks and (script mode)
// dropped_iterations, with the group, name, method, status, scenario ("swarm", or the
// script-mode scenario's name), expected_response, url and proto tags that sub-metrics select on;
// in script mode a scenario's own tags (its executor's tags) are on each of its samples too, under
// those (a request's name is its own, whatever the executor's tags say), as k6 tags a script's
// scenarios. A capture that finds nothing is recorded as a failed check named
// "<request name>: capture <name>" and ends the iteration (which still counts, and is followed
// by the think time). vus is not recorded: the master counts users from the workers.
//
// # HTTP
//
// Requests go through h1, one connection per user and host, unless the flow says http2: true;
// then through a net/http transport per user (http2.go), the one branch being user.send. Every
// connection, redirects to other hosts included, is dialled by Options.Dial. TLS uses the
// system roots plus Options.CA (the flow's tls.ca). A request's timeout bounds it whole, its
// redirects included (redirect.go), which are followed and recorded hop by hop as k6 does.
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
// Basic auth in URLs, and Domain, Expires and Secure in the cookie jar. The allow-list is not the engine's: the worker passes Dial, which enforces it
// at dial time, DNS answers included.
package native
