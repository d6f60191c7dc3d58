package worker

import (
	"github.com/stampede-load/stampede/internal/stats"

	"github.com/stampede-load/stampede/internal/protocol"
)

// outbox numbers stats deltas and keeps them until the master acknowledges them.
type outbox struct {
	max     int
	lastSeq uint64
	items   []protocol.Stats
	dropped uint64
}

// add numbers d and keeps it; past max the oldest unacknowledged delta is dropped and counted.
// That takes a master silent for hours: a worker without its master stops its load within seconds.
func (o *outbox) add(runID string, d *stats.Delta) protocol.Stats {
	o.lastSeq++
	s := protocol.Stats{RunID: runID, Seq: o.lastSeq, Delta: d}
	if len(o.items) >= o.max {
		o.items = o.items[1:]
		o.dropped++
	}
	o.items = append(o.items, s)
	return s
}

// ack forgets every delta up to seq.
func (o *outbox) ack(seq uint64) {
	i := 0
	for i < len(o.items) && o.items[i].Seq <= seq {
		i++
	}
	o.items = append(o.items[:0], o.items[i:]...)
}

// pending returns the unacknowledged deltas as events, in order.
func (o *outbox) pending() []protocol.Event {
	ev := make([]protocol.Event, len(o.items))
	for i, s := range o.items {
		ev[i] = s
	}
	return ev
}
