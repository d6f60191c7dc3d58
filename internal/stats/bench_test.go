package stats

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

func BenchmarkHistogramAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	vs := make([]float64, 4096)
	for i := range vs {
		vs[i] = math.Exp(math.Log(50) + r.NormFloat64())
	}
	var h Histogram
	i := 0
	for b.Loop() {
		h.Add(vs[i&4095])
		i++
	}
}

func BenchmarkDeltaAddRequest(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	keys := []Key{{"/", "GET", "200"}, {"/api/items", "GET", "200"}, {"/login", "POST", "200"}, {"/login", "POST", "0"}}
	vs := make([]float64, 4096)
	for i := range vs {
		vs[i] = 100 * r.ExpFloat64()
	}
	var d Delta
	i := 0
	for b.Loop() {
		k := keys[i&3]
		d.AddRequest(k, vs[i&4095], k.Status == "0", "")
		i++
	}
}

// BenchmarkAggregateAdd is the master's work for one worker's delta: 100 request names of a few
// log-normal durations each, merged into an aggregate that has seen them all before.
func BenchmarkAggregateAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	deltas := make([]*Delta, 64)
	for i := range deltas {
		d := &Delta{End: time.Unix(1e9, 0)}
		for n := range 100 {
			for range 2 {
				d.AddRequest(Key{Name: "/api/item/" + strconv.Itoa(n), Method: "GET", Status: "200"},
					math.Exp(math.Log(50)+0.5*r.NormFloat64()), false, "")
			}
		}
		deltas[i] = d
	}
	var a Aggregate
	for _, d := range deltas {
		a.Add(d)
	}
	i := 0
	for b.Loop() {
		a.Add(deltas[i&63])
		i++
	}
}

// BenchmarkHistogramQuantiles reads a Point's percentiles from a histogram of about 300 buckets.
func BenchmarkHistogramQuantiles(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	var h Histogram
	for range 100_000 {
		h.Add(math.Exp(math.Log(50) + r.NormFloat64()))
	}
	qs := PointQuantiles()
	for b.Loop() {
		h.Quantiles(qs[:]...)
	}
}
