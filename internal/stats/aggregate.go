package stats

import (
	"cmp"
	"slices"
)

// Aggregate is the master's merged view of a run: every delta's totals plus the time series.
// The zero value is empty and ready to use.
type Aggregate struct {
	Entries map[Key]*Entry
	Errors  map[ErrorKey]uint64
	Checks  map[CheckKey]*Check
	Metrics map[string]*Metric
	Series  Series
}

// Add merges d into the totals and the series. a copies what it takes, so d may be reused.
func (a *Aggregate) Add(d *Delta) {
	if d == nil {
		return
	}
	mergeTables(&a.Entries, &a.Errors, &a.Checks, &a.Metrics, d)
	a.Series.Add(d)
}

// Total returns every entry merged: the "Aggregated" row of the request table.
func (a *Aggregate) Total() Entry {
	var t Entry
	for _, e := range a.Entries {
		t.Merge(e)
	}
	return t
}

// NamedEntry is one row of the per-request table: an Entry merged over statuses.
type NamedEntry struct {
	Name, Method string
	Entry
}

// ByName returns the entries merged per (Name, Method), ignoring status, sorted by name then
// method: the rows of the per-request table.
func (a *Aggregate) ByName() []NamedEntry {
	type nm struct{ name, method string }
	idx := make(map[nm]int, len(a.Entries))
	var rows []NamedEntry
	for k, e := range a.Entries {
		i, ok := idx[nm{k.Name, k.Method}]
		if !ok {
			i = len(rows)
			idx[nm{k.Name, k.Method}] = i
			rows = append(rows, NamedEntry{Name: k.Name, Method: k.Method})
		}
		rows[i].Merge(e)
	}
	slices.SortFunc(rows, func(x, y NamedEntry) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Method, y.Method))
	})
	return rows
}

// Reset empties a, series included, for a new run.
func (a *Aggregate) Reset() { *a = Aggregate{} }

// Clone returns a deep copy of a's tables (entries, errors, checks, metrics). The series is left
// out: it belongs to whoever closes its seconds, and its closed points are read with Points.
func (a *Aggregate) Clone() *Aggregate {
	c := &Aggregate{}
	mergeTables(&c.Entries, &c.Errors, &c.Checks, &c.Metrics, &Delta{Entries: a.Entries, Errors: a.Errors,
		Checks: a.Checks, Metrics: a.Metrics})
	return c
}
