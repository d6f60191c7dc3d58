package stats

import (
	"maps"
	"math"
	"slices"
	"sort"
)

const (
	// gamma is the ratio between consecutive bucket bounds. A bucket (γ^(i-1), γ^i] read as
	// 2γ^i/(γ+1) is off by at most (γ-1)/(γ+1) ≈ 0.990% for any value in it, which is what
	// keeps every quantile within 1%.
	gamma = 1.02
	// lnGamma is ln(gamma) and lnRep is ln(2/(gamma+1)), as constants so the package has no
	// initialised globals. Working in log space keeps the top bucket's representative finite
	// even where γ^i itself would overflow.
	lnGamma = 0.019802627296179729777
	lnRep   = -0.0099503308531680920157
	// zeroBelow is the magnitude under which values share one bucket read as 0: relative
	// error means nothing near zero, and it caps the bucket index range from below.
	zeroBelow = 1e-9
)

// Histogram is a mergeable log-bucketed histogram. Counts are exact; any quantile read from it
// is within 1% relative error of the exact quantile of the values added (for |v| >= 1e-9;
// values with |v| < 1e-9 land in the zero bucket and read as 0, clamped to [Min, Max]).
//
// Bucket i covers (γ^(i-1), γ^i] with γ = 1.02 and is read as 2γ^i/(γ+1), within 0.99% of
// every value in it. Negative values go to a mirrored map indexed by |v|. Memory is bounded
// by the number of distinct buckets used, about 1,100 for durations from 1µs to 1 hour in
// milliseconds. NaN values are ignored (they have no rank); ±Inf are counted in the outermost
// bucket and show up exactly in Min/Max.
//
// The zero value is an empty histogram ready to use. Fields are exported for encoding/gob;
// change them only through the methods.
type Histogram struct {
	Pos   map[int32]uint64 // bucket index -> count, for v > 0
	Neg   map[int32]uint64 // bucket index of |v| -> count, for v < 0
	Zero  uint64           // values with |v| < 1e-9
	Count uint64           // values added
	Sum   float64          // exact sum (up to float64 rounding)
	Min   float64          // exact; meaningless when Count == 0
	Max   float64          // exact; meaningless when Count == 0
}

// bucketOf returns the index of the bucket holding magnitude a (a >= zeroBelow).
func bucketOf(a float64) int32 {
	// Clamping +Inf keeps the index in range; Max still records the exact value.
	a = min(a, math.MaxFloat64)
	return int32(math.Ceil(math.Log(a) / lnGamma))
}

// bucketValue returns the representative magnitude of bucket i.
func bucketValue(i int32) float64 {
	// exp(x/2)² rather than exp(x): math.Exp on amd64 returns +Inf a little below the true
	// overflow point (x ≈ 709.46 already overflows), which would lose the top buckets.
	h := math.Exp((float64(i)*lnGamma + lnRep) / 2)
	return h * h
}

// Add records one value.
func (h *Histogram) Add(v float64) { h.AddN(v, 1) }

// AddN records n copies of v. It is what a caller with pre-counted samples uses instead of a
// loop; n == 0 is a no-op.
func (h *Histogram) AddN(v float64, n uint64) {
	if n == 0 || math.IsNaN(v) {
		return
	}
	if h.Count == 0 {
		h.Min, h.Max = v, v
	} else {
		h.Min, h.Max = min(h.Min, v), max(h.Max, v)
	}
	h.Count += n
	h.Sum += v * float64(n)
	switch a := math.Abs(v); {
	case a < zeroBelow:
		h.Zero += n
	case v > 0:
		if h.Pos == nil {
			h.Pos = make(map[int32]uint64)
		}
		h.Pos[bucketOf(a)] += n
	default:
		if h.Neg == nil {
			h.Neg = make(map[int32]uint64)
		}
		h.Neg[bucketOf(a)] += n
	}
}

// Merge adds every value recorded in o to h, exactly as if they had been added to h directly.
// o may be nil or empty; o is not modified.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.Count == 0 {
		return
	}
	if h.Count == 0 {
		h.Min, h.Max = o.Min, o.Max
	} else {
		h.Min, h.Max = min(h.Min, o.Min), max(h.Max, o.Max)
	}
	h.Count += o.Count
	h.Sum += o.Sum
	h.Zero += o.Zero
	if len(o.Pos) > 0 && h.Pos == nil {
		h.Pos = make(map[int32]uint64, len(o.Pos))
	}
	for i, n := range o.Pos {
		h.Pos[i] += n
	}
	if len(o.Neg) > 0 && h.Neg == nil {
		h.Neg = make(map[int32]uint64, len(o.Neg))
	}
	for i, n := range o.Neg {
		h.Neg[i] += n
	}
}

