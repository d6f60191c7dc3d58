package flow

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario"
)

// Kind is the value of the first key, kind, of every flow scenario: how a file is told from a
// k6 script (IsFlow), and the version of the format.
const Kind = "stampede/flow/v1"

// Limits. A scenario over one of them is refused by Parse or LoadData before any load; the
// byte limits on captured values are the engine's to enforce while it runs.
const (
	MaxFileBytes    = 1 << 20  // a scenario file
	MaxDataBytes    = 8 << 20  // one data file
	MaxDataRows     = 100_000  // rows of one data file
	MaxDataColumns  = 256      // columns (CSV) or distinct keys (JSON) of one data file
	MaxDataSets     = 32       // data sets in a scenario
	MaxSteps        = 1_000    // steps in the whole file, groups and think steps included
	MaxDepth        = 8        // groups nested in groups
	MaxCaptures     = 64       // distinct capture names a user holds (a class's flows); setup's apart
	MaxCaptureBytes = 64 << 10 // one captured value; longer values fail the capture at run time
	MaxClasses      = 100      // user classes
	MaxScenarios    = 100      // k6-style scenarios (script mode)
	MaxTasks        = 100      // weighted tasks of one class
	MaxErrors       = 25       // errors one Parse reports; the rest are counted
	MaxRedirects    = 100      // maxRedirects, at the top or of a request
	MaxCABytes      = 1 << 20  // the tls.ca file
)

// ErrInvalid is wrapped by every error Parse and LoadData return about the scenario's content.
var ErrInvalid = errors.New("invalid flow scenario")

// Error is one problem at a place in a scenario file: "shop.yaml:12:7: classes.buyer.steps[0]:
// unknown key "gett"; allowed: ...". Line and Col are 1-based; Col is 0 when unknown (YAML syntax
// errors), and then left out of the text, as is an empty Path.
type Error struct {
	File      string
	Line, Col int
	Path      string // the option's path, e.g. classes.buyer.steps[0].check.status
	Msg       string
}

func (e *Error) Error() string {
	pos := fmt.Sprintf("%s:%d", e.File, e.Line)
	if e.Col > 0 {
		pos += fmt.Sprintf(":%d", e.Col)
	}
	if e.Path == "" {
		return pos + ": " + e.Msg
	}
	return pos + ": " + e.Path + ": " + e.Msg
}

func (e *Error) Unwrap() error { return ErrInvalid }

// Scenario is a parsed flow scenario. Everything in it was checked by Parse; templates are
// compiled. A Scenario is never changed after Parse and may be read from many goroutines.
type Scenario struct {
	File    string    // the name given to Parse, used in errors
	BaseURL *Template // nil when unset: every request then has an absolute URL
	Headers []Header  // sent with every request, under class and request headers
	Vars    []Var     // constants, in the file's order
	Data    []*DataSet
	Think   *Think        // after each iteration of a class without its own think; nil: none
	Timeout time.Duration // per request, unless the request sets its own
	// MaxRedirects is how many redirects a request follows unless it says; -1 when the file
	// does not say: k6's DefaultMaxRedirects, with k6's warning when a request reaches it.
	MaxRedirects int
	TLS          *TLS // nil: the system roots, the URL's host, verified
	HTTP2        bool // use net/http's transport: HTTP/2 over TLS by ALPN, h2c on http://
	// ShareConnections pools each host's keep-alive connections across the worker's users, as
	// Gatling's shareConnections does: a user holds a connection only while a request is in flight.
	// False (the default, as in k6 and Locust): each user owns its connections for its life.
	ShareConnections bool
	Setup            []*Step  // run once before any user starts
	Teardown         []*Step  // run once after the last user stops
	Classes          []*Class // by name
	Shape            scenario.Shape
	Scenarios        []*Executor        // script mode, by name
	Thresholds       []*stats.Threshold // by metric key, then in the file's order
	RequiredEnv      []string           // ${__ENV.X} read without a default, sorted: the run must set them
}

// DefaultTimeout is a request's timeout when the file sets none: k6's.
const DefaultTimeout = 60 * time.Second

// DefaultMaxRedirects is how many redirects a request follows when neither it nor the file
// says: k6's maxRedirects.
const DefaultMaxRedirects = 10

