package main

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func frame(recvMs, masterMs int, run string, perWorker ...uint64) seen {
	return seen{Recv: at(recvMs), Master: at(masterMs), Type: "update", Counts: &counts{RunID: run, PerWorker: perWorker}}
}

func TestDelays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		sends       [][]sent
		clients     [][]seen
		from, to    int // ms
		want        []sample
		wantMissing int
	}{
		{
			name:    "first frame reaching the worker's count",
			sends:   [][]sent{{{At: at(100), Seq: 1, Cum: 10}, {At: at(1100), Seq: 2, Cum: 20}}},
			clients: [][]seen{{frame(50, 40, "r", 0), frame(1050, 1000, "r", 10), frame(2050, 2000, "r", 20)}},
			from:    0, to: 5000,
			want: []sample{{Total: 950 * time.Millisecond, Delivery: 50 * time.Millisecond},
				{Total: 950 * time.Millisecond, Delivery: 50 * time.Millisecond}},
		},
		{
			// Worker 1's total is reached by the fleet before worker 0's delta is merged; the
			// per-worker count keeps the pairing right.
			name: "another worker's progress does not count",
			sends: [][]sent{
				{{At: at(100), Seq: 1, Cum: 10}},
				{{At: at(200), Seq: 1, Cum: 30}},
			},
			clients: [][]seen{{frame(1000, 990, "r", 0, 30), frame(2000, 1990, "r", 10, 30)}},
			from:    0, to: 5000,
			want: []sample{{Total: 1900 * time.Millisecond, Delivery: 10 * time.Millisecond},
				{Total: 800 * time.Millisecond, Delivery: 10 * time.Millisecond}},
		},
		{
			name:    "outside the window is left out",
			sends:   [][]sent{{{At: at(100), Cum: 10}, {At: at(1100), Cum: 20}, {At: at(2100), Cum: 30}}},
			clients: [][]seen{{frame(3000, 3000, "r", 30)}},
			from:    1000, to: 2100,
			want: []sample{{Total: 1900 * time.Millisecond}},
		},
		{
			name:    "frames of another run are ignored; never shown is missing",
			sends:   [][]sent{{{At: at(100), Cum: 10}, {At: at(1100), Cum: 20}}},
			clients: [][]seen{{frame(500, 500, "old", 99), frame(1500, 1500, "r", 10)}},
			from:    0, to: 5000,
			want:        []sample{{Total: 1400 * time.Millisecond}},
			wantMissing: 1,
		},
		{
			name:  "one sample per client",
			sends: [][]sent{{{At: at(100), Cum: 10}}},
			clients: [][]seen{
				{frame(1010, 1000, "r", 10)},
				{frame(1200, 1000, "r", 10)},
			},
			from: 0, to: 5000,
			want: []sample{{Total: 910 * time.Millisecond, Delivery: 10 * time.Millisecond},
				{Total: 1100 * time.Millisecond, Delivery: 200 * time.Millisecond}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, missing := delays("r", tt.sends, tt.clients, at(tt.from), at(tt.to))
			if missing != tt.wantMissing {
				t.Errorf("missing = %d, want %d", missing, tt.wantMissing)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d samples %v, want %v", len(got), got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("sample %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	vals := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	tests := []struct {
		name string
		q    float64
		want int
	}{
		{"median", 0.5, 5},
		{"p99 of ten is the max", 0.99, 10},
		{"p90", 0.9, 9},
		{"max", 1, 10},
		{"zero is the min", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := quantile(vals, tt.q); got != tt.want {
				t.Errorf("quantile(%g) = %d, want %d", tt.q, got, tt.want)
			}
		})
	}
	if got := quantile([]int(nil), 0.5); got != 0 {
		t.Errorf("quantile of nothing = %d, want 0", got)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	// Four samples a second for three seconds: 0.1 cores, except 0.5 cores in the second second.
	var ss []procSample
	cpu := time.Duration(0)
	for i := 0; i <= 12; i++ {
		if i > 0 {
			rate := 0.1
			if i > 4 && i <= 8 {
				rate = 0.5
			}
			cpu += time.Duration(rate * float64(250*time.Millisecond))
		}
		ss = append(ss, procSample{At: at(250 * i), CPU: cpu, RSS: uint64(100 + i%5), HWM: 200})
	}
	u := usage(ss)
	if u.Window != 3*time.Second {
		t.Errorf("window = %s, want 3s", u.Window)
	}
	if want := (0.1 + 0.5 + 0.1) / 3; abs(u.Cores-want) > 1e-9 {
		t.Errorf("cores = %g, want %g", u.Cores, want)
	}
	if abs(u.BusiestSec-0.5) > 1e-9 {
		t.Errorf("busiest second = %g cores, want 0.5", u.BusiestSec)
	}
	if u.RSSPeak != 104 || u.RSSEnd != 102 || u.HWM != 200 {
		t.Errorf("RSS peak %d, end %d, HWM %d; want 104, 102, 200", u.RSSPeak, u.RSSEnd, u.HWM)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestFrameKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		prefix string
		want   string
		ok     bool
	}{
		{"update", `{"type":"update","time":"2026-11-23T12:24:02.5Z","defaults":{`, "update 2026-11-23T12:24:02.5Z", true},
		{"snapshot", `{"type":"snapshot","time":"2026-11-23T12:24:02Z","run":null`, "snapshot 2026-11-23T12:24:02Z", true},
		{"time cut off", `{"type":"update","time":"2026-11-23T1`, "", false},
		{"no time", `{"type":"update","defaults":{}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := frameKey([]byte(tt.prefix))
			if got != tt.want || ok != tt.ok {
				t.Errorf("frameKey = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestWindowRequests(t *testing.T) {
	t.Parallel()
	ss := []sent{{At: at(0), Cum: 5}, {At: at(1000), Cum: 12}, {At: at(2000), Cum: 20}, {At: at(3000), Cum: 26}}
	if got := windowRequests(ss, at(1000), at(3000)); got != 15 {
		t.Errorf("requests in [1s, 3s) = %d, want 15 (7 + 8)", got)
	}
}

func TestLoadFill(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		perName float64
		elapsed time.Duration
		seconds int
		want    float64 // requests per name per second, on average
	}{
		{"whole", 3, time.Second, 1, 3},
		{"half a second", 4, 500 * time.Millisecond, 1, 2},
		{"fraction on average", 0.25, time.Second, 400, 0.25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := load{Names: 50, PerName: tt.perName, Median: 50 * time.Millisecond, Sigma: 0.6, FailRate: 0}
			names := l.names()
			rng := rand.New(rand.NewPCG(1, 2))
			var total, reported uint64
			for range tt.seconds {
				var d stats.Delta
				total += l.fill(&d, names, rng, tt.elapsed, t0)
				reported += d.Requests()
				if n := d.Metrics["http_reqs"]; n != nil && uint64(n.Sum) != d.Requests() {
					t.Fatalf("http_reqs = %g, want %d (one per request)", n.Sum, d.Requests())
				}
			}
			if total != reported {
				t.Fatalf("fill returned %d requests, the deltas hold %d", total, reported)
			}
			got := float64(total) / float64(len(names)*tt.seconds)
			if abs(got-tt.want) > 0.05*tt.want {
				t.Errorf("%.3f requests per name per interval, want %.3f ± 5%%", got, tt.want)
			}
		})
	}
}
