// Package k6run is Stampede's only contact with the k6 engine.
//
// k6's command line ends in os.Exit, so k6 always runs in a child process: the worker and the master
// re-execute their own binary with the "k6" subcommand, which calls [Exec]. Everything else here runs
// in the parent:
//
//   - [Start] launches `k6 run` for one assignment: paused, on its own loopback REST port, without
//     setup, teardown, thresholds or summary (the master owns those), and with the "stampede" output
//     extension, which folds every sample into a [stats.Delta] and writes one delta per second to the
//     parent over a pipe, encoded with encoding/gob. k6's vu system tag is turned on so that the
//     output can give a request row the bytes of the iterations that made only its requests (k6
//     counts received bytes per iteration, not per request; see iterations).
//   - [Child] drives that process over k6's REST API: readiness, setup and teardown, resume, live VU
//     changes, stop.
//   - [Inspect] validates a script and returns k6's consolidated options.
//   - The JS module k6/x/stampede (module.go), registered in every binary that links this package,
//     tells a swarm script's VU which user class to run; the parent sets the per-class VU targets
//     with [RunOptions].Classes and [Child.SetClasses] (groundwork for issue 19, see
//     docs/design/user-classes.md).
//
// Every child gets K6_NO_USAGE_REPORT, K6_AUTO_EXTENSION_RESOLUTION=false and K6_BINARY_PROVISIONING=false
// so k6 never reaches for the network by itself, and dies with its parent: a load generator never
// runs unsupervised. On every OS the parent is the only writer of a liveness pipe, so the output exits
// when the parent dies and stops the test when the parent stops beating; on Linux the kernel also
// kills the child with its parent (Pdeathsig). The child_*.go files say what each OS does.
//
// A Child's methods are safe for concurrent use.
package k6run
