package master

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stampede-load/stampede/scenario"
)

// TestApportionQuota: every class gets its quota users*w/W rounded down or up (the quota rule),
// and the counts add up, for random fleets.
func TestApportionQuota(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		weights := randomWeights(rng)
		users := rng.Int64N(100_000)
		got := scenario.Apportion(users, weights)
		checkApportioned(t, users, weights, got)
	}
}

func checkApportioned(t *testing.T, users int64, weights, got []int64) {
	t.Helper()
	var sum, wsum int64
	for _, w := range weights {
		wsum += max(w, 0)
	}
	for c, n := range got {
		sum += n
		quota := float64(users) * float64(max(weights[c], 0)) / float64(wsum)
		if float64(n) < math.Floor(quota)-1e-9 || float64(n) > math.Ceil(quota)+1e-9 {
			t.Fatalf("Apportion(%d, %v) = %v: class %d's %d is not its quota %.3f rounded", users, weights, got, c, n, quota)
		}
	}
	if sum != users {
		t.Fatalf("Apportion(%d, %v) = %v: adds up to %d", users, weights, got, sum)
	}
}

// TestSplitClassesAtScale: for fleets of up to 1,000 workers with any shares, each worker's classes
// add up to its share, each class's fleet-wide count is exactly Apportion's, and no worker is more
// than 2 off its own share of a class.
func TestSplitClassesAtScale(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 300 {
		n := 1 + rng.IntN(1000)
		total := rng.Int64N(20_000)
		shares := Split(total, n)
		if round%2 == 1 { // a fleet in mid-ramp: uneven shares
			for i := range shares {
				shares[i] = rng.Int64N(40)
			}
		}
		weights := randomWeights(rng)
		checkSplit(t, shares, weights, SplitClasses(shares, weights))
	}
}

func checkSplit(t *testing.T, shares, weights []int64, got [][]int64) {
	t.Helper()
	var total, wsum int64
	for _, s := range shares {
		total += s
	}
	for _, w := range weights {
		wsum += max(w, 0)
	}
	cols := make([]int64, len(weights))
	for i, row := range got {
		var sum int64
		for c, n := range row {
			sum += n
			cols[c] += n
			quota := float64(shares[i]) * float64(max(weights[c], 0)) / float64(wsum)
			if math.Abs(float64(n)-quota) > 2 {
				t.Fatalf("worker %d (share %d) runs %d of class %d (weights %v); its share is %.2f", i, shares[i], n, c, weights, quota)
			}
		}
		if sum != shares[i] {
			t.Fatalf("worker %d: classes %v add up to %d, its share is %d", i, row, sum, shares[i])
		}
	}
	if want := scenario.Apportion(total, weights); !slices.Equal(cols, want) {
		t.Fatalf("fleet-wide classes %v, want Apportion(%d, %v) = %v", cols, total, weights, want)
	}
}

func TestSplitClassesSmall(t *testing.T) {
	t.Parallel()
	got := SplitClasses([]int64{2, 2}, []int64{3, 1})
	want := [][]int64{{2, 0}, {1, 1}}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("SplitClasses([2 2], [3 1]) = %v, want %v", got, want)
		}
	}
	if got := SplitClasses([]int64{3}, []int64{0, 0}); !slices.Equal(got[0], []int64{0, 0}) {
		t.Errorf("no positive weight: %v, want no users placed", got)
	}
}

func randomWeights(rng *rand.Rand) []int64 {
	w := make([]int64, 1+rng.IntN(6))
	for i := range w {
		w[i] = rng.Int64N(10) // some 0
	}
	w[rng.IntN(len(w))] = 1 + rng.Int64N(10) // at least one positive
	return w
}

func classLoader(classes ...scenario.Class) fakeLoader {
	return fakeLoader{opts: &scenario.Options{Swarm: &scenario.SwarmOptions{Classes: classes}}}
}

// TestRunSplitsClasses: a swarm of the script's user classes: every worker is told its classes,
// and fleet-wide they are the weights' largest-remainder split of the users, through a live change.
func TestRunSplitsClasses(t *testing.T) {
	t.Parallel()
	c, script := newCore(t, classLoader(scenario.Class{Name: "browse", Weight: 3}, scenario.Class{Name: "buy", Weight: 1}))
	a, _ := join(t, c, "a")
	b, _ := join(t, c, "b")
	fleet := func() map[string]int64 {
		out := map[string]int64{}
		for _, w := range []*fakeWorker{a, b} {
			w.mu.Lock()
			for k, v := range w.classes {
				out[k] += v
			}
			w.mu.Unlock()
		}
		return out
	}
	wait := runInBackground(t, c, RunConfig{Script: script, Users: 10})
	until(t, "10 users as 8 browse, 2 buy", func() bool { f := fleet(); return f["browse"] == 8 && f["buy"] == 2 })
	if m, _ := a.message("assign"); !slices.Equal(m.part.Classes, []string{"browse", "buy"}) {
		t.Errorf("assigned classes %v", m.part.Classes)
	}
	users := int64(4)
	if err := c.Update(&users, nil); err != nil {
		t.Fatal(err)
	}
	until(t, "4 users as 3 browse, 1 buy", func() bool { f := fleet(); return f["browse"] == 3 && f["buy"] == 1 })
	want := []ClassInfo{{Name: "browse", Weight: 3, Users: 3}, {Name: "buy", Weight: 1, Users: 1}}
	if got := c.Snapshot().Run.Classes; !reflect.DeepEqual(got, want) {
		t.Errorf("the snapshot's classes %+v, want %+v", got, want)
	}
	if err := c.Stop("test over"); err != nil {
		t.Fatal(err)
	}
	if _, err := wait(); err != nil {
		t.Fatal(err)
	}
}

