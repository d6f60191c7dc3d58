package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/scenario"
)

// swarmRun is passedRun as a swarm of two user classes driven by a three-stage load shape that a
// live change took over at its second stage.
func swarmRun() *master.Result {
	res := passedRun()
	res.Mode, res.Users = scenario.Swarm, 0
	res.Classes = []master.ClassInfo{{Name: "browse", Weight: 3, Tags: []string{"read"}, Users: 4},
		{Name: "buy|pay", Weight: 1, Tags: []string{"write", "pay"}, Users: 1}}
	res.Shape = &master.ShapeInfo{Stages: scenario.Shape{{Duration: 20 * time.Second, Users: 2, SpawnRate: 10},
		{Duration: time.Minute, Users: 4, SpawnRate: 0.5}, {Duration: 20 * time.Second, Users: 1}}, Stage: 1, TakenOver: true}
	return res
}

// TestSwarmReports: the text and Markdown reports show the classes with their weights and users, and
// the shape's stages with the one it got to; a run without them shows neither.
func TestSwarmReports(t *testing.T) {
	t.Parallel()
	writers := []struct {
		file  string
		write func(*bytes.Buffer, *master.Result) error
	}{
		{"summary.txt", func(b *bytes.Buffer, r *master.Result) error { return WriteText(b, r) }},
		{"summary.md", func(b *bytes.Buffer, r *master.Result) error { return WriteMarkdown(b, r) }},
	}
	for _, w := range writers {
		t.Run(w.file, func(t *testing.T) {
			t.Parallel()
			checkGolden(t, "swarm_"+w.file, 2, func(b *bytes.Buffer) error { return w.write(b, swarmRun()) })
			var plain bytes.Buffer
			if err := w.write(&plain, passedRun()); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"User classes", "Load shape"} {
				if strings.Contains(plain.String(), s) {
					t.Errorf("a run without classes or a shape shows %q:\n%s", s, plain.String())
				}
			}
		})
	}
}

func TestShapeWhere(t *testing.T) {
	t.Parallel()
	stages := make(scenario.Shape, 3)
	tests := []struct {
		name string
		sh   master.ShapeInfo
		want string
	}{
		{"before the load", master.ShapeInfo{Stages: stages, Stage: -1}, "before the first stage"},
		{"playing", master.ShapeInfo{Stages: stages, Stage: 1}, "stage 2 of 3"},
		{"ended", master.ShapeInfo{Stages: stages, Stage: 3}, "ended after 3 stages"},
		{"taken over", master.ShapeInfo{Stages: stages, Stage: 0, TakenOver: true}, "taken over at stage 1 of 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := shapeWhere(&tt.sh); got != tt.want {
				t.Errorf("shapeWhere = %q, want %q", got, tt.want)
			}
		})
	}
}
