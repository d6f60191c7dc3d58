package stats

import (
	"bytes"
	"encoding/gob"
	"reflect"
	"testing"
	"time"
)

func TestAddRequestErrors(t *testing.T) {
	t.Parallel()
	type req struct {
		status  string
		failed  bool
		errText string
	}
	tests := []struct {
		name string
		reqs []req
		want map[string]uint64 // error text -> count, for Name "/x", Method "GET"
	}{
		{"ok requests are not errors", []req{{"200", false, ""}, {"404", false, "Not Found"}}, map[string]uint64{}},
		{"status text", []req{{"500", true, ""}, {"500", true, ""}, {"503", true, ""}}, map[string]uint64{"HTTP 500": 2, "HTTP 503": 1}},
		{"network error without text", []req{{"0", true, ""}}, map[string]uint64{"request failed": 1}},
		{"error text wins", []req{{"0", true, "dial: i/o timeout"}, {"502", true, "bad gateway"}, {"0", true, "dial: i/o timeout"}},
			map[string]uint64{"dial: i/o timeout": 2, "bad gateway": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d Delta
			var failures uint64
			for _, r := range tt.reqs {
				d.AddRequest(Key{"/x", "GET", r.status}, 1, r.failed, r.errText)
				if r.failed {
					failures++
				}
			}
			got := map[string]uint64{}
			for k, n := range d.Errors {
				if k.Name != "/x" || k.Method != "GET" {
					t.Errorf("error key %+v lost the request's name or method", k)
				}
				got[k.Error] += n
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors = %v, want %v", got, tt.want)
			}
			var entryFailures uint64
			for _, e := range d.Entries {
				entryFailures += e.Failures
			}
			if entryFailures != failures || d.Requests() != uint64(len(tt.reqs)) {
				t.Errorf("failures/requests = %d/%d, want %d/%d", entryFailures, d.Requests(), failures, len(tt.reqs))
			}
		})
	}
}

func TestAggregateByName(t *testing.T) {
	t.Parallel()
	var d1, d2 Delta
	d1.AddRequest(Key{"/b", "GET", "200"}, 10, false, "")
	d1.AddRequest(Key{"/b", "GET", "500"}, 30, true, "")
	d1.AddRequest(Key{"/a", "POST", "201"}, 5, false, "")
	d2.AddRequest(Key{"/b", "GET", "0"}, 3000, true, "timeout")
	d2.AddRequest(Key{"/a", "GET", "200"}, 7, false, "")
	d2.AddRequest(Key{"/b", "GET", "200"}, 20, false, "")
	var a Aggregate
	a.Add(&d1)
	a.Add(&d2)
	a.Add(nil)

	type row struct {
		name, method       string
		requests, failures uint64
		min, max           float64
	}
	want := []row{
		{"/a", "GET", 1, 0, 7, 7},
		{"/a", "POST", 1, 0, 5, 5},
		{"/b", "GET", 4, 2, 10, 3000},
	}
	got := a.ByName()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		r := row{g.Name, g.Method, g.Requests, g.Failures, g.Duration.Min, g.Duration.Max}
		if r != w || g.Duration.Count != w.requests {
			t.Errorf("row %d = %+v, want %+v", i, r, w)
		}
	}
	total := a.Total()
	if total.Requests != 6 || total.Failures != 2 || total.Duration.Sum != 3072 {
		t.Errorf("total = %d requests, %d failures, sum %v; want 6, 2, 3072", total.Requests, total.Failures, total.Duration.Sum)
	}
	// Totals are copies: changing the result must not change the aggregate.
	got[2].Duration.Add(1)
	total.Duration.Add(1)
	if a.Entries[Key{"/b", "GET", "200"}].Duration.Count != 2 {
		t.Error("ByName or Total aliased an entry's histogram")
	}
	a.Reset()
	if len(a.Entries) != 0 || len(a.Errors) != 0 || a.Total().Requests != 0 || len(a.Series.Close(1<<40)) != 0 {
		t.Error("Reset left data behind")
	}
}

// TestDeltaMerge checks Merge, Clone, Reset and the gob round trip of every table.
func TestDeltaMerge(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	fill := func(start, end time.Time, ms float64) *Delta {
		d := &Delta{Start: start, End: end}
		d.AddRequest(Key{"/", "GET", "200"}, ms, false, "")
		d.AddRequest(Key{"/", "GET", "0"}, ms, true, "eof")
		d.AddCheck(CheckKey{"::login", "ok"}, true)
		d.AddCheck(CheckKey{"::login", "ok"}, false)
		d.AddSample("vus", Gauge, "default", ms, end.UnixNano())
		d.AddSample("iterations", Counter, "default", 1, end.UnixNano())
		return d
	}
	a := fill(t0, t0.Add(time.Second), 10)
	b := fill(t0.Add(-time.Second), t0.Add(2*time.Second), 20)

	var m Delta
	m.Merge(a)
	m.Merge(b)
	m.Merge(nil)
	m.Merge(&Delta{}) // zero times must not widen anything
	b.Reset()         // m copied what it took
	if !b.Empty() || !b.Start.IsZero() {
		t.Errorf("Reset left %+v", b)
	}

	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(m.Clone()); err != nil {
		t.Fatal(err)
	}
	var got Delta
	if err := gob.NewDecoder(&buf).Decode(&got); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		got, exp any
	}{
		{"start", got.Start.Equal(t0.Add(-time.Second)), true},
		{"end", got.End.Equal(t0.Add(2 * time.Second)), true},
		{"requests", got.Requests(), uint64(4)},
		{"failures", got.Entries[Key{"/", "GET", "0"}].Failures, uint64(2)},
		{"errors", got.Errors[ErrorKey{"/", "GET", "eof"}], uint64(2)},
		{"checks", *got.Checks[CheckKey{"::login", "ok"}], Check{Passes: 2, Fails: 2}},
		{"gauge newest", got.Metrics["vus"].Value, 20.0},
		{"counter", got.Metrics["iterations"].Sum, 2.0},
		{"not empty", got.Empty(), false},
		{"original intact", a.Requests(), uint64(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.exp {
				t.Errorf("got %v, want %v", tt.got, tt.exp)
			}
		})
	}
}

