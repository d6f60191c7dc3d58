package master

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/scenario"
)

// A run's losses decide whether its results may be trusted: only a cut-off worker that came back,
// stopped cleanly and had everything up to its last sequence number merged is whole.
func TestLosses(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	finished := func(code int, errText string, seq uint64) protocol.Status {
		return protocol.Status{RunID: "r", State: protocol.Finished, ExitCode: code, Error: errText, LastStatsSeq: seq}
	}
	tests := []struct {
		name    string
		steps   func(r *run, w *workerRec)
		partial string // "" for a whole result
		notes   int
	}{
		{name: "lost and never back", steps: func(r *run, w *workerRec) {
			r.workerGone(w, "connection ended")
		}, partial: "did not come back"},
		{name: "back, final status, everything merged, clean", steps: func(r *run, w *workerRec) {
			r.workerGone(w, "connection ended")
			r.rejoined(w.id, t0.Add(5*time.Second))
			w.mergedSeq = 7
			r.lateStats(w, 7, 40)
			if !r.finalStatus(w, finished(k6ExitStoppedByAPI, "", 7)) {
				t.Error("the final status of the stopped child was not taken")
			}
		}, notes: 1},
		{name: "final status before its deltas are merged", steps: func(r *run, w *workerRec) {
			r.workerGone(w, "connection ended")
			r.rejoined(w.id, t0.Add(5*time.Second))
			r.finalStatus(w, finished(k6ExitStoppedByAPI, "", 9))
		}, partial: "did not all arrive"},
		{name: "back but stopped hard", steps: func(r *run, w *workerRec) {
			r.workerGone(w, "no heartbeat")
			r.rejoined(w.id, t0.Add(9*time.Second))
			w.mergedSeq = 7
			r.finalStatus(w, finished(-1, "stampede: stopping the load: no liveness beat", 7))
		}, partial: "stopped hard"},
		{name: "back without its final status", steps: func(r *run, w *workerRec) {
			r.workerGone(w, "connection ended")
			r.rejoined(w.id, t0.Add(5*time.Second))
		}, partial: "did not report its last stats"},
		{name: "back, and a new assignment's news first", steps: func(r *run, w *workerRec) {
			r.workerGone(w, "connection ended")
			r.rejoined(w.id, t0.Add(5*time.Second))
			r.newsFrom(w.id) // Ready for its new child: the stopped child's status will never come
			if r.finalStatus(w, finished(k6ExitStoppedByAPI, "", 9)) {
				t.Error("the new child's Finished status was taken for the stopped one's")
			}
		}, partial: "did not report its last stats"},
		{name: "its k6 process died", steps: func(r *run, w *workerRec) {
			r.status(w, finished(-1, "the k6 process died (signal: killed)", 3))
		}, partial: "the k6 process died (signal: killed)"},
		{name: "its k6 process ended cleanly by itself", steps: func(r *run, w *workerRec) {
			r.status(w, finished(0, "", 3))
		}},
		{name: "finished before it left (SIGTERM to the worker)", steps: func(r *run, w *workerRec) {
			r.status(w, finished(k6ExitStoppedByAPI, "", 3))
			r.workerGone(w, "connection ended")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &workerRec{id: "vm_1", host: "vm", index: 1, lastSeen: t0}
			r := &run{id: "r", mode: scenario.Swarm, state: Running, members: map[string]*member{}}
			m := &member{w: w, state: protocol.Running, started: true}
			r.members[w.id], r.order = m, []*member{m}
			tt.steps(r, w)
			err := r.incomplete()
			switch {
			case tt.partial == "" && err != nil:
				t.Errorf("incomplete() = %v, want a whole result", err)
			case tt.partial != "" && (!errors.Is(err, ErrWorkersPartial) || !strings.Contains(err.Error(), tt.partial)):
				t.Errorf("incomplete() = %v, want partial results saying %q", err, tt.partial)
			case tt.partial != "" && !strings.Contains(err.Error(), "worker 1 (vm)"):
				t.Errorf("incomplete() = %v, want the worker named", err)
			}
			if got := len(r.notes()); got != tt.notes {
				t.Errorf("%d notes %q, want %d", got, r.notes(), tt.notes)
			}
		})
	}
}
