package stats

import (
	"cmp"
	"math"
	"slices"
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
// every value in it. Negative values go to mirrored buckets indexed by |v|. Only buckets that
// hold values are stored, about 1,100 at most for durations from 1µs to 1 hour in milliseconds.
// NaN values are ignored (they have no rank); ±Inf are counted in the outermost bucket and show
// up exactly in Min/Max.
//
// The buckets are kept as slices sorted by index, not as maps: the master merges every worker's
// histograms every second, and merging sorted slices is a search and an add per bucket with no
// hashing and, once a histogram has seen its range, no allocation (see docs/performance.md).
//
// The zero value is an empty histogram ready to use. Fields are exported for encoding/gob;
// change them only through the methods, or build Pos and Neg with MakeBuckets.
type Histogram struct {
	Pos   []Bucket // buckets of v > 0, by ascending Index, each Index once, no zero Count
	Neg   []Bucket // buckets of |v| for v < 0, kept the same way
	Zero  uint64   // values with |v| < 1e-9
	Count uint64   // values added
	Sum   float64  // exact sum (up to float64 rounding)
	Min   float64  // exact; meaningless when Count == 0
	Max   float64  // exact; meaningless when Count == 0
}

// Bucket is one non-empty bucket of a Histogram: Count values in the bucket of index Index.
type Bucket struct {
	Index int32
	Count uint64
}

// MakeBuckets returns the buckets given as parallel slices of indexes and counts, in the order
// a Histogram keeps them: sorted by index, repeated indexes added up, empty buckets dropped.
// Entries past the end of the shorter slice are ignored. The result shares nothing with the
// arguments.
func MakeBuckets(index []int32, count []uint64) []Bucket {
	n := min(len(index), len(count))
	if n == 0 {
		return nil
	}
	out := make([]Bucket, 0, n)
	sorted := true
	for i := range n {
		if count[i] == 0 {
			continue
		}
		if len(out) > 0 && index[i] <= out[len(out)-1].Index {
			sorted = false
		}
		out = append(out, Bucket{index[i], count[i]})
	}
	if sorted {
		return out
	}
	slices.SortFunc(out, func(a, b Bucket) int { return cmp.Compare(a.Index, b.Index) })
	j := 0
	for _, b := range out[1:] {
		if b.Index == out[j].Index {
			out[j].Count += b.Count
		} else {
			j++
			out[j] = b
		}
	}
	return out[:j+1]
}

// addBucket adds n values to bucket i of bs, which stays sorted.
func addBucket(bs []Bucket, i int32, n uint64) []Bucket {
	j, found := search(bs, i)
	if found {
		bs[j].Count += n
		return bs
	}
	return slices.Insert(bs, j, Bucket{i, n})
}

// mergeBuckets adds every bucket of src to dst; both are sorted and dst stays so.
//
// The steady state is a dst that already holds every bucket of src: each is looked up (see
// search) from where the previous one was and added in place, with no allocation. Buckets dst
// lacks are then brought in by one linear merge into a new slice, never by an insertion each:
// inserting k new buckets one by one into n would move O(k·n) memory, and a worker's delta may
// carry 40,000 buckets.
func mergeBuckets(dst, src []Bucket) []Bucket {
	if len(dst) == 0 {
		return append(dst, src...)
	}
	from, missing := 0, 0
	for _, b := range src {
		j, found := search(dst[from:], b.Index)
		j += from
		if found {
			dst[j].Count += b.Count
		} else {
			missing++
		}
		from = j
	}
	if missing == 0 {
		return dst
	}
	out := make([]Bucket, 0, len(dst)+missing)
	i := 0
	for _, b := range src {
		for i < len(dst) && dst[i].Index < b.Index {
			out = append(out, dst[i])
			i++
		}
		if i < len(dst) && dst[i].Index == b.Index {
			continue // added in place above
		}
		out = append(out, b)
	}
	return append(out, dst[i:]...)
}

// search returns where bucket i is in bs, or where it would be inserted, and whether it is there.
//
// Indexes rise by at least one per bucket, so i can only sit within i-first places of the start
// and within last-i places of the end. A histogram of real durations has few holes between its
// first and last bucket, so those bounds leave one or two candidates: the lookup is a read of
// the two ends and of the bucket itself, not a binary search through cold memory. (This loop is
// the master's innermost; see docs/performance.md.)
func search(bs []Bucket, i int32) (int, bool) {
	n := len(bs)
	switch {
	case n == 0 || i < bs[0].Index:
		return 0, false
	case i > bs[n-1].Index:
		return n, false
	}
	lo := max(0, n-1-int(int64(bs[n-1].Index)-int64(i)))
	hi := min(n-1, int(int64(i)-int64(bs[0].Index))) + 1
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bs[m].Index < i {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, bs[lo].Index == i
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
		h.Pos = addBucket(h.Pos, bucketOf(a), n)
	default:
		h.Neg = addBucket(h.Neg, bucketOf(a), n)
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
	h.Pos = mergeBuckets(h.Pos, o.Pos)
	h.Neg = mergeBuckets(h.Neg, o.Neg)
}

// Quantile returns the q-quantile: an estimate of the value at rank ceil(q*Count) (1-based) of
// the values added in ascending order, within 1% of it. The result is clamped to [Min, Max],
// so a p99 never exceeds the max; q <= 0 (or NaN) returns Min and q >= 1 returns Max, both
// exact. An empty histogram returns 0.
func (h *Histogram) Quantile(q float64) float64 { return h.Quantiles(q)[0] }

// Quantiles returns Quantile(q) for each q, with one pass over the buckets for all of them.
func (h *Histogram) Quantiles(qs ...float64) []float64 {
	out := make([]float64, len(qs))
	if h.Count == 0 {
		return out
	}
	// The buckets in ascending order of value: negative ones from the largest |v| down, the
	// zero bucket, then the positive ones. cum[j] counts the values in the first j+1.
	n := len(h.Neg) + 1 + len(h.Pos)
	cum := make([]uint64, n)
	var c uint64
	for j := range n {
		c += h.countAt(j)
		cum[j] = c
	}
	for k, q := range qs {
		switch {
		case !(q > 0):
			out[k] = h.Min
		case q >= 1:
			out[k] = h.Max
		default:
			r := rank(q, h.Count)
			j, _ := slices.BinarySearch(cum, r) // the first bucket whose cumulative count reaches r
			if j == n {                         // buckets disagree with Count (hand-built or corrupt input)
				out[k] = h.Max
				continue
			}
			out[k] = min(max(h.valueAt(j), h.Min), h.Max)
		}
	}
	return out
}

// countAt and valueAt read the j-th bucket in ascending order of value, as Quantiles orders them.
func (h *Histogram) countAt(j int) uint64 {
	switch neg := len(h.Neg); {
	case j < neg:
		return h.Neg[neg-1-j].Count
	case j == neg:
		return h.Zero
	default:
		return h.Pos[j-neg-1].Count
	}
}

func (h *Histogram) valueAt(j int) float64 {
	switch neg := len(h.Neg); {
	case j < neg:
		return -bucketValue(h.Neg[neg-1-j].Index)
	case j == neg:
		return 0
	default:
		return bucketValue(h.Pos[j-neg-1].Index)
	}
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
		n = sumCounts(h.Neg)
		if v >= 0 {
			n += h.Zero
		}
		return n
	}
	// bucketOf is monotonic, so a bucket index below (above) v's own says all its values are
	// below (above) v; only v's own bucket needs its representative compared.
	k := bucketOf(a)
	if v > 0 {
		n = h.Zero + sumCounts(h.Neg)
		for _, b := range h.Pos {
			if b.Index > k || b.Index == k && bucketValue(k) > v {
				break
			}
			n += b.Count
		}
		return n
	}
	for _, b := range slices.Backward(h.Neg) { // larger |x| is further below v
		if b.Index < k || b.Index == k && -bucketValue(k) > v {
			break
		}
		n += b.Count
	}
	return n
}

func sumCounts(bs []Bucket) uint64 {
	var n uint64
	for _, b := range bs {
		n += b.Count
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
	c.Pos = slices.Clone(h.Pos)
	c.Neg = slices.Clone(h.Neg)
	return &c
}

// Reset empties h, keeping its buckets' storage for reuse.
func (h *Histogram) Reset() {
	h.Pos, h.Neg = h.Pos[:0], h.Neg[:0]
	h.Zero, h.Count, h.Sum, h.Min, h.Max = 0, 0, 0, 0, 0
}

// Empty reports whether no values have been added.
func (h *Histogram) Empty() bool { return h.Count == 0 }