// Quantile returns the q-quantile: an estimate of the value at rank ceil(q*Count) (1-based) of
// the values added in ascending order, within 1% of it. The result is clamped to [Min, Max],
// so a p99 never exceeds the max; q <= 0 (or NaN) returns Min and q >= 1 returns Max, both
// exact. An empty histogram returns 0.
func (h *Histogram) Quantile(q float64) float64 { return h.Quantiles(q)[0] }

// Quantiles returns Quantile(q) for each q, sorting the buckets once for all of them.
func (h *Histogram) Quantiles(qs ...float64) []float64 {
	out := make([]float64, len(qs))
	if h.Count == 0 {
		return out
	}
	type bucket struct {
		v   float64
		cum uint64 // values in this bucket and every lower one
	}
	bs := make([]bucket, 0, len(h.Neg)+len(h.Pos)+1)
	var cum uint64
	push := func(v float64, n uint64) {
		if n > 0 {
			cum += n
			bs = append(bs, bucket{v, cum})
		}
	}
	neg := slices.Sorted(maps.Keys(h.Neg))
	for _, i := range slices.Backward(neg) { // larger |v| first: ascending order of v
		push(-bucketValue(i), h.Neg[i])
	}
	push(0, h.Zero)
	for _, i := range slices.Sorted(maps.Keys(h.Pos)) {
		push(bucketValue(i), h.Pos[i])
	}
	for k, q := range qs {
		switch {
		case !(q > 0):
			out[k] = h.Min
		case q >= 1:
			out[k] = h.Max
		default:
			r := rank(q, h.Count)
			j := sort.Search(len(bs), func(j int) bool { return bs[j].cum >= r })
			if j == len(bs) { // buckets disagree with Count (hand-built or corrupt input)
				out[k] = h.Max
				continue
			}
			out[k] = min(max(bs[j].v, h.Min), h.Max)
		}
	}
	return out
}

// rank returns the 1-based rank ceil(q*n), kept within [1, n].
func rank(q float64, n uint64) uint64 {
	r := uint64(math.Ceil(q * float64(n)))
	return min(max(r, 1), n)
}

// CountAtMost returns how many of the values added are <= v: the cumulative count a classic
// Prometheus bucket with upper bound v needs.
//
// Only the one bucket that straddles v is uncertain; its values all count or all do not,
// depending on whether its representative value is <= v. Those values lie within the bucket's
// width of v (2% of |v|), so the result is never below the exact count at v/1.02 and never
// above the exact count at v*1.02 (for v > 0; mirrored for v < 0). It is exact for v >= Max
// (Count) and for v < Min (0), at least 1 from Min on, at most Count-1 below Max, and it never
// decreases as v grows. NaN returns 0.
func (h *Histogram) CountAtMost(v float64) uint64 {
	switch {
	case h.Count == 0 || math.IsNaN(v) || v < h.Min:
		return 0
	case v >= h.Max:
		return h.Count
	}
	// Min <= v < Max: Min itself counts and Max does not, whatever the buckets say.
	return min(max(h.bucketsAtMost(v), 1), h.Count-1)
}

// bucketsAtMost is CountAtMost read from the buckets alone.
func (h *Histogram) bucketsAtMost(v float64) uint64 {
	var n uint64
	a := math.Abs(v)
	if a < zeroBelow {
		// Every negative bucket lies below v and every positive one above it.
		for _, c := range h.Neg {
			n += c
		}
		if v >= 0 {
			n += h.Zero
		}
		return n
	}
	// bucketOf is monotonic, so a bucket index below (above) v's own says all its values are
	// below (above) v; only v's own bucket needs its representative compared.
	k := bucketOf(a)
	if v > 0 {
		n = h.Zero
		for _, c := range h.Neg {
			n += c
		}
		for i, c := range h.Pos {
			if i < k || i == k && bucketValue(k) <= v {
				n += c
			}
		}
		return n
	}
	for i, c := range h.Neg { // larger |x| is further below v
		if i > k || i == k && -bucketValue(k) <= v {
			n += c
		}
	}
	return n
}

// Mean returns Sum/Count, or 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.Count == 0 {
		return 0
	}
	return h.Sum / float64(h.Count)
}

// Clone returns a deep copy of h.
func (h *Histogram) Clone() *Histogram {
	c := *h
	c.Pos = maps.Clone(h.Pos)
	c.Neg = maps.Clone(h.Neg)
	return &c
}

// Reset empties h, keeping its maps' storage for reuse.
func (h *Histogram) Reset() {
	clear(h.Pos)
	clear(h.Neg)
	h.Zero, h.Count, h.Sum, h.Min, h.Max = 0, 0, 0, 0, 0
}

// Empty reports whether no values have been added.
func (h *Histogram) Empty() bool { return h.Count == 0 }
