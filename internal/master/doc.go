// Package master is the core of a Stampede master: the registry of connected workers and the
// run in progress, from the script's validation to its result.
//
// A run goes through its phases in order: prepare (the Loader makes the run's k6 archive and
// validates it, before any load), wait for the workers (scaling a Fleet first when the run asks
// for workers), assign each worker its part (script mode: an execution segment), wait until every
// k6 child is ready, setup() once, start them together, drive the load (swarm mode: users split
// by Plan and ramped at the spawn rate; script mode: the script's own scenarios), stop it,
// teardown() once, finish every worker and collect its last stats. The Result says how it ended;
// an error means the totals may not be what the script asked for, and which error says why.
//
// One goroutine owns all of it (loop.go). internal/rpc's connection goroutines call the
// worker-facing methods (Join, Leave, Heartbeat, Stats, Status, PhaseResult, Logs), which hand the
// loop an event; callers (cmd/master, web) call Start, Stop, Update, ResetStats and read Snapshot,
// Progress and Workers, which run on the loop. The run's phases execute on the loop too, and
// handle events while they wait, so nothing in a run changes under a step that is looking at it
// and there is no lock. The loop talks to workers only through WorkerConn, whose methods queue a
// message and never block; a message that cannot be queued means the connection is gone, and
// that is handled as the worker leaving.
//
// Rules the Coordinator keeps:
//   - A worker's stats are merged once: each delta has a sequence number that grows for the
//     worker's whole life, and a resend after a reconnect is dropped (Welcome says what was merged).
//   - A run whose totals may be short never ends without an error: a worker lost while its load
//     ran, or whose k6 child died, is ErrWorkersPartial unless it proves its stats whole (loss.go).
//   - Settings over a limit are refused before any load (limits.go), and so is a script k6 cannot
//     load.
//   - One run at a time.
package master