// TLS is how the engine checks servers' certificates: the system roots, plus CA if set.
type TLS struct {
	CA                 string // a PEM file, slash-separated, relative to the scenario's directory; LoadCA reads it
	ServerName         string // checked against the certificate and sent as SNI; empty: the URL's host
	InsecureSkipVerify bool   // accept any certificate
	Line, Col          int    // of tls.ca (or tls), for LoadCA's errors
	Path               string
}

// Header is one request header; Name is canonical (textproto.CanonicalMIMEHeaderKey).
type Header struct {
	Name  string
	Value *Template
}

// Var is a constant of the file, read once when the run starts (it may read the environment).
type Var struct {
	Name  string
	Value *Template
}

// Param is one query or form parameter.
type Param struct {
	Name  string
	Value *Template
}

// Each says which row of a data set a user reads.
type Each string

const (
	EachUser      Each = "user"      // user n (1-based, fleet-wide) reads row (n-1) mod rows, for its life
	EachIteration Each = "iteration" // each iteration reads the next row of a cursor shared by the run
	EachRandom    Each = "random"    // each iteration reads a row chosen at random
)

// DataSet is a CSV file (with a header row) or a JSON file (an array of objects) whose rows
// templates read as ${set.column}. LoadData loads it.
type DataSet struct {
	Name   string
	File   string // slash-separated, relative to the scenario's directory, never outside it
	Each   Each
	Fields []FieldUse // the columns templates read, each at its first use
	Line   int
	Col    int
	Path   string
}

// FieldUse is a column of a data set read by a template, where it is first read.
type FieldUse struct {
	Field     string
	Line, Col int
	Path      string
}

// ThinkKind is the distribution of a think time.
type ThinkKind string

const (
	ThinkConstant    ThinkKind = "constant"    // Min
	ThinkUniform     ThinkKind = "uniform"     // uniformly in [Min, Max]
	ThinkPacing      ThinkKind = "pacing"      // Locust's constant_pacing: so each iteration takes at least Min
	ThinkExponential ThinkKind = "exponential" // exponentially distributed with mean Min (a Poisson process of iterations)
)

// Think is a pause.
type Think struct {
	Kind     ThinkKind
	Min, Max time.Duration // Max is Min but for uniform
}

// Class is a user class (Locust's User): its users run Steps in order each iteration, or one of
// Tasks chosen by weight.
type Class struct {
	Name    string
	Weight  int64 // share of the users in swarm mode: Weight over the classes' total
	Tags    []string
	Headers []Header // over the file's headers
	Think   *Think   // after each iteration; nil: the file's
	OnStart []*Step  // once per user, before its first iteration (Locust's on_start)
	Steps   []*Step  // nil when Tasks is set
	Tasks   []*Task  // nil when Steps is set
	Line    int
}

// Task is one weighted choice of a class (Locust's @task(weight)).
type Task struct {
	Weight int64
	Steps  []*Step
	Line   int
}

// Step is one step of a flow: exactly one of Request, Group (with Steps) and Think is set.
type Step struct {
	Line, Col int
	Path      string // e.g. classes.buyer.steps[0].steps[1], for the engine's run-time errors
	Request   *Request
	Group     string // the group's name; its steps are Steps. k6's group tag is ::outer::inner
	Steps     []*Step
	Think     *Think
}

// methodOf maps each step key that makes a request to the method it sends.
var methodOf = map[string]string{
	"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH",
	"delete": "DELETE", "head": "HEAD", "options": "OPTIONS",
}

// Request is one HTTP request. At most one of Body, JSON and Form is set.
type Request struct {
	Method  string    // GET, POST, ...
	URL     *Template // a path joined to the base URL, or an absolute http(s) URL
	Name    string    // the name tag; default: URL's source without its query
	Named   bool      // Name was given: redirects are recorded under it too, not their URLs
	Headers []Header  // over the class's and the file's
	Query   []Param   // added to URL's query
	Body    *Template // sent as is; no Content-Type unless a header sets one
	JSON    *Value    // sent as JSON, Content-Type application/json unless a header sets one
	Form    []Param   // sent url-encoded, Content-Type application/x-www-form-urlencoded
	Timeout time.Duration
	// MaxRedirects is how many redirects it follows; -1: the file's (Scenario.MaxRedirects).
	MaxRedirects int
	Captures     []*Capture
	Checks       []*Check
}

