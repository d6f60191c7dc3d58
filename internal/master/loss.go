package master

import (
	"fmt"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
)

// A loss is a member whose load may have run without all its stats reaching the master: its
// connection ended while its load ran (killed, frozen, cut off), or its k6 process ended by itself
// (killed, out of memory). A run with a loss that is not recovered ends in ErrWorkersPartial: a
// result whose totals may be short must never read as a pass.
//
// A cut-off worker can recover its loss: when it comes back (same worker id) it first resends every
// delta the master did not acknowledge and then the Finished status of the run it had to stop, which
// names its last stats sequence number. Once the master has merged up to it, and the worker's k6
// child stopped cleanly (gracefully, so no request in flight went uncounted), nothing is missing.
type loss struct {
	index      int
	id, host   string
	why        string    // what happened, for the message
	heard      time.Time // the last message from the worker before the loss
	at         time.Time // when the master noticed
	died       bool      // its k6 process ended by itself: what it did not report is gone for good
	back       time.Time // when it reconnected (zero: not yet)
	final      bool      // the Finished status of its stopped child arrived
	noFinal    bool      // it reported on a new assignment first: that status will never come
	finalSeq   uint64    // that status's last stats sequence number
	clean      bool      // and that child stopped gracefully
	recovered  bool      // everything up to finalSeq is merged, and the stop was clean
	stopErr    string    // why the stop was not clean
	late       uint64    // requests merged after the loss was noticed
	lateDeltas uint64
}

func (l *loss) worker() string {
	return fmt.Sprintf("worker %d (%s)", l.index, l.host)
}

// problem says, for a loss that is not recovered, what may be missing.
func (l *loss) problem() string {
	heard := l.heard.Format(clock)
	switch {
	case l.died:
		return fmt.Sprintf("%s: %s at %s; its requests since its last report at %s are missing", l.worker(), l.why, l.at.Format(clock), heard)
	case l.back.IsZero():
		return fmt.Sprintf("%s was lost at %s (%s) while its load ran and did not come back; its requests since its last report at %s may be missing",
			l.worker(), l.at.Format(clock), l.why, heard)
	case !l.final:
		return fmt.Sprintf("%s was cut off from %s to %s (%s) and did not report its last stats before the run ended; its requests since %s may be missing",
			l.worker(), l.at.Format(clock), l.back.Format(clock), l.why, heard)
	case !l.clean:
		return fmt.Sprintf("%s was cut off from %s to %s (%s) and its load was stopped hard (%s): requests it had in flight may be missing",
			l.worker(), l.at.Format(clock), l.back.Format(clock), l.why, l.stopErr)
	}
	return fmt.Sprintf("%s was cut off from %s to %s (%s); its stats up to #%d did not all arrive", l.worker(), l.at.Format(clock),
		l.back.Format(clock), l.why, l.finalSeq)
}

// note says, for a recovered loss, how its late stats were filed.
func (l *loss) note() string {
	return fmt.Sprintf("%s was cut off from %s to %s (%s); it came back and %d requests it made meanwhile arrived late: they are in the totals, "+
		"and the per-second series shows them in the second they arrived", l.worker(), l.at.Format(clock), l.back.Format(clock), l.why, l.late)
}

// clock is how losses print times: the wall clock to the millisecond, as in the logs.
const clock = "15:04:05.000"

// lose records that m's load may have run without its stats reaching the master.
func (r *run) lose(m *member, why string, died bool, now time.Time) {
	r.losses = append(r.losses, &loss{index: m.w.index, id: m.w.id, host: m.w.host, why: why,
		heard: m.w.lastSeen, at: now, died: died})
}

// openLoss is w's loss that awaits its proof, or nil.
func (r *run) openLoss(id string) *loss {
	for _, l := range r.losses {
		if l.id == id && !l.died && !l.final && !l.noFinal {
			return l
		}
	}
	return nil
}

// rejoined notes that a worker with a loss came back.
func (r *run) rejoined(id string, now time.Time) {
	if l := r.openLoss(id); l != nil && l.back.IsZero() {
		l.back = now
	}
}

// finalStatus takes a worker's Finished status if it is the one of the child it stopped when it lost
// its session (it comes first on the new session, before anything about a new assignment: see
// newsFrom). It reports whether the status was taken.
func (r *run) finalStatus(w *workerRec, s protocol.Status) bool {
	l := r.openLoss(w.id)
	if l == nil || s.State != protocol.Finished {
		return false
	}
	l.final, l.finalSeq = true, s.LastStatsSeq
	l.clean = normalExit(s) && s.Error == ""
	if !l.clean {
		l.stopErr = s.Error
		if l.stopErr == "" {
			l.stopErr = fmt.Sprintf("k6 exit code %d", s.ExitCode)
		}
	}
	r.checkRecovered(w)
	return true
}

// newsFrom notes a status about a new assignment of a worker with an open loss: a worker sends its
// stopped child's Finished status before anything else, so if that did not come first it never will.
func (r *run) newsFrom(id string) {
	if l := r.openLoss(id); l != nil {
		l.noFinal = true
	}
}

// lateStats counts a delta of a worker with a loss: until its final status arrived, or up to the
// sequence number it named, a delta is one the stopped child made.
func (r *run) lateStats(w *workerRec, seq, requests uint64) {
	for _, l := range r.losses {
		if l.id == w.id && !l.died && (!l.final || seq <= l.finalSeq) {
			l.late += requests
			l.lateDeltas++
		}
	}
	r.checkRecovered(w)
}

func (r *run) checkRecovered(w *workerRec) {
	for _, l := range r.losses {
		if l.id == w.id && l.final && l.clean && !l.recovered && w.mergedSeq >= l.finalSeq {
			l.recovered = true
		}
	}
}

// incomplete is ErrWorkersPartial when requests may be missing from the run's results: a loss that
// was not recovered, or (script mode) a segment that did not complete. Nil otherwise. Each worker is
// named once, with what happened to it; lost segments are then summed up.
func (r *run) incomplete() error {
	var parts []string
	named := map[int]bool{}
	for _, l := range r.losses {
		if !l.recovered {
			parts = append(parts, l.problem())
			named[l.index] = true
		}
	}
	lost := r.lostSegments()
	var segments []string
	for _, m := range lost {
		if !named[m.w.index] {
			parts = append(parts, fmt.Sprintf("worker %d was lost before its segment completed", m.w.index))
		}
		segments = append(segments, fmt.Sprintf("%s (worker %d)", m.segment, m.w.index))
	}
	if len(lost) > 0 {
		// Segments are equal parts of the fleet the run started with.
		k, n := len(lost), len(r.order)
		g := gcd(k, n)
		parts = append(parts, fmt.Sprintf("%d/%d of the script's load did not run: segment %s", k/g, n/g, strings.Join(segments, ", ")))
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrWorkersPartial, strings.Join(parts, "; "))
}

// notes are the run's recovered losses, for the reports.
func (r *run) notes() []string {
	var out []string
	for _, l := range r.losses {
		if l.recovered {
			out = append(out, l.note())
		}
	}
	return out
}
