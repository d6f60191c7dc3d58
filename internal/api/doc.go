// Package api holds Stampede's published formats: the JSON of the master's REST API and websocket
// feed (docs/api.md) and the stampede.summary/v1 document (docs/summary-json.md).
//
// These types are the wire format, and only they carry json tags. A field changes name or meaning
// only with a documented API change or, for the summary, a new SchemaVersion; adding a field is
// fine. Internal packages never publish their own types: the producing side converts into these
// (web builds the views from a master.Snapshot, internal/report builds the Summary from a
// master.Result), so renaming an internal field cannot change what users read. The golden files
// in testdata/ and the tests against the docs catch a change made here by accident.
//
// The package imports nothing of Stampede's, so that anything can depend on it. Its values are
// plain data: safe for concurrent reads, with no methods to call.
package api
