package rpc

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/stampede-load/stampede/proto/stampede/v1"

	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// sampleDelta is a delta with every kind of table and all four metric types, including a trend with
// negative, zero and positive samples, an entry with failures and entries with received bytes.
func sampleDelta() *stats.Delta {
	start := time.Unix(1700000000, 123456789)
	d := &stats.Delta{Start: start, End: start.Add(time.Second)}
	home := stats.Key{Name: "home", Method: "GET", Status: "200"}
	login := stats.Key{Name: "login", Method: "POST", Status: "500"}
	down := stats.Key{Name: "login", Method: "POST", Status: "0"}
	for i := range 50 {
		d.AddRequest(home, 1+float64(i)*3.7, false, "")
	}
	d.AddRequest(login, 250, true, "")
	d.AddRequest(login, 900.5, true, "")
	d.AddRequest(down, 30000, true, "dial tcp: connection refused")
	d.AddReceived(home, 40, 40*612)
	// Bytes that arrive a delta after their requests: an entry with sizes only.
	d.AddReceived(stats.Key{Name: "late", Method: "GET", Status: "200"}, 2, 1805)
	d.AddCheck(stats.CheckKey{Name: "status is 200"}, true)
	d.AddCheck(stats.CheckKey{Name: "status is 200"}, false)
	d.AddCheck(stats.CheckKey{Group: "::login", Name: "has token"}, true)
	ns := start.UnixNano()
	for i := range 10 {
		d.AddSample("http_reqs", stats.Counter, "default", 1, ns+int64(i))
		d.AddSample("http_req_failed", stats.Rate, "default", float64(i%3), ns+int64(i))
		d.AddSample("vus", stats.Gauge, "default", float64(10-i), ns+int64(i))
	}
	for _, v := range []float64{-120.5, -3, -0.25, 0, 1e-12, 0.5, 8, 8, 4000} {
		d.AddSample("clock_skew", stats.Trend, "time", v, ns)
	}
	return d
}

func TestDeltaRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		delta *stats.Delta
	}{
		{name: "every table and metric type", delta: sampleDelta()},
		{name: "empty", delta: &stats.Delta{Start: time.Unix(5, 0), End: time.Unix(6, 0)}},
		{name: "only negative trend samples", delta: func() *stats.Delta {
			d := &stats.Delta{Start: time.Unix(10, 0), End: time.Unix(11, 0)}
			for _, v := range []float64{-1, -2, -2, -1000, -0.001} {
				d.AddSample("delta_ms", stats.Trend, "time", v, 0)
			}
			return d
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := tt.delta
			msg := deltaToPB("run-1", 42, in)
			if msg.RunId != "run-1" || msg.Seq != 42 {
				t.Fatalf("run id and seq = %q, %d, want run-1, 42", msg.RunId, msg.Seq)
			}
			// Through the wire format too, so nothing depends on sharing memory with the message.
			wire, err := proto.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			var back pb.StatsDelta
			if err := proto.Unmarshal(wire, &back); err != nil {
				t.Fatal(err)
			}
			out := deltaFromPB(&back)

			if !out.Start.Equal(in.Start) || !out.End.Equal(in.End) {
				t.Errorf("interval = [%s, %s], want [%s, %s]", out.Start, out.End, in.Start, in.End)
			}
			if out.Requests() != in.Requests() {
				t.Errorf("requests = %d, want %d", out.Requests(), in.Requests())
			}
			for k, want := range in.Entries {
				got := out.Entries[k]
				if got == nil {
					t.Errorf("entry %v missing", k)
					continue
				}
				if got.Requests != want.Requests || got.Failures != want.Failures {
					t.Errorf("entry %v: requests/failures = %d/%d, want %d/%d", k, got.Requests, got.Failures, want.Requests, want.Failures)
				}
				compareHist(t, "entry "+k.Name+" "+k.Status, &got.Duration, &want.Duration)
			}
			for name, want := range in.Metrics {
				got := out.Metrics[name]
				if got == nil {
					t.Errorf("metric %s missing", name)
					continue
				}
				if got.Type != want.Type || got.Contains != want.Contains || got.Count != want.Count ||
					got.Sum != want.Sum || got.Trues != want.Trues || got.Value != want.Value || got.Time != want.Time ||
					got.Min != want.Min || got.Max != want.Max {
					t.Errorf("metric %s = %+v, want %+v", name, *got, *want)
				}
				if want.Type == stats.Trend {
					compareHist(t, "metric "+name, &got.Hist, &want.Hist)
				}
			}
			// Everything else, exactly (times aside: they lose their monotonic reading and zone).
			out.Start, out.End = in.Start, in.End
			if !reflect.DeepEqual(out, in) {
				t.Errorf("round trip changed the delta:\n got %+v\nwant %+v", out, in)
			}
		})
	}
}

func compareHist(t *testing.T, what string, got, want *stats.Histogram) {
	t.Helper()
	if got.Count != want.Count || got.Sum != want.Sum || got.Min != want.Min || got.Max != want.Max || got.Zero != want.Zero {
		t.Errorf("%s: count/sum/min/max/zero = %d/%g/%g/%g/%d, want %d/%g/%g/%g/%d", what,
			got.Count, got.Sum, got.Min, got.Max, got.Zero, want.Count, want.Sum, want.Min, want.Max, want.Zero)
	}
	qs := []float64{0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1}
	g, w := got.Quantiles(qs...), want.Quantiles(qs...)
	for i, q := range qs {
		if g[i] != w[i] && !(math.IsNaN(g[i]) && math.IsNaN(w[i])) {
			t.Errorf("%s: p%g = %g, want %g", what, q*100, g[i], w[i])
		}
	}
}