// Source is where a capture or a check reads the response.
type Source string

const (
	FromJSON   Source = "json"   // a JSON path into the body
	FromRegex  Source = "regex"  // a regular expression's one group, in the body or the headers
	FromHeader Source = "header" // a response header's first value
	FromCookie Source = "cookie" // a cookie the response set (the user's jar keeps it anyway)
)

// Capture stores a value of a response under Name for later templates of the same flow.
type Capture struct {
	Name   string
	Source Source
	Path   *JSONPath      // FromJSON
	Regexp *regexp.Regexp // FromRegex: exactly one capturing group
	In     string         // FromRegex: "body" or "headers" (each "Name: value" on a line)
	Header string         // FromHeader: canonical name
	Cookie string         // FromCookie
}

// CheckKind is what a check looks at.
type CheckKind string

const (
	CheckStatus      CheckKind = "status"      // status is one of Statuses
	CheckDuration    CheckKind = "duration"    // http_req_duration Op Duration
	CheckContains    CheckKind = "contains"    // body contains Text
	CheckNotContains CheckKind = "notContains" // body does not contain Text
	CheckMatches     CheckKind = "matches"     // body matches Regexp
	CheckJSON        CheckKind = "json"        // the value at Path equals Want
)

// Check is one k6 check, recorded in k6's checks metric under Name, e.g. "home: status is 200".
type Check struct {
	Name     string
	Kind     CheckKind
	Statuses []int
	Op       string // <, <=, >, >=
	Duration time.Duration
	Text     string
	Regexp   *regexp.Regexp
	Path     *JSONPath
	Want     any // string, float64, bool or nil (JSON null); numbers compare as numbers
}

// Executor is one k6-style scenario of script mode: k6's executor, with k6's option names,
// defaults and rules, running a class's flow instead of an exported function. The fields an
// executor does not have are zero.
type Executor struct {
	Name         string
	Type         string // constant-vus, ramping-vus, per-vu-iterations, shared-iterations, constant-arrival-rate, ramping-arrival-rate
	Class        string
	StartTime    time.Duration
	GracefulStop time.Duration // default 30s
	Tags         map[string]string

	VUs         int64         // constant-vus, per-vu-iterations, shared-iterations; default 1
	Iterations  int64         // per-vu-iterations, shared-iterations; default 1
	Duration    time.Duration // constant-vus, constant-arrival-rate
	MaxDuration time.Duration // per-vu-iterations, shared-iterations; default 10m

	StartVUs         int64         // ramping-vus; default 1
	GracefulRampDown time.Duration // ramping-vus; default 30s
	Stages           []RampStage   // ramping-vus (target VUs), ramping-arrival-rate (target rate)

	Rate            int64         // constant-arrival-rate: iterations per TimeUnit
	StartRate       int64         // ramping-arrival-rate; default 0
	TimeUnit        time.Duration // arrival rates; default 1s
	PreAllocatedVUs int64         // arrival rates
	MaxVUs          int64         // arrival rates; default PreAllocatedVUs
	Line            int
}

// RampStage is one of an executor's stages: towards Target over Duration.
type RampStage struct {
	Duration time.Duration
	Target   int64
}

// executors are the executor types, as k6 names them.
var executors = []string{
	"constant-vus", "ramping-vus", "per-vu-iterations", "shared-iterations",
	"constant-arrival-rate", "ramping-arrival-rate",
}

// metricTypes are the metrics a flow scenario records, k6's built-in ones for HTTP, by name,
// with their types: thresholds may name only these, with aggregations their types have.
var metricTypes = map[string]stats.MetricType{
	"http_reqs": stats.Counter, "iterations": stats.Counter, "data_sent": stats.Counter,
	"data_received": stats.Counter, "dropped_iterations": stats.Counter,
	"http_req_duration": stats.Trend, "http_req_blocked": stats.Trend, "http_req_connecting": stats.Trend,
	"http_req_tls_handshaking": stats.Trend, "http_req_sending": stats.Trend, "http_req_waiting": stats.Trend,
	"http_req_receiving": stats.Trend, "iteration_duration": stats.Trend, "group_duration": stats.Trend,
	"http_req_failed": stats.Rate, "checks": stats.Rate,
	"vus": stats.Gauge, "vus_max": stats.Gauge,
}
