package master

import (
	"encoding/json"
	"errors"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/scenario"
)

// Errors a run ends with; cmd/master maps each to its own exit code.
var (
	ErrScriptNotFound  = errors.New("script not found")
	ErrScriptError     = errors.New("script error")
	ErrModuleNotFound  = errors.New("module not found")
	ErrInvalidOptions  = errors.New("invalid options")
	ErrWorkersTimeout  = errors.New("workers did not connect in time")
	ErrWorkersLost     = errors.New("every worker was lost")
	ErrSetupFailed     = errors.New("setup() failed")
	ErrScriptAborted   = errors.New("the script aborted the test")
	ErrInterrupted     = errors.New("interrupted")
	ErrRunInProgress   = errors.New("a run is in progress")
	ErrProtocolVersion = errors.New("protocol version mismatch")
)

// ErrWorkersPartial: requests may be missing from the results. A worker or its k6 process was lost
// while its load ran and its last stats never arrived (or its load was cut off hard), or, in script
// mode, a worker was lost before its execution segment completed, so that share of the load did not
// run (segments are fixed at the start; nobody takes one over). The message names the workers and
// the time windows.
var ErrWorkersPartial = errors.New("the results are partial")

// ErrTeardownFailed: teardown() threw, timed out, or no worker was left to run it.
var ErrTeardownFailed = errors.New("teardown() failed")

// WorkerConn is how the master talks to one connected worker. Every method only queues the message
// and never blocks for long; an error means the connection is gone.
type WorkerConn interface {
	Assign(p scenario.Part) error
	RunSetup(runID string) error
	Start(runID string, setupData json.RawMessage) error
	Control(c protocol.Control) error
	RunTeardown(runID string) error
	Finish(runID, reason string) error
	// Close drops the connection (the worker reconnects).
	Close()
}

// State is where the current run stands.
type State string

// Run states.
const (
	Idle      State = "idle"
	Preparing State = "preparing"
	Running   State = "running"
	Stopping  State = "stopping"
	Stopped   State = "stopped"
)
