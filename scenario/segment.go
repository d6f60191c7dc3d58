package scenario

import (
	"fmt"
	"math/big"
	"strings"
)

// SegmentSequence returns k6's --execution-segment-sequence for n equal
// parts, as reduced fractions: n=1 "0,1", n=3 "0,1/3,2/3,1", n=4
// "0,1/4,1/2,3/4,1". Every instance of a split test must be given the same
// sequence so that k6 spreads VUs and iterations over them without gaps or
// overlaps. It panics if n < 1.
func SegmentSequence(n int) string {
	checkParts(0, n)
	parts := make([]string, n+1)
	for k := range parts {
		parts[k] = fraction(k, n)
	}
	return strings.Join(parts, ",")
}

// Segment returns k6's --execution-segment for part i (0-based) of n equal
// parts: Segment(0, 3) "0:1/3", Segment(2, 3) "2/3:1", Segment(0, 1) "0:1".
// Its bounds are consecutive values of SegmentSequence(n). It panics unless
// 0 <= i < n.
func Segment(i, n int) string {
	checkParts(i, n)
	return fraction(i, n) + ":" + fraction(i+1, n)
}

func checkParts(i, n int) {
	if n < 1 || i < 0 || i >= n {
		panic(fmt.Sprintf("scenario: segment %d of %d parts", i, n))
	}
}

// fraction returns k/n reduced, in k6's syntax ("0", "1", "2/3").
func fraction(k, n int) string {
	return big.NewRat(int64(k), int64(n)).RatString()
}
