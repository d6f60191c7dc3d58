package worker

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// ProtocolMajor and ProtocolMinor are the protocol version this worker speaks. A master with another
// major version refuses the worker.
const (
	ProtocolMajor = 2
	ProtocolMinor = 0
)

// ErrRejected is returned (wrapped, with the master's reason) when the master refuses this worker;
// retrying would not help.
var ErrRejected = errors.New("master refused this worker")

// ErrUnauthorized is returned (wrapped) when the master refuses this worker's credentials (its join
// token or TLS client certificate). The worker keeps retrying: a corrected Secret heals it.
var ErrUnauthorized = errors.New("the master refused this worker's credentials")

// Hello introduces the worker when it connects.
type Hello struct {
	ProtocolMajor, ProtocolMinor uint32
	WorkerID                     string
	Host                         string
	CPUs                         int
	Version                      string
	LastStatsSeq                 uint64
	AllowHosts                   []string // Options.Allow, for the master to show
}

// Welcome is the master's answer to Hello.
type Welcome struct {
	Index       int
	AckStatsSeq uint64
	Heartbeat   time.Duration
}

// Dialer opens a session with the master.
type Dialer interface {
	// Dial connects and exchanges Hello/Welcome. An error wrapping ErrRejected is final.
	Dial(ctx context.Context, h Hello) (Session, Welcome, error)
}

// Session is one connection to the master. Send is safe for concurrent use and keeps order; Recv is
// called from one goroutine.
type Session interface {
	Send(Event) error
	Recv() (Command, error)
	Close() error
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
	State      string
	Users      int64
	CPUPercent float64
	Memory     uint64
}

// RunState is where a run stands on this worker.
type RunState int

// Run states reported to the master.
const (
	Preparing RunState = iota + 1
	Ready
	Running
	Done
	Finished
	Failed
)

// Status reports a run's state change. ExitCode and Error are set with Finished and Failed.
type Status struct {
	RunID        string
	State        RunState
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
	Lines   []k6run.LogLine
	Dropped uint64
}

func (Heartbeat) event()   {}
func (Status) event()      {}
func (Stats) event()       {}
func (PhaseResult) event() {}
func (Logs) event()        {}
