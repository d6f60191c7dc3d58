package rpc

import (
	"errors"
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/stampede-load/stampede/proto/stampede/v1"

	"github.com/stampede-load/stampede/internal/stats"
)

// The bucket index bounds hold every index stats gives a float64, from 1e-9 to ±Inf.
func TestBucketIndexBounds(t *testing.T) {
	t.Parallel()
	var h stats.Histogram
	for _, v := range []float64{1e-9, -1e-9, 1, math.MaxFloat64, math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat64} {
		h.Add(v)
	}
	for _, b := range slices.Concat(h.Pos, h.Neg) {
		if b.Index < minBucket || b.Index > maxBucket {
			t.Errorf("bucket %d outside %d..%d", b.Index, minBucket, maxBucket)
		}
	}
	if err := validateHistogram(histToPB(&h)); err != nil {
		t.Errorf("a real histogram is refused: %v", err)
	}
}

func TestValidateDelta(t *testing.T) {
	t.Parallel()
	good := func() *pb.StatsDelta { return deltaToPB("run", 1, sampleDelta()) }
	// timed is an entry with requests and a duration histogram (sampleDelta also has one with
	// response sizes alone, which map order may put first).
	timed := func(p *pb.StatsDelta) *pb.Entry {
		for _, e := range p.Entries {
			if e.Requests > 0 && e.DurationMs != nil && e.DurationMs.Count > 0 {
				return e
			}
		}
		t.Fatal("sampleDelta has no entry with timed requests")
		return nil
	}
	tests := []struct {
		name   string
		change func(*pb.StatsDelta)
		ok     bool
	}{
		{name: "a real delta", change: func(*pb.StatsDelta) {}, ok: true},
		{name: "more failures than requests", change: func(p *pb.StatsDelta) { e := timed(p); e.Failures = e.Requests + 1 }},
		{name: "unpaired buckets", change: func(p *pb.StatsDelta) { timed(p).DurationMs.PosCount = nil }},
		{name: "buckets disagree with the count", change: func(p *pb.StatsDelta) { timed(p).DurationMs.Count++ }},
		{name: "bucket index out of range", change: func(p *pb.StatsDelta) {
			h := timed(p).DurationMs
			h.PosIndex, h.PosCount, h.Count = append(h.PosIndex, 1<<30), append(h.PosCount, 1), h.Count+1
		}},
		{name: "overflowing counts", change: func(p *pb.StatsDelta) {
			timed(p).DurationMs = &pb.Histogram{PosIndex: []int32{1, 2}, PosCount: []uint64{math.MaxUint64, 2}, Count: 1}
		}},
		{name: "huge histogram", change: func(p *pb.StatsDelta) {
			h := &pb.Histogram{}
			for i := range maxBuckets + 1 {
				h.PosIndex, h.PosCount = append(h.PosIndex, int32(i%maxBucket)), append(h.PosCount, 1)
			}
			h.Count = uint64(maxBuckets + 1)
			timed(p).DurationMs = h
		}},
		{name: "min above max", change: func(p *pb.StatsDelta) { h := timed(p).DurationMs; h.Min, h.Max = h.Max+1, h.Min }},
		{name: "rate with more trues than samples", change: func(p *pb.StatsDelta) {
			p.Metrics = append(p.Metrics, &pb.Metric{Name: "r", Type: "rate", Count: 1, Trues: 2})
		}},
		{name: "too many rows", change: func(p *pb.StatsDelta) { p.Errors = make([]*pb.ErrorCount, maxRows+1) }},
		{name: "a long name", change: func(p *pb.StatsDelta) { p.Checks[0].Name = string(make([]byte, maxText+1)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := good()
			tt.change(p)
			err := validateDelta(p)
			if tt.ok != (err == nil) || err != nil && !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("validateDelta = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// FuzzWorkerMessage decodes arbitrary bytes as a worker's message, and as an assignment, and runs
// them through what the master and worker do with them. Nothing may panic; a stats delta that passes
// validation converts to one whose entries and histograms are consistent, and merges and reads.
func FuzzWorkerMessage(f *testing.F) {
	seed := func(m proto.Message) {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Stats{Stats: deltaToPB("run", 3, sampleDelta())}})
	seed(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Hello{Hello: &pb.Hello{ProtocolMajor: 1, WorkerId: "w", Host: "h", Cpus: 4,
		AllowHosts: []string{"10.0.0.0/8"}}}})
	seed(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Stats{Stats: &pb.StatsDelta{Entries: []*pb.Entry{{Name: "x", Requests: 1, Failures: 2,
		DurationMs: &pb.Histogram{PosIndex: []int32{5, -3}, PosCount: []uint64{1}, Count: 7, Min: math.NaN()}}}}}})
	seed(&pb.Assignment{RunId: "r", Mode: pb.Mode(42), MaxDurationMs: -5, MaxUsers: -1,
		Bundle: &pb.Bundle{Entry: "../x.js", Files: map[string][]byte{"../x.js": nil}}})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m pb.WorkerMessage
		if proto.Unmarshal(data, &m) == nil {
			if h := m.GetHello(); h != nil {
				_ = validateHello(h)
			}
			if p := m.GetStats(); p != nil && validateDelta(p) == nil {
				d := deltaFromPB(p)
				for k, e := range d.Entries {
					if e.Failures > e.Requests || e.Duration.Count > 0 && e.Duration.Min > e.Duration.Max {
						t.Fatalf("valid delta, inconsistent entry %+v: %+v", k, e)
					}
					_ = e.Duration.Quantiles(0, 0.5, 0.99, 1)
					_ = e.Duration.CountAtMost(100)
				}
				for _, mt := range d.Metrics {
					_ = mt.Hist.Quantiles(0.5, 0.95)
				}
				var agg stats.Aggregate
				agg.Add(d)
				agg.Add(d)
				_ = agg.Total()
				_ = agg.ByName()
			}
			if l := m.GetLogs(); l != nil {
				_ = len(l.Lines)
			}
		}
		var a pb.Assignment
		if proto.Unmarshal(data, &a) == nil {
			part := partFromPB(&a)
			if part.Bundle != nil {
				_ = part.Bundle.Validate()
			}
		}
	})
}
