package stats

import (
	"bytes"
	"encoding/gob"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// quantiles is the set of q every histogram test reads.
var quantiles = []float64{0, 0.001, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1}

// checkHistogram asserts that h describes exactly the values vs: counts, min, max, sum and
// every quantile within 1% (or within 1e-9 absolute for the zero bucket).
func checkHistogram(t *testing.T, h *Histogram, vs []float64) {
	t.Helper()
	if h.Count != uint64(len(vs)) {
		t.Fatalf("Count = %d, want %d", h.Count, len(vs))
	}
	checkSorted(t, h.Pos)
	checkSorted(t, h.Neg)
	buckets := sumCounts(h.Pos) + sumCounts(h.Neg)
	if buckets+h.Zero != h.Count {
		t.Errorf("buckets hold %d values, Count is %d", buckets+h.Zero, h.Count)
	}
	if len(vs) == 0 {
		if !h.Empty() || h.Quantile(0.5) != 0 || h.Mean() != 0 {
			t.Errorf("empty histogram: Empty=%v p50=%v mean=%v", h.Empty(), h.Quantile(0.5), h.Mean())
		}
		return
	}
	sorted := slices.Sorted(slices.Values(vs))
	if h.Min != sorted[0] || h.Max != sorted[len(sorted)-1] {
		t.Errorf("Min/Max = %v/%v, want %v/%v", h.Min, h.Max, sorted[0], sorted[len(sorted)-1])
	}
	var sum float64
	for _, v := range vs {
		sum += v
	}
	if math.Abs(h.Sum-sum) > 1e-9*math.Abs(sum) {
		t.Errorf("Sum = %v, want %v", h.Sum, sum)
	}
	got := h.Quantiles(quantiles...)
	for i, q := range quantiles {
		want := exactQuantile(sorted, q)
		if got[i] < h.Min || got[i] > h.Max {
			t.Errorf("q=%v: %v outside [Min, Max] = [%v, %v]", q, got[i], h.Min, h.Max)
		}
		if math.Abs(got[i]-want) > 0.01*math.Abs(want)+zeroBelow {
			t.Errorf("q=%v: got %v, want %v within 1%%", q, got[i], want)
		}
		if single := h.Quantile(q); single != got[i] {
			t.Errorf("q=%v: Quantile = %v but Quantiles = %v", q, single, got[i])
		}
	}
}

func TestHistogram(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	spread := make([]float64, 10_000)
	for i := range spread {
		spread[i] = math.Exp(40*r.Float64() - 20) // 2e-9 .. 5e8
	}
	mixed := make([]float64, 10_000)
	for i := range mixed {
		mixed[i] = 100 * r.NormFloat64()
	}
	tests := []struct {
		name string
		vs   []float64
	}{
		{"empty", nil},
		{"single", []float64{42.5}},
		{"all equal", slices.Repeat([]float64{7.3}, 1000)},
		{"zeros", make([]float64, 100)},
		{"zero and tiny", []float64{0, 1e-12, -1e-10, 0, 5e-10}},
		{"tiny only", []float64{5e-10, 5e-10, 6e-10}},
		{"negatives", []float64{-1, -2, -3, -400, -5000.5}},
		{"mixed signs", mixed},
		{"very small", []float64{1e-9, 2e-9, 3.5e-9, 1e-8}},
		{"very large", []float64{1e300, 2e300, math.MaxFloat64, 1e301}},
		{"near overflow", []float64{1.3e308, 1.5e308, 1.75e308}}, // math.Exp overflows early here
		{"wide spread", spread},
		{"two values", []float64{1, 1000}},
		{"bucket bounds", []float64{1, gamma, gamma * gamma, 1 / gamma, math.Pow(gamma, 100)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h Histogram
			for _, v := range tt.vs {
				h.Add(v)
			}
			checkHistogram(t, &h, tt.vs)
		})
	}
}

func TestHistogramQuantileEnds(t *testing.T) {
	t.Parallel()
	var h Histogram
	for _, v := range []float64{3.3, 1.1, 2.2, 1000.7} {
		h.Add(v)
	}
	tests := []struct {
		name  string
		q     float64
		want  float64
		exact bool // else within 1% and never above want
	}{
		{"q=0 is Min", 0, 1.1, true},
		{"negative q is Min", -1, 1.1, true},
		{"NaN q is Min", math.NaN(), 1.1, true},
		{"q=1 is Max", 1, 1000.7, true},
		{"q>1 is Max", 2, 1000.7, true},
		{"p99 never exceeds Max", 0.99, 1000.7, false},
		{"p1 never below Min", 0.01, 1.1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := h.Quantile(tt.q)
			if tt.exact && got != tt.want || relErr(got, tt.want) > 0.01 || got < h.Min || got > h.Max {
				t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestHistogramMergeAddN(t *testing.T) {
	t.Parallel()
	vs := []float64{0, -2, 5, 5, 5, 17.25, 1e6, -0.5}
	var whole Histogram
	for _, v := range vs {
		whole.Add(v)
	}
	split := func(n int) *Histogram {
		var a, b Histogram
		for _, v := range vs[:n] {
			a.Add(v)
		}
		for _, v := range vs[n:] {
			b.Add(v)
		}
		a.Merge(&b)
		return &a
	}
	tests := []struct {
		name string
		h    *Histogram
		vs   []float64
	}{
		{"merge halves", split(4), vs},
		{"merge into empty", split(0), vs},
		{"merge empty", split(len(vs)), vs},
		{"merge nil", func() *Histogram { h := whole.Clone(); h.Merge(nil); return h }(), vs},
		{"merge self", func() *Histogram { h := whole.Clone(); h.Merge(h); return h }(), append(slices.Clone(vs), vs...)},
		{"AddN", func() *Histogram {
			var h Histogram
			h.AddN(5, 3)
			h.AddN(-1, 2)
			h.AddN(99, 0) // no-op, must not touch Min/Max either
			return &h
		}(), []float64{5, 5, 5, -1, -1}},
		{"NaN ignored", func() *Histogram {
			var h Histogram
			h.Add(math.NaN())
			h.Add(2)
			h.AddN(math.NaN(), 5)
			return &h
		}(), []float64{2}},
		{"reset then reuse", func() *Histogram {
			h := whole.Clone()
			h.Reset()
			h.Add(-3)
			return h
		}(), []float64{-3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkHistogram(t, tt.h, tt.vs)
		})
	}
	t.Run("clone is deep", func(t *testing.T) {
		t.Parallel()
		c := whole.Clone()
		c.Add(5)
		if whole.Count != uint64(len(vs)) || countIn(whole.Pos, bucketOf(5)) != 3 {
			t.Errorf("adding to a clone changed the original: Count=%d", whole.Count)
		}
	})
}

func TestHistogramGob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vs   []float64
	}{
		{"empty", nil},
		{"zeros only", []float64{0, 0}},
		{"mixed", []float64{-4, 0, 1e-3, 250, 250, 3e5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h Histogram
			for _, v := range tt.vs {
				h.Add(v)
			}
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode(&h); err != nil {
				t.Fatal(err)
			}
			var got Histogram
			if err := gob.NewDecoder(&buf).Decode(&got); err != nil {
				t.Fatal(err)
			}
			checkHistogram(t, &got, tt.vs)
			got.Add(1) // nil maps after decoding must still be usable
			if got.Count != uint64(len(tt.vs))+1 {
				t.Errorf("Count after Add = %d", got.Count)
			}
		})
	}
}

// TestHistogramBounded checks the memory claim: 1µs..1h in milliseconds needs ~1,100 buckets.
// checkSorted asserts the order a Histogram keeps its buckets in: ascending indexes, each once,
// no empty bucket.
func checkSorted(t *testing.T, bs []Bucket) {
	t.Helper()
	for j, b := range bs {
		if b.Count == 0 || j > 0 && b.Index <= bs[j-1].Index {
			t.Fatalf("buckets out of order or empty at %d: %v", j, bs)
		}
	}
}

// countIn returns the count of bucket i in bs, 0 if bs has no such bucket.
func countIn(bs []Bucket, i int32) uint64 {
	for _, b := range bs {
		if b.Index == i {
			return b.Count
		}
	}
	return 0
}

// Merging and adding in any order gives the same buckets as counting in a map, and keeps them
// sorted, whether a bucket lands before, between or after the ones already there.
func TestBucketsAgainstAMap(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 7))
	for round := range 200 {
		want := map[int32]uint64{}
		var h Histogram
		for range 1 + r.IntN(8) {
			var o Histogram
			for range r.IntN(40) {
				i := int32(r.IntN(60) - 30)
				n := uint64(1 + r.IntN(3))
				want[i] += n
				o.AddN(bucketValue(i), n)
			}
			if r.IntN(2) == 0 {
				h.Merge(&o)
			} else {
				for _, b := range o.Pos {
					h.AddN(bucketValue(b.Index), b.Count)
				}
			}
		}
		checkSorted(t, h.Pos)
		got := map[int32]uint64{}
		for _, b := range h.Pos {
			got[b.Index] = b.Count
		}
		if !maps.Equal(got, want) {
			t.Fatalf("round %d: buckets %v, want %v", round, got, want)
		}
	}
}

func TestMakeBuckets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		index []int32
		count []uint64
		want  []Bucket
	}{
		{"empty", nil, nil, nil},
		{"sorted is kept", []int32{-3, 1, 9}, []uint64{1, 2, 3}, []Bucket{{-3, 1}, {1, 2}, {9, 3}}},
		{"unsorted is sorted", []int32{9, -3, 1}, []uint64{3, 1, 2}, []Bucket{{-3, 1}, {1, 2}, {9, 3}}},
		{"repeats add up", []int32{5, 2, 5, 2}, []uint64{1, 1, 10, 4}, []Bucket{{2, 5}, {5, 11}}},
		{"zero counts dropped", []int32{1, 2, 3}, []uint64{0, 7, 0}, []Bucket{{2, 7}}},
		{"unpaired tail ignored", []int32{1, 2, 3}, []uint64{4}, []Bucket{{1, 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := MakeBuckets(tt.index, tt.count); !slices.Equal(got, tt.want) {
				t.Errorf("MakeBuckets = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHistogramBounded(t *testing.T) {
	t.Parallel()
	var h Histogram
	for v := 1e-3; v <= 3.6e6; v *= 1.001 {
		h.Add(v)
	}
	if n := len(h.Pos); n < 1000 || n > 1200 {
		t.Errorf("1µs..1h uses %d buckets, want about 1,100", n)
	}
}

func TestHistogramCountAtMost(t *testing.T) {
	t.Parallel()
	// Two values inside the bucket of 100, on either side of its representative r.
	k := bucketOf(100)
	r := bucketValue(k)
	straddle := []float64{1, r * 0.999, r * 1.001, 1000}
	ms := []float64{3, 12, 40, 120, 700}
	tests := []struct {
		name string
		vs   []float64
		v    float64
		want uint64
	}{
		{"empty", nil, 1, 0},
		{"NaN bound", ms, math.NaN(), 0},
		{"below Min", ms, 2.9, 0},
		{"at Min", ms, 3, 1},
		{"at Max is exact", ms, 700, 5},
		{"above Max", ms, 1e9, 5},
		{"+Inf", ms, math.Inf(1), 5},
		{"-Inf", ms, math.Inf(-1), 0},
		{"between buckets", ms, 50, 3},
		{"between buckets low", ms, 10, 1},
		{"between buckets high", ms, 250, 4},
		{"equal values at Max", slices.Repeat([]float64{10}, 7), 10, 7},
		{"straddle below representative", straddle, r * 0.9995, 1}, // exact: 2
		{"straddle above representative", straddle, r * 1.0005, 3}, // exact: 2
		{"straddle at representative", straddle, r, 3},             // exact: 2
		{"one bucket, bound inside", straddle[1:3], r, 1},          // Max never counts below Max
		{"zero bucket at zero", []float64{-3, 0, 1e-12, 5}, 0, 3},  // 1e-12 reads as 0
		{"just below zero", []float64{-3, 0, 5}, -1e-12, 1},        // zero bucket reads as 0 > v
		{"just above zero", []float64{-3, 0, 5}, 1e-12, 2},         // 5 lies far above
		{"negative bound", []float64{-100, -10, -1, 0, 1}, -5, 2},  // -100, -10
		{"negative bound far", []float64{-100, -10, -1, 0, 1}, -50, 1},
		{"positive bound over negatives", []float64{-100, -10, -1, 0, 1}, 0.5, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h Histogram
			for _, v := range tt.vs {
				h.Add(v)
			}
			if got := h.CountAtMost(tt.v); got != tt.want {
				t.Errorf("CountAtMost(%v) = %d, want %d", tt.v, got, tt.want)
			}
		})
	}
}

// TestHistogramCountAtMostBound checks the documented error bound against exact counts, and that
// the count never decreases as the bound grows (Prometheus buckets are cumulative).
func TestHistogramCountAtMostBound(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	vs := make([]float64, 5000)
	for i := range vs {
		vs[i] = math.Exp(16*r.Float64() - 6) // 2.5e-3 .. 2.2e4, like durations in ms
		if i%5 == 0 {
			vs[i] = -vs[i]
		}
	}
	var h Histogram
	for _, v := range vs {
		h.Add(v)
	}
	exact := func(v float64) uint64 {
		var n uint64
		for _, x := range vs {
			if x <= v {
				n++
			}
		}
		return n
	}
	bounds := make([]float64, 2000)
	for i := range bounds {
		bounds[i] = math.Exp(18*r.Float64() - 7)
		if i%3 == 0 {
			bounds[i] = -bounds[i]
		}
	}
	slices.Sort(bounds)
	var prev uint64
	for _, v := range bounds {
		got := h.CountAtMost(v)
		lo, hi := exact(v/gamma), exact(v*gamma)
		if v < 0 {
			lo, hi = hi, lo
		}
		if got < lo || got > hi {
			t.Errorf("CountAtMost(%v) = %d, want within [%d, %d] (exact %d)", v, got, lo, hi, exact(v))
		}
		if got < prev {
			t.Errorf("CountAtMost(%v) = %d, below %d for a smaller bound", v, got, prev)
		}
		prev = got
	}
}

// Merging many new buckets into many is one linear pass: two 15,000-bucket histograms whose
// buckets interleave (every bucket of one is new to the other) merge exactly, both ways round.
// (Inserting them one at a time would move about 1.8 GB here.)
func TestMergeInterleavedBuckets(t *testing.T) {
	t.Parallel()
	var even, odd Histogram
	for i := int32(0); i < 30_000; i += 2 { // 1 to 1e258: all in range, none in the zero bucket
		even.AddN(bucketValue(i), 1)
		odd.AddN(bucketValue(i+1), 2)
	}
	for _, h := range []*Histogram{even.Clone(), odd.Clone()} {
		o := &odd
		if h.Pos[0].Index%2 != 0 {
			o = &even
		}
		h.Merge(o)
		checkSorted(t, h.Pos)
		if len(h.Pos) != 30_000 || h.Count != 45_000 || sumCounts(h.Pos) != 45_000 {
			t.Fatalf("merged %d buckets holding %d values, Count %d; want 30000, 45000, 45000",
				len(h.Pos), sumCounts(h.Pos), h.Count)
		}
	}
}
