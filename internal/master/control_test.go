package master

import (
	"fmt"
	"testing"

	"github.com/stampede-load/stampede/internal/stats"
)

// TestNameCap: the first names keep their rows, later ones share OtherName, every request is
// counted, and the folded names are counted once each.
func TestNameCap(t *testing.T) {
	t.Parallel()
	n := newNameCap(3)
	var agg stats.Aggregate
	for second := range 2 {
		var d stats.Delta
		for i := range 5 {
			d.AddRequest(stats.Key{Name: fmt.Sprintf("/item/%d", i), Method: "GET", Status: "200"}, 10, false, "")
		}
		d.AddRequest(stats.Key{Name: "/item/4", Method: "GET", Status: "500"}, 10, true, "")
		if second == 1 {
			d.AddRequest(stats.Key{Name: "/item/0", Method: "POST", Status: "200"}, 10, false, "")
		}
		n.fold(&d)
		agg.Add(&d)
	}
	rows := agg.ByName()
	got := map[string]uint64{}
	for _, r := range rows {
		got[r.Method+" "+r.Name] = r.Requests
	}
	want := map[string]uint64{"GET /item/0": 2, "GET /item/1": 2, "GET /item/2": 2, " " + OtherName: 7}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	if n.folded != 3 { // GET /item/3, GET /item/4, POST /item/0
		t.Fatalf("folded %d names, want 3", n.folded)
	}
	if tot := agg.Total().Requests; tot != 13 {
		t.Fatalf("total %d requests, want all 13", tot)
	}
	if e := agg.Errors[stats.ErrorKey{Name: OtherName, Error: "HTTP 500"}]; e != 2 {
		t.Fatalf("errors %v, want the folded name's 2 failures under %s", agg.Errors, OtherName)
	}
}

func TestNameCapDefault(t *testing.T) {
	t.Parallel()
	if n := newNameCap(0); n.max != DefaultNameCap {
		t.Fatalf("cap %d, want the default %d", n.max, DefaultNameCap)
	}
}
