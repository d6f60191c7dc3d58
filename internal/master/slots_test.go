package master

import (
	"errors"
	"testing"
)

// TestUserSlots: the workers a run starts on number their users apart (slots 0 and 1 of 2); a
// worker that joins after one left takes the slot it freed, and one that joins beside them the next
// slot, still with the run's stride.
func TestUserSlots(t *testing.T) {
	t.Parallel()
	c, script := newCore(t, fakeLoader{})
	a, _ := join(t, c, "a")
	b, _ := join(t, c, "b")
	wait := runInBackground(t, c, RunConfig{Script: script, Users: 6})
	until(t, "the users split", func() bool { return a.currentUsers() == 3 && b.currentUsers() == 3 })
	slot := func(w *fakeWorker) (int64, int64) {
		m, ok := w.message("assign")
		if !ok {
			t.Fatal("no assignment")
		}
		return m.part.UserSlot, m.part.UserSlots
	}
	if s, n := slot(a); s != 0 || n != 2 {
		t.Errorf("a: slot %d of %d, want 0 of 2", s, n)
	}
	if s, n := slot(b); s != 1 || n != 2 {
		t.Errorf("b: slot %d of %d, want 1 of 2", s, n)
	}
	c.Leave("a", a, errors.New("connection reset"))
	until(t, "b runs all 6 users", func() bool { return b.currentUsers() == 6 })
	d, _ := join(t, c, "d")
	until(t, "d assigned", func() bool { _, ok := d.message("assign"); return ok })
	if s, n := slot(d); s != 0 || n != 2 {
		t.Errorf("d, joining after a left: slot %d of %d, want a's 0 of 2", s, n)
	}
	e, _ := join(t, c, "e")
	until(t, "e assigned", func() bool { _, ok := e.message("assign"); return ok })
	if s, n := slot(e); s != 2 || n != 2 {
		t.Errorf("e, joining beside b and d: slot %d of %d, want 2 of 2", s, n)
	}
	if err := c.Stop("test over"); err != nil {
		t.Fatal(err)
	}
	_, _ = wait()
}
