package api

import "time"

// Frame is one websocket message. A client gets a "snapshot" when it connects (the whole series and
// the kept log lines), then an "update" every second whose series and logs hold only what is new
// since the previous frame (points by time, log lines by seq).
type Frame struct {
	Type     string       `json:"type"` // "snapshot" or "update"
	Time     time.Time    `json:"time"`
	Defaults Defaults     `json:"defaults"`
	Run      *RunView     `json:"run"` // null before the first run
	Stats    *StatsView   `json:"stats"`
	Workers  []WorkerInfo `json:"workers"`
	Series   []Point      `json:"series"`
	Logs     []LogEntry   `json:"logs"`
	// Fleet is the worker Deployment the master scales (null: none); Gauges are the watched HPAs'
	// values now, e.g. {"hpa_replicas{hpa:web}": 3} (null: none watched).
	Fleet  *FleetStatus       `json:"fleet"`
	Gauges map[string]float64 `json:"gauges"`
}

// Defaults prefill the UI's start form (GET /api/v1/config); they come from the master's flags.
type Defaults struct {
	Script    string            `json:"script"`
	Users     int64             `json:"users"`
	SpawnRate float64           `json:"spawn_rate"`
	RunTime   string            `json:"run_time"` // a Go duration ("30s", "5m") or ""
	Env       map[string]string `json:"env"`
	// Workers prefills the workers to scale to (0: use the connected ones); MaxWorkers bounds it.
	// Both are 0 when the master scales no worker Deployment (Scaling false).
	Scaling    bool `json:"scaling"`
	Workers    int  `json:"workers"`
	MaxWorkers int  `json:"max_workers"`
	// Tags, ExcludeTags and ClassWeights prefill the user-class fields (null: none given).
	Tags         []string         `json:"tags"`
	ExcludeTags  []string         `json:"exclude_tags"`
	ClassWeights map[string]int64 `json:"class_weights"`
}

// State is a run's state: preparing, running, stopping or stopped.
type State string

// RunView is the current or last run (GET /api/v1/runs/current and the answer to every change).
type RunView struct {
	ID             string            `json:"id"`
	State          State             `json:"state"`
	Mode           string            `json:"mode"` // swarm or script
	Script         string            `json:"script"`
	Engine         string            `json:"engine"` // k6 or native; empty until the file has been read
	Users          int64             `json:"users"`  // asked for now
	SpawnRate      float64           `json:"spawn_rate"`
	RunTime        string            `json:"run_time"`
	Env            map[string]string `json:"env"`
	Started        *time.Time        `json:"started"`
	Ended          *time.Time        `json:"ended"`
	ElapsedSeconds float64           `json:"elapsed_seconds"`
	UsersRunning   int64             `json:"users_running"` // reported by the workers
	Error          string            `json:"error,omitempty"`
	NameCap        int               `json:"name_cap"`
	NamesFolded    int               `json:"names_folded"`
	StatsReset     *time.Time        `json:"stats_reset"`
	Workers        []WorkerResult    `json:"workers"`
	Thresholds     []ThresholdResult `json:"thresholds"`
	WorkersAsked   int               `json:"workers_asked"` // the Deployment was scaled to this many for the run (0: not scaled)
	// Classes are the user classes the run runs (null: none); Tags and ExcludeTags chose them.
	Classes     []UserClass `json:"classes"`
	Tags        []string    `json:"tags"`
	ExcludeTags []string    `json:"exclude_tags"`
	Shape       *Shape      `json:"shape"` // the load shape driving the run (null: none)
}

// UserClass is one user class of a run (Locust's User class): the script's function its users run.
type UserClass struct {
	Name   string   `json:"name"`
	Weight int64    `json:"weight"`
	Tags   []string `json:"tags"`
	Users  int64    `json:"users"` // asked of the workers now, fleet-wide: the users split by the weights
}

// Shape is a run's load shape (Locust's LoadTestShape) and where it stands.
type Shape struct {
	Stages []Stage `json:"stages"`
	// Stage is the stage playing: 0-based, -1 before the load starts, len(stages) once every stage has run.
	Stage int `json:"stage"`
	// TakenOver: a live change of users or spawn rate stopped the shape; the run goes on at what was asked.
	TakenOver bool `json:"taken_over"`
}

