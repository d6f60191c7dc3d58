package stats

import (
	"math"
	"math/rand/v2"
	"testing"
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
