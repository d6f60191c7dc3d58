// Package protocol is the vocabulary a master and its workers share: the protocol version, the
// messages each sends the other, and the states a worker's part of a run goes through. The master
// (internal/master), the worker (internal/worker), the transport (internal/rpc, which converts these
// to and from protobuf) and both Prometheus collectors use these types; none defines its own.
//
// Rules: a message here changes only with the protocol version. A new field or state is a minor
// version (an older peer ignores it); a field that changes meaning or goes away is a major one,
// and a master refuses a worker of another major version.
package protocol

import (
	"encoding/json"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// Major and Minor are the protocol version this build speaks. Major 2: a run's bundle is one k6
// archive (scenario.ArchiveName), which the worker edits for swarm mode.
const (
	Major = 2
	Minor = 1
)

// Hello introduces a worker when it connects.
type Hello struct {
	ProtocolMajor, ProtocolMinor uint32
	WorkerID                     string
	Host                         string
	CPUs                         int
	Version                      string
	// LastStatsSeq is the worker's last stats sequence number.
	LastStatsSeq uint64
	// AllowHosts is the worker's --allow-hosts: the only targets its k6 may reach (empty: any).
	AllowHosts []string
}

// Welcome is the master's answer to Hello.
type Welcome struct {
	Index int
	// AckStatsSeq is the highest stats sequence number of the worker the master has merged.
	AckStatsSeq uint64
	// Heartbeat is how often the worker must send a Heartbeat.
	Heartbeat time.Duration
}

// WorkerState is where a worker's part of a run stands, as its heartbeats and Status messages say.
type WorkerState int

// Worker states. Preparing to Failed have the numbers of the protobuf RunState.
const (
	Unknown   WorkerState = -1 // a state this build does not know (a newer worker's)
	Idle      WorkerState = 0  // no run
	Preparing WorkerState = 1  // its k6 child is loading the script
	Ready     WorkerState = 2  // paused, ready to start
	Running   WorkerState = 3
	Done      WorkerState = 4 // its test ended; the child lingers for teardown() and the last stats
	Finished  WorkerState = 5 // the child exited
	Failed    WorkerState = 6 // the child could not start, or failed
)

// WorkerStates are the known states, in order.
var WorkerStates = []WorkerState{Idle, Preparing, Ready, Running, Done, Finished, Failed}

var stateNames = map[WorkerState]string{Idle: "idle", Preparing: "preparing", Ready: "ready", Running: "running",
	Done: "done", Finished: "finished", Failed: "failed"}

// String is the state's name on the wire, in the UI and in metrics labels: "running".
func (s WorkerState) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return "unknown"
}

// ParseWorkerState is the state named n; Unknown for a name this build does not know.
func ParseWorkerState(n string) WorkerState {
	for s, name := range stateNames {
		if name == n {
			return s
		}
	}
	return Unknown
}

// Over: the worker's k6 child has ended, so it runs no load and answers nothing more about the run.
func (s WorkerState) Over() bool { return s == Finished || s == Failed }

// LogLine is one line a script logged (console.log, an exception) or its k6 logged.
type LogLine struct {
	Time    time.Time
	Level   string
	Message string
	// Source is "console" for console.log and friends, "exception" for script errors, "k6" otherwise.
	Source string
}

// Command is a message from the master: one of the types below.
type Command interface{ command() }

// Assign gives the worker its part of a run; the worker starts a paused k6 child and reports Ready.
type Assign struct{ Part scenario.Part }

// RunSetup asks this worker to run the script's setup() once for the whole fleet.
type RunSetup struct{ RunID string }

// Start resumes the paused child with the fleet's setup() data.
type Start struct {
	RunID     string
	SetupData json.RawMessage
}

// Control is desired state, applied only if Seq is higher than the last applied for the run.
type Control struct {
	RunID     string
	Seq       uint64
	Users     int64
	SpawnRate float64
	Stop      bool
	// Classes are how many of Users each user class runs (swarm mode with classes; minor 1).
	Classes map[string]int64
}

// RunTeardown asks this worker to run the script's teardown() once for the whole fleet.
type RunTeardown struct{ RunID string }

// Finish ends the run on this worker: the child exits and its last delta is sent.
type Finish struct {
	RunID  string
	Reason string
}

// MasterHeartbeat carries the master's acknowledgement of stats deltas.
type MasterHeartbeat struct{ AckStatsSeq uint64 }

func (Assign) command()          {}
func (RunSetup) command()        {}
func (Start) command()           {}
func (Control) command()         {}
func (RunTeardown) command()     {}
func (Finish) command()          {}
func (MasterHeartbeat) command() {}

// Event is a message to the master: one of the types below.
type Event interface{ event() }

// Heartbeat says the worker is alive and what it costs.
type Heartbeat struct {
	State      WorkerState
	Users      int64
	CPUPercent float64
	Memory     uint64
}

// Status reports a run's state change. ExitCode and Error are set with Finished and Failed.
type Status struct {
	RunID        string
	State        WorkerState
	ExitCode     int
	Error        string
	LastStatsSeq uint64
}

// Stats is one stats delta.
type Stats struct {
	RunID string
	Seq   uint64
	Delta *stats.Delta
}

// Phase names the once-per-run lifecycle functions.
type Phase int

// Phases.
const (
	SetupPhase Phase = iota + 1
	TeardownPhase
)

// PhaseResult is the outcome of RunSetup or RunTeardown.
type PhaseResult struct {
	RunID string
	Phase Phase
	Data  json.RawMessage
	Error string
}

// Logs carries script log lines, rate limited; Dropped counts what the limit left out.
type Logs struct {
	RunID   string
	Lines   []LogLine
	Dropped uint64
}

func (Heartbeat) event()   {}
func (Status) event()      {}
func (Stats) event()       {}
func (PhaseResult) event() {}
func (Logs) event()        {}
