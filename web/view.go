package web

import (
	"time"

	"github.com/stampede-load/stampede/internal/api"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/report"
	"github.com/stampede-load/stampede/internal/stats"
)

// The views convert the master's snapshot into the published types of internal/api.

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

func runView(s *master.Snapshot) *api.RunView {
	r := s.Run
	if r == nil {
		return nil
	}
	return &api.RunView{ID: r.ID, State: api.State(r.State), Mode: r.Mode.String(), Script: r.Script, Engine: r.Engine, Users: r.Users,
		SpawnRate: r.SpawnRate, RunTime: durationString(r.RunTime), Env: r.Env, Started: timePtr(r.Started),
		Ended: timePtr(r.Ended), ElapsedSeconds: r.Elapsed(s.Time).Seconds(), UsersRunning: r.UsersRunning,
		Error: r.Err, NameCap: r.NameCap, NamesFolded: r.NamesFolded, StatsReset: timePtr(r.StatsReset),
		Workers: report.WorkerResults(r.Workers), Thresholds: report.ThresholdResults(r.Thresholds), WorkersAsked: r.WorkersAsked,
		Classes: report.UserClasses(r.Classes), Tags: r.Tags, ExcludeTags: r.ExcludeTags, Shape: report.Shape(r.Shape)}
}

// statsView builds the tables; rates per second are over the time the statistics cover.
func statsView(s *master.Snapshot) *api.StatsView {
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
	v := &api.StatsView{Totals: api.Row{Stat: totals}, Rows: make([]api.Row, len(rows)), Errors: errs, Checks: checks}
	for i, st := range rows {
		c := s.Current[master.NameMethod{Name: st.Name, Method: st.Method}]
		v.Rows[i] = api.Row{Stat: st, CurrentRPS: c.RPS, CurrentFailuresPerS: c.FailuresPerSecond}
		v.Totals.CurrentRPS += c.RPS
		v.Totals.CurrentFailuresPerS += c.FailuresPerSecond
	}
	return v
}

// workerInfos publishes the connected workers; nil stays nil.
func workerInfos(ws []master.WorkerInfo) []api.WorkerInfo {
	return api.List(ws, func(w master.WorkerInfo) api.WorkerInfo {
		return api.WorkerInfo{Index: w.Index, ID: w.ID, Host: w.Host, CPUs: w.CPUs, Connected: w.Connected,
			State: w.State, Users: w.Users, CPUPercent: w.CPUPercent, Memory: w.Memory, LastSeen: w.LastSeen,
			AllowHosts: w.AllowHosts}
	})
}

func logEntries(ls []master.LogEntry) []api.LogEntry {
	out := make([]api.LogEntry, len(ls))
	for i, l := range ls {
		out[i] = api.LogEntry{Seq: l.Seq, Time: l.Time, Worker: l.Worker, Level: l.Level, Source: l.Source, Message: l.Message}
	}
	return out
}

func fleetStatus(f *master.FleetStatus) *api.FleetStatus {
	if f == nil {
		return nil
	}
	return &api.FleetStatus{Name: f.Name, Desired: f.Desired, Spec: f.Spec, Ready: f.Ready, Error: f.Error}
}

// gauges are the master's sampled gauges by the names thresholds give them (nil stays nil: JSON null).
func gauges(g map[stats.GaugeKey]float64) map[string]float64 {
	if g == nil {
		return nil
	}
	out := make(map[string]float64, len(g))
	for k, v := range g {
		out[k.String()] = v
	}
	return out
}