// TestRunTags: tags choose the classes that run; none left is refused before any load.
func TestRunTags(t *testing.T) {
	t.Parallel()
	loader := classLoader(scenario.Class{Name: "browse", Weight: 3, Tags: []string{"read"}}, scenario.Class{Name: "buy", Weight: 1, Tags: []string{"write"}})
	c, script := newCore(t, loader)
	a, _ := join(t, c, "a")
	wait := runInBackground(t, c, RunConfig{Script: script, Users: 3, Tags: []string{"write"}})
	until(t, "every user a buyer", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.classes["buy"] == 3 && len(a.classes) == 1
	})
	if err := c.Stop("test over"); err != nil {
		t.Fatal(err)
	}
	_, _ = wait()
	c.WaitIdle(t.Context())
	_, err := c.Run(t.Context(), RunConfig{Script: script, Users: 3, ExcludeTags: []string{"read", "write"}})
	wantErr(t, err, ErrBadSettings, "no user class is left to run")
}

// TestRunClassWeights: the run's weights replace the script's; naming a class the script lacks, all
// weights 0, or classes for a script without any are refused before any load.
func TestRunClassWeights(t *testing.T) {
	t.Parallel()
	c, script := newCore(t, classLoader(scenario.Class{Name: "browse", Weight: 3}, scenario.Class{Name: "buy", Weight: 1}))
	a, _ := join(t, c, "a")
	wait := runInBackground(t, c, RunConfig{Script: script, Users: 4, ClassWeights: map[string]int64{"browse": 1, "buy": 3}})
	until(t, "4 users as 1 browse, 3 buy", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.classes["browse"] == 1 && a.classes["buy"] == 3
	})
	if got := c.Snapshot().Run.Classes; len(got) != 2 || got[1].Weight != 3 || got[1].Users != 3 {
		t.Errorf("the snapshot's classes %+v, want buy at weight 3 with 3 users", got)
	}
	if err := c.Stop("test over"); err != nil {
		t.Fatal(err)
	}
	_, _ = wait()
	c.WaitIdle(t.Context())
	for _, tc := range []struct {
		cfg  RunConfig
		want string
	}{
		{RunConfig{Script: script, Users: 4, ClassWeights: map[string]int64{"sell": 1}}, `class weights name "sell", and the script's classes are browse, buy`},
		{RunConfig{Script: script, Users: 4, ClassWeights: map[string]int64{"browse": 0, "buy": 0}}, "has weight 0"},
		{RunConfig{Script: script, Users: 4, ClassWeights: map[string]int64{"buy": -1}}, "a weight is a whole number from 0 to 1000000"},
	} {
		_, err := c.Run(t.Context(), tc.cfg)
		wantErr(t, err, ErrBadSettings, tc.want)
	}
	plain, plainScript := newCore(t, classLoader())
	join(t, plain, "p")
	_, err := plain.Run(t.Context(), RunConfig{Script: plainScript, Users: 2, Tags: []string{"read"}})
	wantErr(t, err, ErrBadSettings, "the script declares none")
}

// TestClassesNeedProtocol21: a worker older than protocol 2.1 would run the script's default
// function instead of its classes. A class run refuses to start on one, before any load; one that
// joins a class run sits it out, and the users stay with the others.
func TestClassesNeedProtocol21(t *testing.T) {
	t.Parallel()
	old := func(w *fakeWorker) { w.minor = 0 }
	c, script := newCore(t, classLoader(scenario.Class{Name: "browse", Weight: 3}, scenario.Class{Name: "buy", Weight: 1}))
	join(t, c, "old", old)
	_, err := c.Run(t.Context(), RunConfig{Script: script, Users: 4})
	wantErr(t, err, ErrProtocolVersion, "worker old (index 0) speaks protocol 2.0, and user classes need 2.1")
	if !errors.Is(err, ErrBadSettings) {
		t.Errorf("%v: want it refused before any load (ErrBadSettings)", err)
	}

	c2, script2 := newCore(t, classLoader(scenario.Class{Name: "browse", Weight: 3}, scenario.Class{Name: "buy", Weight: 1}))
	a, _ := join(t, c2, "a")
	wait := runInBackground(t, c2, RunConfig{Script: script2, Users: 4})
	until(t, "4 users on a", func() bool { return a.currentUsers() == 4 })
	late, _ := join(t, c2, "late", old)
	time.Sleep(500 * time.Millisecond) // several dispatch ticks
	if m, ok := late.message("assign"); ok {
		t.Errorf("the old worker was assigned %+v", m.part)
	}
	if got := a.currentUsers(); got != 4 {
		t.Errorf("a runs %d users after the old worker joined, want all 4", got)
	}
	if err := c2.Stop("test over"); err != nil {
		t.Fatal(err)
	}
	if _, err := wait(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSplitClasses: the class split for a fleet of 1,000 workers at 100,000 users over three
// classes, the work of a dispatch tick whose shares changed (a ramp step, a rebalance).
func BenchmarkSplitClasses(b *testing.B) {
	shares := make([]int64, 1000)
	for i := range shares {
		shares[i] = 100
	}
	weights := []int64{3, 1, 2}
	for b.Loop() {
		SplitClasses(shares, weights)
	}
}
