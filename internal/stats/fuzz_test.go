package stats

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

// FuzzHistogram feeds arbitrary float64s (8 little-endian bytes each) into a histogram, in one
// piece and split in two and merged, and checks that counts are exact, quantiles stay within
// [Min, Max] and, for finite inputs, within 1% of the exact quantile.
func FuzzHistogram(f *testing.F) {
	f.Add(floatBytes(1, 2, 3), 0.5)
	f.Add(floatBytes(-1e300, 0, 1e-300, math.Inf(1)), 0.99)
	f.Add(floatBytes(math.NaN(), 5, math.MaxFloat64, -math.SmallestNonzeroFloat64), 0.25)
	f.Fuzz(func(t *testing.T, data []byte, q float64) {
		var vs []float64
		for b := range slices.Chunk(data, 8) {
			if len(b) == 8 {
				vs = append(vs, math.Float64frombits(binary.LittleEndian.Uint64(b)))
			}
		}
		var whole, a, b Histogram
		var kept []float64 // NaN is not recorded
		finite := true
		for i, v := range vs {
			whole.Add(v)
			if i%2 == 0 {
				a.Add(v)
			} else {
				b.AddN(v, 1)
			}
			if !math.IsNaN(v) {
				kept = append(kept, v)
				finite = finite && !math.IsInf(v, 0)
			}
		}
		a.Merge(&b)
		for _, h := range []*Histogram{&whole, &a} {
			if h.Count != uint64(len(kept)) {
				t.Fatalf("Count = %d, want %d", h.Count, len(kept))
			}
			n := sumCounts(h.Pos) + sumCounts(h.Neg)
			if n+h.Zero != h.Count {
				t.Fatalf("buckets hold %d, Count is %d", n+h.Zero, h.Count)
			}
			if len(kept) == 0 {
				if h.Quantile(q) != 0 {
					t.Fatalf("empty histogram: Quantile(%v) = %v", q, h.Quantile(q))
				}
				continue
			}
			sorted := slices.Sorted(slices.Values(kept))
			for _, q := range []float64{q, 0, 0.5, 0.99, 1} {
				got := h.Quantile(q)
				if !(got >= h.Min && got <= h.Max) {
					t.Fatalf("Quantile(%v) = %v outside [%v, %v]", q, got, h.Min, h.Max)
				}
				if math.IsNaN(q) || !finite {
					continue
				}
				want := exactQuantile(sorted, q)
				if math.Abs(got-want) > 0.01*math.Abs(want)+zeroBelow {
					t.Fatalf("Quantile(%v) = %v, exact %v", q, got, want)
				}
			}
		}
		if whole.Min != a.Min || whole.Max != a.Max {
			t.Fatalf("merged Min/Max %v/%v differ from whole %v/%v", a.Min, a.Max, whole.Min, whole.Max)
		}
	})
}

func floatBytes(vs ...float64) []byte {
	var out []byte
	for _, v := range vs {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
	}
	return out
}
