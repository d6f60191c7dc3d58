package stats

import (
	"strings"
	"time"
)

// Key identifies one row of HTTP request statistics.
type Key struct {
	Name   string // k6's name tag: the URL or the script's explicit name
	Method string
	Status string // "200", or "0" for a network error
}

// Entry is the statistics of one Key, or of several Keys merged.
type Entry struct {
	Requests uint64
	Failures uint64
	Duration Histogram // milliseconds
	// SizedRequests are the requests whose received bytes are known, ReceivedBytes those bytes (see
	// Delta.AddReceived). Bytes may arrive in a later delta than their requests, so only a run's
	// totals keep SizedRequests <= Requests.
	SizedRequests uint64
	ReceivedBytes uint64
}

// Merge adds o's counts and durations to e; o may be nil.
func (e *Entry) Merge(o *Entry) {
	if o == nil {
		return
	}
	e.Requests += o.Requests
	e.Failures += o.Failures
	e.Duration.Merge(&o.Duration)
	e.SizedRequests += o.SizedRequests
	e.ReceivedBytes += o.ReceivedBytes
}

// AvgSize returns the bytes received per sized request; ok is false when no request was sized.
func (e *Entry) AvgSize() (bytes float64, ok bool) {
	if e.SizedRequests == 0 {
		return 0, false
	}
	return float64(e.ReceivedBytes) / float64(e.SizedRequests), true
}

// ErrorKey identifies one row of the error table.
type ErrorKey struct {
	Name, Method string
	Error        string // see Delta.AddRequest for how it is chosen
}

// CheckKey identifies one k6 check.
type CheckKey struct {
	Group string // k6's group path: "" at the root, "::login" etc.
	Name  string
}

// Display names the check as k6's end-of-test summary does: its groups and its name joined by
// " › " ("login › form › has token"), or the name alone at the root. Every report and /metrics
// name checks so.
func (k CheckKey) Display() string {
	group := strings.TrimPrefix(k.Group, "::")
	if group == "" {
		return k.Name
	}
	return strings.ReplaceAll(group, "::", " › ") + " › " + k.Name
}

// Check counts the outcomes of one k6 check.
type Check struct{ Passes, Fails uint64 }

// Merge adds o's counts to c; o may be nil.
func (c *Check) Merge(o *Check) {
	if o == nil {
		return
	}
	c.Passes += o.Passes
	c.Fails += o.Fails
}

// Delta is what one worker observed during one interval. The zero value is empty and ready to
// use: every map is created on first write, and a nil map reads as empty. Deltas travel to the
// master with encoding/gob.
type Delta struct {
	Start, End time.Time // the interval observed; Series files a delta under End's second
	Entries    map[Key]*Entry
	Errors     map[ErrorKey]uint64
	Checks     map[CheckKey]*Check
	Metrics    map[string]*Metric // by k6 metric name
}

// AddRequest records one HTTP request under k. Only failed requests are counted as errors, under
// errText, or when that is empty under "HTTP <status>" ("request failed" for status "0"), so
// that errors of one kind share a row. A non-failed request's errText is ignored: the script
// declared its status expected.
func (d *Delta) AddRequest(k Key, durationMs float64, failed bool, errText string) {
	e := d.entry(k)
	e.Requests++
	e.Duration.Add(durationMs)
	if !failed {
		return
	}
	e.Failures++
	if d.Errors == nil {
		d.Errors = make(map[ErrorKey]uint64)
	}
	d.Errors[ErrorKey{Name: k.Name, Method: k.Method, Error: errorText(k.Status, errText)}]++
}

// entry is k's row, made empty if it has none yet.
func (d *Delta) entry(k Key) *Entry {
	if d.Entries == nil {
		d.Entries = make(map[Key]*Entry)
	}
	e := d.Entries[k]
	if e == nil {
		e = new(Entry)
		d.Entries[k] = e
	}
	return e
}

// errorText names the error row of a failed request.
func errorText(status, text string) string {
	switch {
	case text != "":
		return text
	case status == "0" || status == "":
		return "request failed"
	default:
		return "HTTP " + status
	}
}

// AddReceived records that requests requests under k received bytes bytes between them, counted as
// the engine counts them (for k6: everything read from the network, headers included; see
// internal/k6run). It does not count the requests themselves: AddRequest did.
func (d *Delta) AddReceived(k Key, requests, bytes uint64) {
	if requests == 0 {
		return
	}
	e := d.entry(k)
	e.SizedRequests += requests
	e.ReceivedBytes += bytes
}

