package report

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// fullRun sets every field summary.json can carry, the optional ones too, so that the golden file
// shows each of them and a field the conversion drops changes it.
func fullRun() *master.Result {
	res := autoscalingRun()
	res.RunID, res.Mode, res.Script, res.Engine, res.Users, res.SpawnRate = "full1", scenario.Swarm, "full.js", master.EngineK6, 30, 2.5
	d := &stats.Delta{Start: res.Started, End: res.Started.Add(time.Second)}
	d.AddSample("vus_waiting", stats.Gauge, "default", 7, res.Started.UnixNano())
	d.AddReceived(stats.Key{Name: "/", Method: "GET", Status: "200"}, 20, 20*512)
	d.AddSample("data_received", stats.Counter, "data", 60*512, res.Started.UnixNano())
	res.Aggregate.Add(d)
	res.Err = errors.New("worker w1 lost at 2s")
	res.Notes = []string{"worker w0 was cut off at 1s and delivered its stats late"}
	res.Thresholds = append(res.Thresholds, master.ThresholdResult{Metric: "baseline p95", Source: "p95 +10%",
		Observed: 12, HasData: true, Error: "p95 is 20% over the baseline's"})
	res.Workers = []master.WorkerResult{
		{Index: 0, ID: "w0", Host: "host-a", Requests: 40, Segment: "0:1/2"},
		{Index: 1, ID: "w1", Host: "host-b", Requests: 20, ExitCode: 107, Error: "k6 exited 107", Lost: true, Segment: "1/2:1"},
	}
	res.Classes = []master.ClassInfo{{Name: "browse", Weight: 3, Tags: []string{"read"}, Users: 23},
		{Name: "buy", Weight: 1, Tags: []string{"write"}, Users: 7}}
	res.Shape = &master.ShapeInfo{Stages: scenario.Shape{{Duration: time.Minute, Users: 10, SpawnRate: 2},
		{Duration: 90 * time.Second, Users: 30}}, Stage: 2}
	return res
}

func TestSummaryJSONGolden(t *testing.T) {
	t.Parallel()
	runs := []struct {
		name string
		res  func() *master.Result
	}{
		{"full", fullRun},
		{"failed", failedRun},
		{"empty", func() *master.Result { return runOf(0, 0) }},
	}
	for _, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			t.Parallel()
			res := run.res()
			checkGolden(t, run.name+"_summary.json", 10, func(b *bytes.Buffer) error { return WriteJSON(b, res) })
		})
	}
}
