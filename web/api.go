package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"time"

	"github.com/stampede-load/stampede/internal/api"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/report"
)

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, api.ErrorResponse{Error: msg})
}

// decode reads a JSON body strictly: one object, known fields only, within the size limit.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", tooBig.Limit))
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+describeJSONError(err))
		return false
	}
	// More misses a stray closing bracket after the value; only the end of the body may follow it.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "invalid JSON body: more than one JSON value, or data after it")
		return false
	}
	return true
}

func describeJSONError(err error) string {
	var typ *json.UnmarshalTypeError
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q: want %s, got %s", typ.Field, typ.Type, typ.Value)
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d: %v", syn.Offset, err)
	case errors.Is(err, io.EOF):
		return "the body is empty; send a JSON object"
	}
	return err.Error()
}

// statusOf maps the master's errors to HTTP status codes, in one place.
func statusOf(err error) int {
	switch {
	case errors.Is(err, master.ErrBadSettings):
		return http.StatusBadRequest
	case errors.Is(err, master.ErrRunInProgress), errors.Is(err, master.ErrNoRun),
		errors.Is(err, master.ErrNotSwarm), errors.Is(err, master.ErrNoWorkers):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func (s *Server) getConfig(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.opts.Defaults)
}

// runConfig checks a start request and turns it into a run configuration.
func (s *Server) runConfig(req api.StartRequest) (master.RunConfig, error) {
	cfg := s.opts.Template
	cfg.Env = maps.Clone(cfg.Env)
	if cfg.Env == nil {
		cfg.Env = map[string]string{}
	}
	for k, v := range req.Env {
		cfg.Env[k] = v
	}
	if req.RunTime != "" {
		d, err := time.ParseDuration(req.RunTime)
		if err != nil || d < 0 {
			return cfg, fmt.Errorf("run_time %q: want a positive duration such as \"30s\", \"5m\" or \"1h30m\"", req.RunTime)
		}
		cfg.RunTime = d
	} else {
		cfg.RunTime = 0
	}
	if req.SpawnRate != nil {
		cfg.SpawnRate = *req.SpawnRate
	}
	if req.Workers != nil { // the master checks it against its worker Deployment and limit
		cfg.Workers = *req.Workers
	}
	// RunConfig.Validate checks them alone; the master checks them against the script.
	cfg.Tags, cfg.ExcludeTags, cfg.ClassWeights = req.Tags, req.ExcludeTags, req.ClassWeights
	switch req.Mode {
	case "", "swarm":
		if req.Users == nil || *req.Users < 1 {
			return cfg, errors.New("users: give at least 1 user (or \"mode\": \"shape\" for the script's load shape, " +
				"\"mode\": \"script\" for its own scenarios)")
		}
		cfg.Users = *req.Users
	case "shape":
		if req.Users != nil {
			return cfg, errors.New("users: the script's load shape gives the users of a shape run; leave users out")
		}
		cfg.Users, cfg.Shaped = 0, true
	case "script":
		if req.Users != nil && *req.Users != 0 {
			return cfg, errors.New("users: script mode runs the script's own scenarios; leave users out")
		}
		cfg.Users, cfg.SpawnRate = 0, 0
	default:
		return cfg, fmt.Errorf("mode %q: want \"swarm\", \"shape\" or \"script\"", req.Mode)
	}
	return cfg, cfg.Validate()
}

func (s *Server) startRun(w http.ResponseWriter, r *http.Request) {
	var req api.StartRequest
	if !s.decode(w, r, &req) {
		return
	}
	cfg, err := s.runConfig(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if cfg.Workers == 0 && len(s.opts.Core.Snapshot().Workers) == 0 {
		writeError(w, http.StatusConflict, master.ErrNoWorkers.Error()+": start workers pointed at this master first")
		return
	}
	id, err := s.opts.Core.Start(s.opts.RunContext, cfg, s.opts.OnRunEnd)
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	s.log.Info("run started from the API", "run", id, "users", cfg.Users, "spawn_rate", cfg.SpawnRate, "run_time", cfg.RunTime)
	s.hub.Poke()
	writeJSON(w, http.StatusCreated, runView(s.opts.Core.Snapshot()))
}

func (s *Server) getRun(w http.ResponseWriter, _ *http.Request) {
	v := runView(s.opts.Core.Snapshot())
	if v == nil {
		writeError(w, http.StatusNotFound, "no run yet: start one with POST /api/v1/runs")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) updateRun(w http.ResponseWriter, r *http.Request) {
	var req api.UpdateRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.Users == nil && req.SpawnRate == nil {
		writeError(w, http.StatusBadRequest, "nothing to change: give users and/or spawn_rate")
		return
	}
	if err := s.opts.Core.Update(req.Users, req.SpawnRate); err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	s.hub.Poke()
	writeJSON(w, http.StatusOK, runView(s.opts.Core.Snapshot()))
}

func (s *Server) stopRun(w http.ResponseWriter, _ *http.Request) {
	if err := s.opts.Core.Stop("stopped from the API"); err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	s.hub.Poke()
	writeJSON(w, http.StatusAccepted, runView(s.opts.Core.Snapshot()))
}

func (s *Server) resetStats(w http.ResponseWriter, _ *http.Request) {
	if err := s.opts.Core.ResetStats(); err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	s.hub.Poke()
	writeJSON(w, http.StatusOK, runView(s.opts.Core.Snapshot()))
}

func (s *Server) getStats(w http.ResponseWriter, _ *http.Request) {
	snap := s.opts.Core.Snapshot()
	v := statsView(snap)
	if v == nil {
		writeError(w, http.StatusNotFound, "no run yet: start one with POST /api/v1/runs")
		return
	}
	writeJSON(w, http.StatusOK, api.StatsResponse{RunID: snap.Run.ID, StatsView: v})
}

func (s *Server) getWorkers(w http.ResponseWriter, _ *http.Request) {
	ws := workerInfos(s.opts.Core.Snapshot().Workers)
	if ws == nil {
		ws = []api.WorkerInfo{}
	}
	writeJSON(w, http.StatusOK, api.WorkersResponse{Workers: ws})
}

// reports are the downloads, by file name.
var reports = map[string]struct {
	contentType string
	write       func(io.Writer, *master.Result) error
}{
	"stats.csv":         {"text/csv; charset=utf-8", report.WriteStatsCSV},
	"stats_history.csv": {"text/csv; charset=utf-8", report.WriteHistoryCSV},
	"failures.csv":      {"text/csv; charset=utf-8", report.WriteFailuresCSV},
	"summary.json":      {"application/json", report.WriteJSON},
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	rep, ok := reports[file]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no report %q: stats.csv, stats_history.csv, failures.csv or summary.json", file))
		return
	}
	res := resultOf(s.opts.Core.Snapshot())
	if res == nil {
		writeError(w, http.StatusNotFound, "no run yet: start one with POST /api/v1/runs")
		return
	}
	var buf bytes.Buffer
	if err := rep.write(&buf, res); err != nil {
		writeError(w, http.StatusInternalServerError, "writing the report: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", rep.contentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="stampede_%s_%s"`, res.RunID, file))
	_, _ = w.Write(buf.Bytes())
}

// resultOf presents a snapshot as a run result for the report writers; a run in progress ends "now".
func resultOf(s *master.Snapshot) *master.Result {
	r := s.Run
	if r == nil {
		return nil
	}
	res := &master.Result{RunID: r.ID, Mode: r.Mode, Script: r.Script, Engine: r.Engine, Users: r.Users, SpawnRate: r.SpawnRate,
		Started: r.Started, Ended: r.Ended, Aggregate: s.Stats, Points: s.Points, Workers: r.Workers,
		Thresholds: r.Thresholds, Classes: r.Classes, Shape: r.Shape}
	if !r.StatsReset.IsZero() && r.StatsReset.After(res.Started) {
		res.Started = r.StatsReset
	}
	if res.Ended.IsZero() {
		res.Ended = s.Time
	}
	if r.Err != "" {
		res.Err = errors.New(r.Err)
	}
	return res
}
