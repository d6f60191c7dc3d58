package master

import (
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/scenario"
)

func shapeLoader(stages ...scenario.Stage) fakeLoader {
	return fakeLoader{opts: &scenario.Options{Swarm: &scenario.SwarmOptions{Shape: stages}}}
}

// TestShapeDrivesTheSwarm: a script's three-stage shape, started without users, runs in swarm
// mode: the fleet reaches each stage's users in turn, and the run ends by itself when the shape
// ends, without an error.
func TestShapeDrivesTheSwarm(t *testing.T) {
	t.Parallel()
	stage := 400 * time.Millisecond
	c, script := newCore(t, shapeLoader(
		scenario.Stage{Duration: stage, Users: 4}, scenario.Stage{Duration: stage, Users: 10}, scenario.Stage{Duration: stage, Users: 2}))
	a, _ := join(t, c, "a")
	b, _ := join(t, c, "b")
	users := func() int64 { return a.currentUsers() + b.currentUsers() }
	wait := runInBackground(t, c, RunConfig{Script: script})
	for i, want := range []int64{4, 10, 2} {
		until(t, "the fleet at the stage's users", func() bool { return users() == want })
		if sh := c.Snapshot().Run.Shape; sh == nil || sh.Stage != i || sh.TakenOver {
			t.Fatalf("at stage %d the snapshot says %+v", i, sh)
		}
	}
	res, err := wait()
	if err != nil {
		t.Fatalf("a run whose shape ended: %v", err)
	}
	if res.Mode != scenario.Swarm {
		t.Errorf("mode %s; want swarm", res.Mode)
	}
	if d := res.Duration(); d < 3*stage {
		t.Errorf("the run lasted %s; the shape is %s long", d, 3*stage)
	}
}

// TestShapeTakenOver: a live change of users takes over from the shape, as in Locust: its later
// stages never run, and the run goes on until stopped. So too when the run asked for the shape
// (RunConfig.Shaped, the API's "mode": "shape").
func TestShapeTakenOver(t *testing.T) {
	t.Parallel()
	for _, shaped := range []bool{false, true} {
		t.Run(map[bool]string{false: "users left out", true: "shape asked for"}[shaped], func(t *testing.T) {
			t.Parallel()
			testShapeTakenOver(t, shaped)
		})
	}
}

func testShapeTakenOver(t *testing.T, shaped bool) {
	c, script := newCore(t, shapeLoader(
		scenario.Stage{Duration: 300 * time.Millisecond, Users: 2}, scenario.Stage{Duration: time.Hour, Users: 9}))
	a, _ := join(t, c, "a")
	wait := runInBackground(t, c, RunConfig{Script: script, Shaped: shaped})
	until(t, "the first stage", func() bool { return a.currentUsers() == 2 })
	users := int64(5)
	if err := c.Update(&users, nil); err != nil {
		t.Fatal(err)
	}
	until(t, "the user's 5", func() bool { return a.currentUsers() == 5 })
	if sh := c.Snapshot().Run.Shape; sh == nil || !sh.TakenOver || sh.Stage != 0 {
		t.Errorf("after the take-over the snapshot says %+v", sh)
	}
	time.Sleep(500 * time.Millisecond) // past the first stage's end: the shape would ask for 9
	if got := a.currentUsers(); got != 5 {
		t.Fatalf("%d users after the first stage's end; the shape was taken over at 5", got)
	}
	if err := c.Stop("test over"); err != nil {
		t.Fatal(err)
	}
	if _, err := wait(); err != nil {
		t.Fatal(err)
	}
}

// TestShapeOverTheLimits: a stage over the master's limits is refused before any load.
func TestShapeOverTheLimits(t *testing.T) {
	t.Parallel()
	c, script := newCore(t, shapeLoader(scenario.Stage{Duration: time.Second, Users: 10}, scenario.Stage{Duration: time.Second, Users: 5000}),
		func(o *Options) { o.MaxUsers = 1000 })
	join(t, c, "a")
	_, err := c.Run(t.Context(), RunConfig{Script: script})
	wantErr(t, err, ErrBadSettings, "users 5000", "--max-users")
}

// TestShapeAskedFor: a run that asks for the script's shape is refused when the script has none,
// and must not give users of its own.
func TestShapeAskedFor(t *testing.T) {
	t.Parallel()
	c, script := newCore(t, fakeLoader{opts: &scenario.Options{}})
	join(t, c, "a")
	_, err := c.Run(t.Context(), RunConfig{Script: script, Shaped: true})
	wantErr(t, err, ErrBadSettings, "declares none")
	err = RunConfig{Script: script, Shaped: true, Users: 3}.Validate()
	if err == nil || !strings.Contains(err.Error(), "leave users out") {
		t.Errorf("a shaped run with users: %v", err)
	}
}
