// Package flow reads declarative scenarios: load tests written as YAML request flows rather
// than k6 scripts, run by Stampede's native engine.
//
// A file starts with kind: stampede/flow/v1 (IsFlow tells one from a script without parsing
// it). Parse reads it into a Scenario, strictly: unknown keys, references to names no earlier
// step defines, k6 executors' missing options, bad durations and thresholds are all errors
// with the file's line and column and the option's path,
//
//	shop.yaml:9:32: classes.buyer.steps[0].steps[0].headers.X-CSRF: ${csrf} is not defined here: ...
//
// so the master refuses a scenario before any load, as it does a script. Strings with ${...}
// are compiled once into Templates (literal parts and references); the engine expands them
// with Template.Append and its own lookup, without parsing anything per request. Data files
// (CSV or JSON) are read by Scenario.LoadData, apart, within limits. docs/flow.md is the
// format's reference; Schema is its JSON Schema, for editors.
//
// The package only reads and checks: it sends no requests and keeps no state.
//
// Concurrency: every function is safe to call concurrently. A Scenario and its Templates are
// never changed after Parse and may be read from many goroutines; a Table likewise after
// LoadData.
package flow
