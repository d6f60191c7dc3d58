package scenario

import "time"

// Mode says who decides how many users run.
type Mode int

const (
	// Swarm runs the script's default function under k6's externally-controlled executor; the master
	// sets each worker's users live (Locust style).
	Swarm Mode = iota + 1
	// Script runs the script's own options.scenarios as written, split with execution segments (k6 style).
	Script
)

func (m Mode) String() string {
	switch m {
	case Swarm:
		return "swarm"
	case Script:
		return "script"
	default:
		return "unknown"
	}
}

// Part is the share of a run one worker executes.
type Part struct {
	RunID  string
	Bundle *Bundle
	Mode   Mode
	// Env reaches the script as __ENV on every worker.
	Env map[string]string
	// Segment and SegmentSequence (k6 syntax) split a Script-mode run; empty in Swarm mode.
	Segment, SegmentSequence string
	// MaxUsers is the most users this worker is expected to run in Swarm mode (it can be raised live),
	// and MaxDuration bounds the run in time whatever happens to the master.
	MaxUsers    int64
	MaxDuration time.Duration
	// Submetrics are the canonical keys (stats.Selector.Key) of the sub-metrics the script's
	// thresholds name, such as "http_req_duration{name:login}". Only the k6 child sees each sample's
	// tags, so the worker files every matching sample under the key as a metric of its own.
	Submetrics []string
	// Classes are the swarm's user classes: exported functions of the script, each run by the
	// users the master gives it (empty: every user runs the default function).
	Classes []string
	// UserSlot and UserSlots number this worker's users fleet-wide: its user i (from 0) is number
	// i*UserSlots + UserSlot + 1 (a flow's ${vu}, and the row of each: user data sets). UserSlots 0
	// is a fleet of one.
	UserSlot, UserSlots int64
}
