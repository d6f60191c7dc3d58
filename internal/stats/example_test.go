package stats_test

import (
	"fmt"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

// Two workers each report a second of requests; the master merges them and reads the table.
func Example() {
	t0 := time.Unix(1_700_000_000, 0)
	var agg stats.Aggregate
	for w := range 2 {
		d := stats.Delta{Start: t0, End: t0.Add(time.Second)}
		for i := range 100 {
			d.AddRequest(stats.Key{Name: "/items", Method: "GET", Status: "200"}, float64(10*(w+1)+i), false, "")
		}
		d.AddRequest(stats.Key{Name: "/items", Method: "GET", Status: "503"}, 2, true, "")
		agg.Add(&d)
	}
	for _, p := range agg.Series.Close(t0.Unix() + 2) {
		p.Users = 20
	}
	for _, row := range agg.ByName() {
		fmt.Printf("%s %s: %d requests, %d failed, max %.0f ms\n",
			row.Method, row.Name, row.Requests, row.Failures, row.Duration.Max)
	}
	total := agg.Total()
	p50 := total.Duration.Quantile(0.5) // the exact median (rank 101 of 202) is 64
	fmt.Printf("p50 within 1%% of 64: %v\n", p50 >= 63.36 && p50 <= 64.64)
	fmt.Println(agg.Errors)
	for _, p := range agg.Series.Points() {
		fmt.Printf("t=%d requests=%d users=%d\n", p.Time-t0.Unix(), p.Requests, p.Users)
	}
	// Output:
	// GET /items: 202 requests, 2 failed, max 119 ms
	// p50 within 1% of 64: true
	// map[{/items GET HTTP 503}:2]
	// t=1 requests=202 users=20
}
