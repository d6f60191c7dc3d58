package rpc

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/stampede-load/stampede/proto/stampede/v1"

	"github.com/stampede-load/stampede/internal/stats"
)

// BenchmarkMergeDelta is what the master does with one worker's stats message at the shape of
// the scale benchmark (bench/scale.sh, 100 names at 1 request per name per second): unmarshal,
// convert and merge into the run's aggregate.
func BenchmarkMergeDelta(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	msgs := make([][]byte, 64)
	for i := range msgs {
		d := &stats.Delta{Start: time.Unix(1e9, 0), End: time.Unix(1e9+1, 0)}
		for n := range 100 {
			d.AddRequest(stats.Key{Name: "/api/item/" + strconv.Itoa(n), Method: "GET", Status: "200"},
				math.Exp(math.Log(50)+0.5*r.NormFloat64()), false, "")
		}
		var err error
		if msgs[i], err = proto.Marshal(deltaToPB("run", uint64(i), d)); err != nil {
			b.Fatal(err)
		}
	}
	var agg stats.Aggregate
	merge := func(msg []byte) {
		var p pb.StatsDelta
		if err := proto.Unmarshal(msg, &p); err != nil {
			b.Fatal(err)
		}
		agg.Add(deltaFromPB(&p))
	}
	for _, m := range msgs {
		merge(m)
	}
	i := 0
	for b.Loop() {
		merge(msgs[i&63])
		i++
	}
}