// TestDeltaFromPBTolerates checks what a master does with messages a correct worker does not send
// but an older or newer one might: repeated keys merge, unknown metric types are skipped, and
// mismatched bucket arrays do not panic.
func TestDeltaFromPBTolerates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		msg   *pb.StatsDelta
		check func(t *testing.T, d *stats.Delta)
	}{
		{
			name: "repeated entry keys merge",
			msg: &pb.StatsDelta{Entries: []*pb.Entry{
				{Name: "a", Method: "GET", Status: "200", Requests: 2, DurationMs: &pb.Histogram{Count: 2, Sum: 3, Min: 1, Max: 2, PosIndex: []int32{1}, PosCount: []uint64{2}}},
				{Name: "a", Method: "GET", Status: "200", Requests: 3, Failures: 1, DurationMs: &pb.Histogram{Count: 3, Sum: 30, Min: 5, Max: 15, PosIndex: []int32{1, 90}, PosCount: []uint64{1, 2}}},
			}},
			check: func(t *testing.T, d *stats.Delta) {
				e := d.Entries[stats.Key{Name: "a", Method: "GET", Status: "200"}]
				if e == nil || e.Requests != 5 || e.Failures != 1 || e.Duration.Count != 5 || e.Duration.Min != 1 || e.Duration.Max != 15 || !slices.Equal(e.Duration.Pos, []stats.Bucket{{Index: 1, Count: 3}, {Index: 90, Count: 2}}) {
					t.Fatalf("merged entry = %+v", e)
				}
			},
		},
		{
			name: "repeated errors and checks add up",
			msg: &pb.StatsDelta{
				Errors: []*pb.ErrorCount{{Name: "a", Error: "HTTP 500", Count: 2}, {Name: "a", Error: "HTTP 500", Count: 5}},
				Checks: []*pb.CheckCount{{Name: "ok", Passes: 1, Fails: 2}, {Name: "ok", Passes: 10}},
			},
			check: func(t *testing.T, d *stats.Delta) {
				if n := d.Errors[stats.ErrorKey{Name: "a", Error: "HTTP 500"}]; n != 7 {
					t.Errorf("errors = %d, want 7", n)
				}
				if c := d.Checks[stats.CheckKey{Name: "ok"}]; c == nil || c.Passes != 11 || c.Fails != 2 {
					t.Errorf("check = %+v, want 11 passes, 2 fails", c)
				}
			},
		},
		{
			name: "unknown metric type is skipped",
			msg: &pb.StatsDelta{Metrics: []*pb.Metric{
				{Name: "future", Type: "sketch", Count: 9},
				{Name: "iterations", Type: "counter", Count: 4, Sum: 4},
			}},
			check: func(t *testing.T, d *stats.Delta) {
				if _, ok := d.Metrics["future"]; ok {
					t.Error("a metric of an unknown type was kept")
				}
				if m := d.Metrics["iterations"]; m == nil || m.Type != stats.Counter || m.Sum != 4 {
					t.Errorf("iterations = %+v", m)
				}
			},
		},
		{
			name: "bucket arrays of different lengths",
			msg: &pb.StatsDelta{Entries: []*pb.Entry{{Name: "a", Requests: 1,
				DurationMs: &pb.Histogram{Count: 1, Sum: 1, Min: 1, Max: 1, PosIndex: []int32{0, 1, 2}, PosCount: []uint64{1}}}}},
			check: func(t *testing.T, d *stats.Delta) {
				if h := d.Entries[stats.Key{Name: "a"}].Duration; !slices.Equal(h.Pos, []stats.Bucket{{Index: 0, Count: 1}}) {
					t.Errorf("buckets = %v, want only the paired one", h.Pos)
				}
			},
		},
		{
			name: "no histogram",
			msg:  &pb.StatsDelta{Entries: []*pb.Entry{{Name: "a", Requests: 1}}},
			check: func(t *testing.T, d *stats.Delta) {
				if e := d.Entries[stats.Key{Name: "a"}]; e == nil || e.Requests != 1 || !e.Duration.Empty() {
					t.Errorf("entry = %+v", e)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.check(t, deltaFromPB(tt.msg))
		})
	}
}

func TestPartRoundTrip(t *testing.T) {
	t.Parallel()
	bundle := &scenario.Bundle{Entry: "s/script.js", Files: map[string][]byte{"s/script.js": []byte("export default () => {}"), "s/data.json": []byte("[]")}}
	tests := []struct {
		name string
		part scenario.Part
	}{
		{name: "swarm", part: scenario.Part{RunID: "r1", Bundle: bundle, Mode: scenario.Swarm, Env: map[string]string{"A": "1"},
			MaxUsers: 12, MaxDuration: 90 * time.Second}},
		{name: "script", part: scenario.Part{RunID: "r2", Bundle: bundle, Mode: scenario.Script,
			Segment: "1/3:2/3", SegmentSequence: "0,1/3,2/3,1", MaxDuration: time.Hour}},
		{name: "submetrics", part: scenario.Part{RunID: "r4", Bundle: bundle, Mode: scenario.Script,
			Submetrics: []string{"http_req_duration{name:login}", "checks{group:::api}", "http_reqs{method:POST,status:500}"}}},
		{name: "no bundle", part: scenario.Part{RunID: "r3", Mode: scenario.Swarm}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wire, err := proto.Marshal(partToPB(tt.part))
			if err != nil {
				t.Fatal(err)
			}
			var a pb.Assignment
			if err := proto.Unmarshal(wire, &a); err != nil {
				t.Fatal(err)
			}
			got := partFromPB(&a)
			if !reflect.DeepEqual(got, tt.part) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tt.part)
			}
		})
	}
}
