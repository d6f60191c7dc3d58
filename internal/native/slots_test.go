package native

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/fstest"
)

// TestUserSlots: two engines, slots 0 and 1 of 2 (two workers), number their users apart (1, 3, 5
// and 2, 4, 6), so each user of the fleet reads its own row of an each: user data set.
func TestUserSlots(t *testing.T) {
	files := fstest.MapFS{"rows.csv": {Data: []byte("v\nr0\nr1\nr2\nr3\nr4\nr5\n")}}
	src := `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
data:
  rows: { file: rows.csv, each: user }
think: { constant: 20ms }
classes:
  u:
    steps:
      - get: /
        headers: { X-User: "${vu}=${rows.v}" }
`
	tg := newTarget(t, nil)
	ctx := context.Background()
	var runs []*run
	for slot := range int64(2) {
		r := start(t, ctx, src, tg, files, func(o *Options) { o.UserSlot, o.UserSlots = slot, 2 })
		_ = r.Resume(ctx)
		_ = r.SetVUs(ctx, 3, 3)
		runs = append(runs, r)
	}
	waitFor(t, "six users", func() bool { return tg.distinctUsers("/") == 6 })
	for _, r := range runs {
		r.end(t)
	}
	tg.mu.Lock()
	var got []string
	for u := range tg.users["/"] {
		got = append(got, u)
	}
	tg.mu.Unlock()
	slices.Sort(got)
	var want []string
	for n := 1; n <= 6; n++ {
		want = append(want, fmt.Sprintf("%d=r%d", n, n-1))
	}
	if !slices.Equal(got, want) {
		t.Errorf("users and rows %v, want %v", got, want)
	}
}

// TestIterationCursorSlots: the each: iteration cursor is striped like the user numbers, so two
// engines (two workers) read rows 0, 2, 4 and 1, 3, 5 in turn and never the same row in a round.
func TestIterationCursorSlots(t *testing.T) {
	files := fstest.MapFS{"rows.csv": {Data: []byte("v\nr0\nr1\nr2\nr3\nr4\nr5\n")}}
	src := `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
data:
  rows: { file: rows.csv, each: iteration }
classes:
  u:
    steps:
      - get: /s${__ENV.SLOT}
        headers: { X-Value: "${rows.v}" }
`
	tg := newTarget(t, nil)
	ctx := context.Background()
	for slot := range int64(2) {
		r := start(t, ctx, src, tg, files, func(o *Options) {
			o.UserSlot, o.UserSlots = slot, 2
			o.Env["SLOT"] = fmt.Sprint(slot)
		})
		_ = r.Resume(ctx)
		_ = r.SetVUs(ctx, 1, 1)
		waitFor(t, "six iterations", func() bool { return len(tg.values(fmt.Sprintf("/s%d", slot))) >= 6 })
		r.end(t)
	}
	for slot, want := range [][]string{{"r0", "r2", "r4", "r0", "r2", "r4"}, {"r1", "r3", "r5", "r1", "r3", "r5"}} {
		if got := tg.values(fmt.Sprintf("/s%d", slot))[:6]; !slices.Equal(got, want) {
			t.Errorf("slot %d read %v, want %v", slot, got, want)
		}
	}
}