// AddCheck records one outcome of check k.
func (d *Delta) AddCheck(k CheckKey, pass bool) {
	if d.Checks == nil {
		d.Checks = make(map[CheckKey]*Check)
	}
	c := d.Checks[k]
	if c == nil {
		c = new(Check)
		d.Checks[k] = c
	}
	if pass {
		c.Passes++
	} else {
		c.Fails++
	}
}

// AddSample records one sample of the k6 metric name, taken at unixNano. The first sample fixes
// the metric's type and contains; a later sample of a different type is dropped (see
// Metric.Merge for why).
func (d *Delta) AddSample(name string, typ MetricType, contains string, v float64, unixNano int64) {
	if d.Metrics == nil {
		d.Metrics = make(map[string]*Metric)
	}
	m := d.Metrics[name]
	if m == nil {
		m = &Metric{Type: typ, Contains: contains}
		d.Metrics[name] = m
	}
	if m.Type == typ {
		m.Add(v, unixNano)
	}
}

// Merge folds o into d, widening [Start, End] to cover both (zero times are ignored). d copies
// what it takes, so o may be reset and reused afterwards; o may be nil.
func (d *Delta) Merge(o *Delta) {
	if o == nil {
		return
	}
	if !o.Start.IsZero() && (d.Start.IsZero() || o.Start.Before(d.Start)) {
		d.Start = o.Start
	}
	if o.End.After(d.End) {
		d.End = o.End
	}
	mergeTables(&d.Entries, &d.Errors, &d.Checks, &d.Metrics, o)
}

// mergeTables folds o's maps into the given ones, which Delta and Aggregate share.
func mergeTables(entries *map[Key]*Entry, errs *map[ErrorKey]uint64, checks *map[CheckKey]*Check,
	metrics *map[string]*Metric, o *Delta) {
	mergeInto(entries, o.Entries)
	mergeInto(checks, o.Checks)
	mergeInto(metrics, o.Metrics)
	if len(o.Errors) > 0 && *errs == nil {
		*errs = make(map[ErrorKey]uint64, len(o.Errors))
	}
	for k, n := range o.Errors {
		(*errs)[k] += n
	}
}

// merger is a pointer to T that can fold another T into itself.
type merger[T any] interface {
	*T
	Merge(*T)
}

// mergeInto merges every value of src into the value of the same key in *dst, creating the map
// and the values as needed so dst never aliases src.
func mergeInto[K comparable, T any, P merger[T]](dst *map[K]*T, src map[K]*T) {
	if len(src) > 0 && *dst == nil {
		*dst = make(map[K]*T, len(src))
	}
	for k, v := range src {
		if v == nil {
			continue
		}
		t := (*dst)[k]
		if t == nil {
			t = new(T)
			(*dst)[k] = t
		}
		P(t).Merge(v)
	}
}

// Empty reports whether d holds no observations; its times do not count.
func (d *Delta) Empty() bool {
	return len(d.Entries) == 0 && len(d.Errors) == 0 && len(d.Checks) == 0 && len(d.Metrics) == 0
}

// Requests returns the number of HTTP requests in d, summed over its entries.
func (d *Delta) Requests() uint64 {
	var n uint64
	for _, e := range d.Entries {
		n += e.Requests
	}
	return n
}

// Clone returns a deep copy of d.
func (d *Delta) Clone() *Delta {
	c := &Delta{Start: d.Start, End: d.End}
	c.Merge(d)
	return c
}

// Reset empties d for the next interval. Its maps are cleared rather than dropped, so a worker
// that encodes and resets one Delta every second allocates little; do not Reset a Delta that is
// still referenced elsewhere.
func (d *Delta) Reset() {
	d.Start, d.End = time.Time{}, time.Time{}
	clear(d.Entries)
	clear(d.Errors)
	clear(d.Checks)
	clear(d.Metrics)
}

// RenameRequests re-keys d's request and error rows: rename gets each row's name and method and
// returns the ones to file it under. Rows that end up under the same key are merged, so counts
// are kept exactly. The master uses it to fold names over its cap into one row.
func (d *Delta) RenameRequests(rename func(name, method string) (string, string)) {
	if len(d.Entries) > 0 {
		entries := make(map[Key]*Entry, len(d.Entries))
		for k, e := range d.Entries {
			k.Name, k.Method = rename(k.Name, k.Method)
			if t := entries[k]; t != nil {
				t.Merge(e)
			} else {
				entries[k] = e
			}
		}
		d.Entries = entries
	}
	if len(d.Errors) > 0 {
		errs := make(map[ErrorKey]uint64, len(d.Errors))
		for k, n := range d.Errors {
			k.Name, k.Method = rename(k.Name, k.Method)
			errs[k] += n
		}
		d.Errors = errs
	}
}