func TestRenameRequestsMergesExactly(t *testing.T) {
	var d Delta
	d.AddRequest(Key{"/a", "GET", "200"}, 10, false, "")
	d.AddRequest(Key{"/b", "GET", "200"}, 20, false, "")
	d.AddRequest(Key{"/b", "GET", "500"}, 30, true, "")
	d.AddRequest(Key{"/c", "POST", "500"}, 40, true, "")
	d.RenameRequests(func(name, method string) (string, string) {
		if name == "/a" {
			return name, method
		}
		return "(other)", ""
	})
	want := map[Key]uint64{{"/a", "GET", "200"}: 1, {"(other)", "", "200"}: 1, {"(other)", "", "500"}: 2}
	if len(d.Entries) != len(want) {
		t.Fatalf("entries %v, want keys %v", d.Entries, want)
	}
	for k, n := range want {
		if e := d.Entries[k]; e == nil || e.Requests != n || e.Duration.Count != n {
			t.Errorf("%v: got %+v, want %d requests", k, e, n)
		}
	}
	if got := d.Errors[ErrorKey{"(other)", "", "HTTP 500"}]; got != 2 {
		t.Errorf("folded errors = %d, want 2 (%v)", got, d.Errors)
	}
}

func TestAggregateCloneIsDeep(t *testing.T) {
	var a Aggregate
	var d Delta
	d.AddRequest(Key{"/a", "GET", "200"}, 10, false, "")
	d.AddCheck(CheckKey{Name: "ok"}, true)
	a.Add(&d)
	c := a.Clone()
	a.Add(&d)
	if got := c.Entries[Key{"/a", "GET", "200"}].Requests; got != 1 {
		t.Errorf("clone changed with the original: %d requests", got)
	}
	if got := c.Checks[CheckKey{Name: "ok"}].Passes; got != 1 {
		t.Errorf("clone's check changed with the original: %d", got)
	}
}

// TestReceivedBytes checks that sizes travel with their rows: across deltas (bytes may come a delta
// after their requests), through merging, renaming and gob, and that a row's average is over the
// sized requests only.
func TestReceivedBytes(t *testing.T) {
	t.Parallel()
	home, homeErr, json := Key{"/", "GET", "200"}, Key{"/", "GET", "500"}, Key{"/json", "GET", "200"}
	var d1, d2 Delta
	for range 4 {
		d1.AddRequest(home, 1, false, "")
	}
	d1.AddRequest(homeErr, 1, true, "")
	d1.AddRequest(json, 1, false, "")
	d1.AddReceived(home, 2, 2*700)
	d1.AddReceived(json, 0, 999) // no requests: nothing to size
	d2.AddReceived(home, 1, 760) // a late iteration's bytes, without requests in this delta
	d2.AddReceived(homeErr, 1, 150)

	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&d2); err != nil {
		t.Fatal(err)
	}
	var back Delta
	if err := gob.NewDecoder(&buf).Decode(&back); err != nil {
		t.Fatal(err)
	}
	if back.Empty() {
		t.Fatal("a delta with sizes only reads as empty: it would not be sent")
	}
	var a Aggregate
	a.Add(&d1)
	a.Add(&back)

	type size struct {
		sized, bytes uint64
		avg          float64
		ok           bool
	}
	rows := map[string]size{}
	for _, r := range a.ByName() {
		avg, ok := r.AvgSize()
		rows[r.Name] = size{r.SizedRequests, r.ReceivedBytes, avg, ok}
	}
	want := map[string]size{
		// 4 of the 5 requests of / were in iterations whose bytes are known: 700, 700, 760 and 150.
		"/":     {4, 2310, 577.5, true},
		"/json": {0, 0, 0, false},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("sizes by name = %+v, want %+v", rows, want)
	}
	if tot := a.Total(); tot.Requests != 6 || tot.SizedRequests != 4 || tot.ReceivedBytes != 2310 {
		t.Errorf("total: %d requests, %d sized, %d bytes; want 6, 4, 2310", tot.Requests, tot.SizedRequests, tot.ReceivedBytes)
	}

	d1.RenameRequests(func(string, string) (string, string) { return "(other)", "" })
	if e := d1.Entries[Key{"(other)", "", "200"}]; e == nil || e.Requests != 5 || e.SizedRequests != 2 || e.ReceivedBytes != 1400 {
		t.Errorf("renamed row %+v, want 5 requests, 2 sized with 1400 bytes", e)
	}
}

// Every report and /metrics name a check as k6's summary does.
func TestCheckKeyDisplay(t *testing.T) {
	for k, want := range map[CheckKey]string{
		{Name: "status is 200"}:                  "status is 200",
		{Group: "::login", Name: "has token"}:    "login › has token",
		{Group: "::login::form", Name: "posted"}: "login › form › posted",
	} {
		if got := k.Display(); got != want {
			t.Errorf("%+v.Display() = %q, want %q", k, got, want)
		}
	}
}