// Stage is one step of a load shape: for Duration, the swarm heads for Users at SpawnRate users per second.
type Stage struct {
	Duration  string  `json:"duration"` // a Go duration: "1m0s"
	Users     int64   `json:"users"`
	SpawnRate float64 `json:"spawn_rate"` // 0: all at once
}

// StatsView is the request table, errors and checks of the current or last run.
type StatsView struct {
	Totals Row     `json:"totals"`
	Rows   []Row   `json:"rows"`
	Errors []Error `json:"errors"`
	Checks []Check `json:"checks"`
}

// Row is a request table row with its recent rates (over the last 10 closed seconds).
type Row struct {
	Stat
	CurrentRPS          float64 `json:"current_rps"`
	CurrentFailuresPerS float64 `json:"current_failures_per_second"`
}

// StatsResponse is the answer to GET /api/v1/stats.
type StatsResponse struct {
	RunID string `json:"run_id"`
	*StatsView
}

// WorkersResponse is the answer to GET /api/v1/workers.
type WorkersResponse struct {
	Workers []WorkerInfo `json:"workers"`
}

// WorkerInfo describes a connected worker as its last heartbeat did.
type WorkerInfo struct {
	Index      int       `json:"index"`
	ID         string    `json:"id"`
	Host       string    `json:"host"`
	CPUs       int       `json:"cpus"`
	Connected  bool      `json:"connected"`
	State      string    `json:"state"`
	Users      int64     `json:"users"`
	CPUPercent float64   `json:"cpu_percent"`
	Memory     uint64    `json:"memory_bytes"`
	LastSeen   time.Time `json:"last_heartbeat"`
	// AllowHosts is the worker's --allow-hosts (docs/limits.md); empty: it may reach any target.
	AllowHosts []string `json:"allow_hosts,omitempty"`
}

// LogEntry is a script log line. Seq increases by one per line, so a reader can ask for what is new.
type LogEntry struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Worker  int       `json:"worker"`
	Level   string    `json:"level"`
	Source  string    `json:"source"`
	Message string    `json:"message"`
}

// FleetStatus is the worker pool as the master's scaler last saw it.
type FleetStatus struct {
	Name    string `json:"name"`    // what is scaled, "deployment default/lt-stampede-worker"
	Desired int    `json:"desired"` // what the master asks for
	Spec    int    `json:"spec"`    // what the Deployment's spec says
	Ready   int    `json:"ready"`   // its ready replicas
	Error   string `json:"error,omitempty"`
}

// StartRequest is the body of POST /api/v1/runs.
type StartRequest struct {
	// Mode is "swarm" (default: Users users run the script's default function, or its user
	// classes), "shape" (the script's load shape drives the users; Users left out) or "script" (the
	// script's own scenarios, split over the workers).
	Mode      string            `json:"mode"`
	Users     *int64            `json:"users"`
	SpawnRate *float64          `json:"spawn_rate"`
	RunTime   string            `json:"run_time"` // a Go duration: "30s", "5m", "1h30m"; "" runs until stopped
	Env       map[string]string `json:"env"`
	// Workers scales the worker Deployment to this many for the run and waits for them (a master
	// started with --kube-deployment); absent or 0 runs on the workers connected.
	Workers *int `json:"workers"`
	// Tags and ExcludeTags choose the script's user classes (Locust's --tags and --exclude-tags);
	// ClassWeights replace the script's weights, by class name.
	Tags         []string         `json:"tags"`
	ExcludeTags  []string         `json:"exclude_tags"`
	ClassWeights map[string]int64 `json:"class_weights"`
}

// UpdateRequest is the body of PATCH /api/v1/runs/current; an absent field stays as it is.
type UpdateRequest struct {
	Users     *int64   `json:"users"`
	SpawnRate *float64 `json:"spawn_rate"`
}

// ErrorResponse is the body of every error the API answers.
type ErrorResponse struct {
	Error string `json:"error"`
}
