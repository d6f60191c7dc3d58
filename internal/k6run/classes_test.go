package k6run

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"maps"
	"testing"
)

// The table's rule, one step at a time: each case runs a sequence of steps on VUs (numbered) and
// checks every pick and the final counts. A pick begins an iteration of the VU, as the module
// does: the VU's previous seat is released and a new one remembers its class.
func TestClassTable(t *testing.T) {
	t.Parallel()
	type step struct {
		set     map[string]int64 // non-nil: new targets first
		pick    []int            // VUs that begin an iteration, in this order
		again   []int            // VUs that ask again inside their iteration, after the picks
		release []int            // VUs whose iteration ends (a deactivation), after those
		want    []string         // classes the picks return
	}
	cases := []struct {
		name   string
		steps  []step
		counts map[string]int64
	}{
		{"new VUs fill the class furthest below target, ties by name", []step{
			{set: map[string]int64{"browse": 3, "buy": 1}, pick: []int{0, 1, 2, 3, 0, 1, 2, 3},
				want: []string{"browse", "browse", "browse", "buy", "browse", "browse", "browse", "buy"}},
		}, map[string]int64{"browse": 3, "buy": 1}},
		{"VUs past the sum overflow to the class least over", []step{
			{set: map[string]int64{"a": 1, "b": 1}, pick: []int{0, 1, 2, 3}, want: []string{"a", "b", "a", "b"}},
		}, map[string]int64{"a": 2, "b": 2}},
		{"a released seat frees its class for a new VU", []step{
			{set: map[string]int64{"a": 1, "b": 1}, pick: []int{0, 1}, release: []int{0}, want: []string{"a", "b"}},
			{pick: []int{2, 1}, want: []string{"a", "b"}},
		}, map[string]int64{"a": 1, "b": 1}},
		{"a live change moves only the VUs over target, and only into a class under", []step{
			{set: map[string]int64{"browse": 3, "buy": 1}, pick: []int{0, 1, 2, 3}, want: []string{"browse", "browse", "browse", "buy"}},
			{set: map[string]int64{"browse": 2, "buy": 2}, pick: []int{0, 1, 2, 3}, want: []string{"buy", "browse", "browse", "buy"}},
		}, map[string]int64{"browse": 2, "buy": 2}},
		{"over target with no class under: nobody moves", []step{
			{set: map[string]int64{"browse": 3, "buy": 1}, pick: []int{0, 1, 2, 3}, want: []string{"browse", "browse", "browse", "buy"}},
			{set: map[string]int64{"browse": 1, "buy": 1}, pick: []int{0, 1, 2, 3}, want: []string{"browse", "browse", "browse", "buy"}},
			{release: []int{2, 3}},
			{pick: []int{0, 1}, want: []string{"buy", "browse"}},
		}, map[string]int64{"browse": 1, "buy": 1}},
		{"a class dropped from the targets is left at once", []step{
			{set: map[string]int64{"old": 2}, pick: []int{0, 1}, want: []string{"old", "old"}},
			{set: map[string]int64{"new": 1}, pick: []int{0, 1}, want: []string{"new", "new"}},
		}, map[string]int64{"new": 2}},
		{"a seat released mid-iteration keeps its class and counts for nothing", []step{
			{set: map[string]int64{"a": 1}, pick: []int{0}, release: []int{0, 0}, want: []string{"a"}},
			{again: []int{0}, want: []string{"a"}},
		}, map[string]int64{"a": 0}},
		{"no classes, no class", []step{
			{pick: []int{0}, want: []string{""}},
		}, map[string]int64{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tbl := newClassTable()
			seats := map[int]*seat{}
			for i, st := range tc.steps {
				if st.set != nil {
					tbl.set(st.set)
				}
				var got []string
				for _, vu := range st.pick {
					s := &seat{}
					if old := seats[vu]; old != nil {
						tbl.release(old)
						s.last = old.class
					}
					seats[vu] = s
					got = append(got, tbl.pick(s))
				}
				for _, vu := range st.again {
					got = append(got, tbl.pick(seats[vu]))
				}
				for _, vu := range st.release {
					tbl.release(seats[vu])
				}
				if len(got) != len(st.want) {
					t.Fatalf("step %d: picks %q, want %q", i, got, st.want)
				}
				for j := range got {
					if got[j] != st.want[j] {
						t.Fatalf("step %d: picks %q, want %q", i, got, st.want)
					}
				}
			}
			if got := tbl.counts(); !maps.Equal(got, tc.counts) {
				t.Errorf("counts %v, want %v", got, tc.counts)
			}
		})
	}
}

// Beats and class changes share the liveness pipe; the reader tells them apart and rejects what
// does not follow the protocol.
func TestLiveStream(t *testing.T) {
	t.Parallel()
	var stream []byte
	stream = append(stream, liveBeat)
	stream, err := appendClassesFrame(stream, map[string]int64{"browse": 3, "buy": 1})
	if err != nil {
		t.Fatal(err)
	}
	stream = append(stream, liveBeat)
	stream, _ = appendClassesFrame(stream, map[string]int64{})
	r := bufio.NewReader(bytes.NewReader(stream))
	want := []map[string]int64{nil, {"browse": 3, "buy": 1}, nil, {}}
	for i, w := range want {
		got, err := readLive(r)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if (got == nil) != (w == nil) || !maps.Equal(got, w) {
			t.Fatalf("message %d: %v, want %v", i, got, w)
		}
	}
	if _, err := readLive(r); !errors.Is(err, io.EOF) {
		t.Errorf("after the last message: %v, want EOF", err)
	}

	bad := []struct {
		name   string
		stream []byte
		want   error
	}{
		{"unknown kind", []byte{7}, errLiveStream},
		{"oversized", []byte{liveClasses, 0xff, 0xff, 0xff, 0xff}, errLiveStream},
		{"not JSON", append([]byte{liveClasses, 0, 0, 0, 2}, "{x"...), errLiveStream},
		{"negative count", append([]byte{liveClasses, 0, 0, 0, 8}, `{"a":-1}`...), errLiveStream},
		{"cut short", []byte{liveClasses, 0, 0, 0, 9, '{'}, io.ErrUnexpectedEOF},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := readLive(bufio.NewReader(bytes.NewReader(tc.stream))); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := appendClassesFrame(nil, map[string]int64{"": 1}); !errors.Is(err, ErrBadClasses) {
		t.Errorf("a class without a name: %v, want ErrBadClasses", err)
	}
}
