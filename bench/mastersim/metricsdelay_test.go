package main

import (
	"slices"
	"testing"
	"time"
)

func TestMetricsDelays(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// Worker 0 sends 10 requests at 0 ms and 10 at 1000 ms; worker 1 sends 5 at 500 ms.
	sends := [][]sent{
		{{At: at(0), Seq: 1, Cum: 10}, {At: at(1000), Seq: 2, Cum: 20}},
		{{At: at(500), Seq: 1, Cum: 5}},
	}
	scrapes := []scrape{
		{Sent: at(100), Recv: at(110), Requests: 0},
		{Sent: at(600), Recv: at(620), Requests: 10},   // the first delta only
		{Sent: at(1100), Recv: at(1130), Requests: 15}, // the second; the third (at 1000) not yet
		{Sent: at(1600), Recv: at(1650), Requests: 25},
	}
	tests := []struct {
		name        string
		from, to    time.Time
		want        []time.Duration
		wantMissing int
	}{
		{"all", at(0), at(2000), []time.Duration{620 * time.Millisecond, 630 * time.Millisecond, 650 * time.Millisecond}, 0},
		{"window leaves the first out", at(1), at(2000), []time.Duration{630 * time.Millisecond, 650 * time.Millisecond}, 0},
		{"never reflected", at(0), at(2000), nil, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := scrapes
			if tc.wantMissing > 0 {
				sc = scrapes[:1]
			}
			got, missing := metricsDelays(sends, sc, tc.from, tc.to)
			if !slices.Equal(got, tc.want) || missing != tc.wantMissing {
				t.Errorf("delays %v, missing %d; want %v, %d", got, missing, tc.want, tc.wantMissing)
			}
		})
	}
}
