package main

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/worker"
)

const collectorHelp = `
# HELP stampede_worker_connected 1 while a session with a master is open, else 0.
# TYPE stampede_worker_connected gauge
# HELP stampede_worker_users Users (k6 VUs) the current run's k6 child reports running.
# TYPE stampede_worker_users gauge
# HELP stampede_worker_state 1 for the state of this worker's current run (idle without one), 0 for the others.
# TYPE stampede_worker_state gauge
# HELP stampede_worker_runs_total Runs assigned to this worker since it started.
# TYPE stampede_worker_runs_total counter
# HELP stampede_worker_sessions_total Sessions opened with a master since the worker started; more than one means reconnects.
# TYPE stampede_worker_sessions_total counter
# HELP stampede_worker_stats_pending Stats deltas waiting for the master's acknowledgement (resent after a reconnect).
# TYPE stampede_worker_stats_pending gauge
# HELP stampede_worker_stats_dropped_total Stats deltas given up because the master acknowledged nothing for too long.
# TYPE stampede_worker_stats_dropped_total counter
# HELP stampede_worker_last_loop_timestamp_seconds When the worker's main loop last made progress (Unix time); /healthz fails when it is too old.
# TYPE stampede_worker_last_loop_timestamp_seconds gauge
# HELP stampede_worker_info This worker's id and version: always 1.
# TYPE stampede_worker_info gauge
# HELP stampede_worker_log_lines_dropped_total Script log lines the worker's rate limit (--log-rate) dropped; a marker line in the run's log says how many.
# TYPE stampede_worker_log_lines_dropped_total counter
`

func TestCollector(t *testing.T) {
	t.Parallel()
	loop := time.Unix(1740830400, 500_000_000)
	tests := []struct {
		name string
		snap worker.Snapshot
		want string
	}{
		{"running", worker.Snapshot{ID: "pod-1_ab12", Version: "v1.2.3", Connected: true, Index: 2, State: protocol.Running,
			Users: 40, Runs: 3, Sessions: 2, PendingStats: 5, DroppedStats: 1, DroppedLogs: 7, LastLoop: loop}, `
stampede_worker_connected 1
stampede_worker_users 40
stampede_worker_state{state="idle"} 0
stampede_worker_state{state="preparing"} 0
stampede_worker_state{state="ready"} 0
stampede_worker_state{state="running"} 1
stampede_worker_state{state="done"} 0
stampede_worker_state{state="finished"} 0
stampede_worker_state{state="failed"} 0
stampede_worker_runs_total 3
stampede_worker_sessions_total 2
stampede_worker_stats_pending 5
stampede_worker_stats_dropped_total 1
stampede_worker_last_loop_timestamp_seconds 1.7408304005e+09
stampede_worker_info{version="v1.2.3",worker_id="pod-1_ab12"} 1
stampede_worker_log_lines_dropped_total 7
`},
		{"not started", worker.Snapshot{ID: "h\xff_1", Version: "dev", Index: -1}, `
stampede_worker_connected 0
stampede_worker_users 0
stampede_worker_state{state="idle"} 1
stampede_worker_state{state="preparing"} 0
stampede_worker_state{state="ready"} 0
stampede_worker_state{state="running"} 0
stampede_worker_state{state="done"} 0
stampede_worker_state{state="finished"} 0
stampede_worker_state{state="failed"} 0
stampede_worker_runs_total 0
stampede_worker_sessions_total 0
stampede_worker_stats_pending 0
stampede_worker_stats_dropped_total 0
stampede_worker_info{version="dev",worker_id="h` + "\uFFFD" + `_1"} 1
stampede_worker_log_lines_dropped_total 0
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCollector(fixed{tt.snap})
			if err := testutil.CollectAndCompare(c, strings.NewReader(collectorHelp+tt.want)); err != nil {
				t.Error(err)
			}
			problems, err := testutil.CollectAndLint(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("lint: %s: %s", p.Metric, p.Text)
			}
		})
	}
}
