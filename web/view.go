package web

import (
	"time"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/report"
)

// The JSON the API and the websocket serve. docs/api.md documents every field.

// Frame is one websocket message. A client gets a "snapshot" when it connects (the whole series and
// the kept log lines), then an "update" every second whose series and logs hold only what is new
// since the previous frame (points by time, log lines by seq).
type Frame struct {
	Type     string              `json:"type"` // "snapshot" or "update"
	Time     time.Time           `json:"time"`
	Defaults Defaults            `json:"defaults"`
	Run      *RunView            `json:"run"` // null before the first run
	Stats    *StatsView          `json:"stats"`
	Workers  []master.WorkerInfo `json:"workers"`
	Series   []report.Point      `json:"series"`
	Logs     []master.LogEntry   `json:"logs"`
	// Fleet is the worker Deployment the master scales (null: none); Gauges are the watched HPAs'
	// values now, e.g. {"hpa_replicas{hpa:web}": 3} (null: none watched).
	Fleet  *master.FleetStatus `json:"fleet"`
	Gauges map[string]float64  `json:"gauges"`
}

// Defaults prefill the UI's start form; they come from the master's flags.
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
}

// RunView is the current or last run.
type RunView struct {
	ID             string                   `json:"id"`
	State          master.State             `json:"state"` // preparing, running, stopping, stopped
	Mode           string                   `json:"mode"`  // swarm or script
	Script         string                   `json:"script"`
	Users          int64                    `json:"users"` // asked for now
	SpawnRate      float64                  `json:"spawn_rate"`
	RunTime        string                   `json:"run_time"`
	Env            map[string]string        `json:"env"`
	Started        *time.Time               `json:"started"`
	Ended          *time.Time               `json:"ended"`
	ElapsedSeconds float64                  `json:"elapsed_seconds"`
	UsersRunning   int64                    `json:"users_running"` // reported by the workers
	Error          string                   `json:"error,omitempty"`
	NameCap        int                      `json:"name_cap"`
	NamesFolded    int                      `json:"names_folded"`
	StatsReset     *time.Time               `json:"stats_reset"`
	Workers        []master.WorkerResult    `json:"workers"`
	Thresholds     []master.ThresholdResult `json:"thresholds"`
	WorkersAsked   int                      `json:"workers_asked"` // the Deployment was scaled to this many for the run (0: not scaled)
}

// StatsView is the request table, errors and checks of the current or last run.
type StatsView struct {
	Totals Row            `json:"totals"`
	Rows   []Row          `json:"rows"`
	Errors []report.Error `json:"errors"`
	Checks []report.Check `json:"checks"`
}

// Row is a request table row with its recent rates (over the last 10 closed seconds).
type Row struct {
	report.Stat
	CurrentRPS          float64 `json:"current_rps"`
	CurrentFailuresPerS float64 `json:"current_failures_per_second"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func durationString(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return d.String()
}

func runView(s *master.Snapshot) *RunView {
	r := s.Run
	if r == nil {
		return nil
	}
	return &RunView{ID: r.ID, State: r.State, Mode: r.Mode.String(), Script: r.Script, Users: r.Users,
		SpawnRate: r.SpawnRate, RunTime: durationString(r.RunTime), Env: r.Env, Started: timePtr(r.Started),
		Ended: timePtr(r.Ended), ElapsedSeconds: r.Elapsed(s.Time).Seconds(), UsersRunning: r.UsersRunning,
		Error: r.Err, NameCap: r.NameCap, NamesFolded: r.NamesFolded, StatsReset: timePtr(r.StatsReset),
		Workers: r.Workers, Thresholds: r.Thresholds, WorkersAsked: r.WorkersAsked}
}

// statsView builds the tables; rates per second are over the time the statistics cover.
func statsView(s *master.Snapshot) *StatsView {
	if s.Run == nil || s.Stats == nil {
		return nil
	}
	from := s.Run.Started
	if s.Run.StatsReset.After(from) {
		from = s.Run.StatsReset
	}
	end := s.Time
	if !s.Run.Ended.IsZero() {
		end = s.Run.Ended
	}
	secs := 0.0
	if !from.IsZero() && end.After(from) {
		secs = end.Sub(from).Seconds()
	}
	totals, rows, errs, checks := report.Tables(s.Stats, secs)
	v := &StatsView{Totals: Row{Stat: totals}, Rows: make([]Row, len(rows)), Errors: errs, Checks: checks}
	for i, st := range rows {
		c := s.Current[master.NameMethod{Name: st.Name, Method: st.Method}]
		v.Rows[i] = Row{Stat: st, CurrentRPS: c.RPS, CurrentFailuresPerS: c.FailuresPerSecond}
		v.Totals.CurrentRPS += c.RPS
		v.Totals.CurrentFailuresPerS += c.FailuresPerSecond
	}
	return v
}
