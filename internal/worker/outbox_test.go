package worker

import (
	"slices"
	"testing"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/stats"
)

// pendingSeqs returns the sequence numbers of o's pending events, checking they are Stats of runID
// and carry the delta they were added with.
func pendingSeqs(t *testing.T, o *outbox, deltas map[uint64]*stats.Delta) []uint64 {
	t.Helper()
	var seqs []uint64
	for _, ev := range o.pending() {
		s, ok := ev.(protocol.Stats)
		if !ok {
			t.Fatalf("pending event %T, want Stats", ev)
		}
		if d := deltas[s.Seq]; d != s.Delta {
			t.Fatalf("pending seq %d carries %p, want the delta added as that seq (%p)", s.Seq, s.Delta, d)
		}
		seqs = append(seqs, s.Seq)
	}
	return seqs
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	// op is one step: add n deltas, or ack up to a seq.
	type op struct {
		add int
		ack uint64
	}
	tests := []struct {
		name        string
		max         int
		ops         []op
		wantPending []uint64
		wantLast    uint64
		wantDropped uint64
	}{
		{name: "numbered from 1", max: 10, ops: []op{{add: 3}}, wantPending: []uint64{1, 2, 3}, wantLast: 3},
		{name: "ack forgets up to seq", max: 10, ops: []op{{add: 5}, {ack: 3}}, wantPending: []uint64{4, 5}, wantLast: 5},
		{name: "ack of everything", max: 10, ops: []op{{add: 4}, {ack: 4}}, wantPending: []uint64{}, wantLast: 4},
		{name: "ack past the last seq", max: 10, ops: []op{{add: 2}, {ack: 99}}, wantPending: []uint64{}, wantLast: 2},
		{name: "ack 0 keeps all", max: 10, ops: []op{{add: 2}, {ack: 0}}, wantPending: []uint64{1, 2}, wantLast: 2},
		{name: "stale ack is harmless", max: 10, ops: []op{{add: 5}, {ack: 3}, {ack: 1}}, wantPending: []uint64{4, 5}, wantLast: 5},
		{name: "numbering goes on after acks", max: 10, ops: []op{{add: 3}, {ack: 3}, {add: 2}}, wantPending: []uint64{4, 5}, wantLast: 5},
		{name: "overflow drops the oldest", max: 3, ops: []op{{add: 5}}, wantPending: []uint64{3, 4, 5}, wantLast: 5, wantDropped: 2},
		{name: "overflow after a partial ack", max: 3, ops: []op{{add: 3}, {ack: 1}, {add: 3}}, wantPending: []uint64{4, 5, 6}, wantLast: 6, wantDropped: 2},
		{name: "acked deltas are not counted as dropped", max: 2, ops: []op{{add: 2}, {ack: 2}, {add: 2}}, wantPending: []uint64{3, 4}, wantLast: 4},
		{name: "capacity of one", max: 1, ops: []op{{add: 4}}, wantPending: []uint64{4}, wantLast: 4, wantDropped: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := &outbox{max: tt.max}
			deltas := map[uint64]*stats.Delta{}
			for _, op := range tt.ops {
				for range op.add {
					d := &stats.Delta{}
					s := o.add("run-1", d)
					if s.RunID != "run-1" || s.Delta != d || s.Seq != o.lastSeq {
						t.Fatalf("add returned %+v, want run-1, the delta and seq %d", s, o.lastSeq)
					}
					deltas[s.Seq] = d
				}
				if op.add == 0 {
					o.ack(op.ack)
				}
			}
			got := pendingSeqs(t, o, deltas)
			if !slices.Equal(got, tt.wantPending) {
				t.Errorf("pending = %v, want %v", got, tt.wantPending)
			}
			if o.lastSeq != tt.wantLast {
				t.Errorf("lastSeq = %d, want %d", o.lastSeq, tt.wantLast)
			}
			if o.dropped != tt.wantDropped {
				t.Errorf("dropped = %d, want %d", o.dropped, tt.wantDropped)
			}
			if len(o.items) > tt.max {
				t.Errorf("%d items kept, more than max %d", len(o.items), tt.max)
			}
		})
	}
}

// TestOutboxPendingIsACopy: the events pending returns must not change when the outbox is acked or
// added to afterwards, because the worker sends them after releasing its lock.
func TestOutboxPendingIsACopy(t *testing.T) {
	t.Parallel()
	o := &outbox{max: 4}
	for range 4 {
		o.add("r", &stats.Delta{})
	}
	ev := o.pending()
	o.ack(2)
	o.add("r", &stats.Delta{})
	o.add("r", &stats.Delta{})
	var seqs []uint64
	for _, e := range ev {
		seqs = append(seqs, e.(protocol.Stats).Seq)
	}
	if want := []uint64{1, 2, 3, 4}; !slices.Equal(seqs, want) {
		t.Fatalf("earlier pending() changed to %v, want %v", seqs, want)
	}
	seqs = seqs[:0]
	for _, e := range o.pending() {
		seqs = append(seqs, e.(protocol.Stats).Seq)
	}
	if want := []uint64{3, 4, 5, 6}; !slices.Equal(seqs, want) {
		t.Fatalf("pending = %v, want %v", seqs, want)
	}
}
