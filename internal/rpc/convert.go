package rpc

import (
	"time"

	pb "github.com/stampede-load/stampede/proto/stampede/v1"

	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

func histToPB(h *stats.Histogram) *pb.Histogram {
	out := &pb.Histogram{Count: h.Count, Sum: h.Sum, Min: h.Min, Max: h.Max, Zero: h.Zero}
	out.PosIndex, out.PosCount = bucketsToPB(h.Pos)
	out.NegIndex, out.NegCount = bucketsToPB(h.Neg)
	return out
}

func bucketsToPB(bs []stats.Bucket) ([]int32, []uint64) {
	if len(bs) == 0 {
		return nil, nil
	}
	idx := make([]int32, len(bs))
	cnt := make([]uint64, len(bs))
	for i, b := range bs {
		idx[i], cnt[i] = b.Index, b.Count
	}
	return idx, cnt
}

func histFromPB(h *pb.Histogram) stats.Histogram {
	if h == nil {
		return stats.Histogram{}
	}
	return stats.Histogram{Count: h.Count, Sum: h.Sum, Min: h.Min, Max: h.Max, Zero: h.Zero,
		Pos: stats.MakeBuckets(h.PosIndex, h.PosCount), Neg: stats.MakeBuckets(h.NegIndex, h.NegCount)}
}

func deltaToPB(runID string, seq uint64, d *stats.Delta) *pb.StatsDelta {
	out := &pb.StatsDelta{RunId: runID, Seq: seq, StartUnixNano: d.Start.UnixNano(), EndUnixNano: d.End.UnixNano()}
	for k, e := range d.Entries {
		out.Entries = append(out.Entries, &pb.Entry{Name: k.Name, Method: k.Method, Status: k.Status,
			Requests: e.Requests, Failures: e.Failures, DurationMs: histToPB(&e.Duration),
			SizedRequests: e.SizedRequests, ReceivedBytes: e.ReceivedBytes})
	}
	for k, n := range d.Errors {
		out.Errors = append(out.Errors, &pb.ErrorCount{Name: k.Name, Method: k.Method, Error: k.Error, Count: n})
	}
	for k, ch := range d.Checks {
		out.Checks = append(out.Checks, &pb.CheckCount{Group: k.Group, Name: k.Name, Passes: ch.Passes, Fails: ch.Fails})
	}
	for name, m := range d.Metrics {
		pm := &pb.Metric{Name: name, Type: m.Type.String(), Contains: m.Contains, Count: m.Count, Sum: m.Sum,
			Trues: m.Trues, Value: m.Value, TimeUnixNano: m.Time, Min: m.Min, Max: m.Max}
		if m.Type == stats.Trend {
			pm.Hist = histToPB(&m.Hist)
		}
		out.Metrics = append(out.Metrics, pm)
	}
	return out
}

func deltaFromPB(p *pb.StatsDelta) *stats.Delta {
	d := &stats.Delta{Start: time.Unix(0, p.StartUnixNano), End: time.Unix(0, p.EndUnixNano)}
	if len(p.Entries) > 0 {
		d.Entries = make(map[stats.Key]*stats.Entry, len(p.Entries))
	}
	ents := make([]stats.Entry, len(p.Entries)) // one allocation for every entry of the delta
	for i, e := range p.Entries {
		k := stats.Key{Name: e.Name, Method: e.Method, Status: e.Status}
		ent := &ents[i]
		*ent = stats.Entry{Requests: e.Requests, Failures: e.Failures, Duration: histFromPB(e.DurationMs),
			SizedRequests: e.SizedRequests, ReceivedBytes: e.ReceivedBytes}
		if old := d.Entries[k]; old != nil {
			old.Merge(ent)
		} else {
			d.Entries[k] = ent
		}
	}
	if len(p.Errors) > 0 {
		d.Errors = make(map[stats.ErrorKey]uint64, len(p.Errors))
	}
	for _, e := range p.Errors {
		d.Errors[stats.ErrorKey{Name: e.Name, Method: e.Method, Error: e.Error}] += e.Count
	}
	if len(p.Checks) > 0 {
		d.Checks = make(map[stats.CheckKey]*stats.Check, len(p.Checks))
	}
	for _, c := range p.Checks {
		k := stats.CheckKey{Group: c.Group, Name: c.Name}
		ch := &stats.Check{Passes: c.Passes, Fails: c.Fails}
		if old := d.Checks[k]; old != nil {
			old.Merge(ch)
		} else {
			d.Checks[k] = ch
		}
	}
	if len(p.Metrics) > 0 {
		d.Metrics = make(map[string]*stats.Metric, len(p.Metrics))
	}
	for _, m := range p.Metrics {
		typ, err := stats.ParseMetricType(m.Type)
		if err != nil {
			continue // a metric type from a newer worker: skip it rather than misread it
		}
		sm := &stats.Metric{Type: typ, Contains: m.Contains, Count: m.Count, Sum: m.Sum, Trues: m.Trues,
			Value: m.Value, Time: m.TimeUnixNano, Min: m.Min, Max: m.Max, Hist: histFromPB(m.Hist)}
		if old := d.Metrics[m.Name]; old != nil {
			old.Merge(sm)
		} else {
			d.Metrics[m.Name] = sm
		}
	}
	return d
}

func bundleToPB(b *scenario.Bundle) *pb.Bundle {
	if b == nil {
		return nil
	}
	return &pb.Bundle{Entry: b.Entry, Files: b.Files}
}

func bundleFromPB(b *pb.Bundle) *scenario.Bundle {
	if b == nil {
		return nil
	}
	return &scenario.Bundle{Entry: b.Entry, Files: b.Files}
}

func modeToPB(m scenario.Mode) pb.Mode {
	switch m {
	case scenario.Swarm:
		return pb.Mode_MODE_SWARM
	case scenario.Script:
		return pb.Mode_MODE_SCRIPT
	}
	return pb.Mode_MODE_UNSPECIFIED
}

func modeFromPB(m pb.Mode) scenario.Mode {
	switch m {
	case pb.Mode_MODE_SWARM:
		return scenario.Swarm
	case pb.Mode_MODE_SCRIPT:
		return scenario.Script
	}
	return 0
}

func partToPB(p scenario.Part) *pb.Assignment {
	return &pb.Assignment{RunId: p.RunID, Bundle: bundleToPB(p.Bundle), Mode: modeToPB(p.Mode), Env: p.Env,
		Segment: p.Segment, SegmentSequence: p.SegmentSequence, MaxUsers: p.MaxUsers,
		MaxDurationMs: p.MaxDuration.Milliseconds(), Submetrics: p.Submetrics, Classes: p.Classes,
		UserSlot: p.UserSlot, UserSlots: p.UserSlots}
}

func partFromPB(a *pb.Assignment) scenario.Part {
	return scenario.Part{RunID: a.RunId, Bundle: bundleFromPB(a.Bundle), Mode: modeFromPB(a.Mode), Env: a.Env,
		Segment: a.Segment, SegmentSequence: a.SegmentSequence, MaxUsers: a.MaxUsers,
		MaxDuration: time.Duration(a.MaxDurationMs) * time.Millisecond, Submetrics: a.Submetrics, Classes: a.Classes,
		UserSlot: a.UserSlot, UserSlots: a.UserSlots}
}
