package native

import (
	"strconv"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/native/h1"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario/flow"
)

// The k6 metrics the engine records, under k6's names, types and value types, as
// internal/k6run's output files k6's samples. vus and vus_max are not recorded: the k6 path
// drops them too (they describe one instance; the master counts users from heartbeats).
type metricID int

const (
	mReqs metricID = iota
	mDuration
	mBlocked
	mConnecting
	mTLS
	mSending
	mWaiting
	mReceiving
	mFailed
	mIterations
	mIterDuration
	mDataSent
	mDataReceived
	mChecks
	mGroupDuration
	mDropped
	nMetrics
)

var metricDefs = [nMetrics]struct {
	name     string
	typ      stats.MetricType
	contains string
}{
	mReqs:          {"http_reqs", stats.Counter, "default"},
	mDuration:      {"http_req_duration", stats.Trend, "time"},
	mBlocked:       {"http_req_blocked", stats.Trend, "time"},
	mConnecting:    {"http_req_connecting", stats.Trend, "time"},
	mTLS:           {"http_req_tls_handshaking", stats.Trend, "time"},
	mSending:       {"http_req_sending", stats.Trend, "time"},
	mWaiting:       {"http_req_waiting", stats.Trend, "time"},
	mReceiving:     {"http_req_receiving", stats.Trend, "time"},
	mFailed:        {"http_req_failed", stats.Rate, "default"},
	mIterations:    {"iterations", stats.Counter, "default"},
	mIterDuration:  {"iteration_duration", stats.Trend, "time"},
	mDataSent:      {"data_sent", stats.Counter, "data"},
	mDataReceived:  {"data_received", stats.Counter, "data"},
	mChecks:        {"checks", stats.Rate, "default"},
	mGroupDuration: {"group_duration", stats.Trend, "time"},
	mDropped:       {"dropped_iterations", stats.Counter, "default"},
}

// The tags a sub-metric may select on: k6's system tags that a flow's samples carry.
type tagID int

const (
	tName tagID = iota
	tMethod
	tStatus
	tGroup
	tScenario
	tExpected
	tURL
	tProto
	tCheck
	tError
	tUnknown
)

var tagIDs = map[string]tagID{"name": tName, "method": tMethod, "status": tStatus, "group": tGroup,
	"scenario": tScenario, "expected_response": tExpected, "url": tURL, "proto": tProto, "check": tCheck, "error": tError}

// tags are one sample's tags; has says which are present.
type tags struct {
	has                  uint16
	name, method, status string
	group, scenario      string
	expected             string
	url                  []byte
	check, err           string
	proto                string // k6's proto tag: HTTP/1.1, HTTP/2.0; "" when no response came
}

// protoTag is k6's proto tag of a response of HTTP/major.minor, without allocating.
func protoTag(major, minor int) string {
	switch {
	case major == 2:
		return "HTTP/2.0"
	case major == 1 && minor == 0:
		return "HTTP/1.0"
	case major == 1:
		return "HTTP/1.1"
	}
	return ""
}

const (
	httpTags  = 1<<tName | 1<<tMethod | 1<<tStatus | 1<<tGroup | 1<<tScenario | 1<<tExpected | 1<<tURL | 1<<tProto
	checkTags = 1<<tCheck | 1<<tGroup | 1<<tScenario
	iterTags  = 1<<tGroup | 1<<tScenario
)

// matches reports whether the sample's tag named st has st's value. The sample's own (system)
// tags come first; a tag it does not carry is looked up in its scenario's tags (the executor's
// `tags`), as k6 starts a scenario's samples from its tags and sets the system tags over them.
func (rc *recorder) matches(t *tags, st *subTag) bool {
	if st.id != tUnknown && t.has&(1<<st.id) != 0 {
		return t.matches(st.id, st.value)
	}
	if t.has&(1<<tScenario) == 0 {
		return false
	}
	v, ok := rc.scenTags[t.scenario][st.name]
	return ok && v == st.value
}

func (t *tags) matches(id tagID, want string) bool {
	switch id {
	case tName:
		return t.name == want
	case tMethod:
		return t.method == want
	case tStatus:
		return t.status == want
	case tGroup:
		return t.group == want
	case tScenario:
		return t.scenario == want
	case tExpected:
		return t.expected == want
	case tURL:
		return string(t.url) == want
	case tProto:
		return t.proto == want
	case tCheck:
		return t.check == want
	case tError:
		return t.err == want
	}
	return false
}

// submetric is one selector the run's thresholds name, filed under its canonical key.
type submetric struct {
	id   int // index in shard.subs
	key  string
	m    metricID
	tags []subTag
}

type subTag struct {
	id          tagID
	name, value string
}

// recorder files samples into GOMAXPROCS shards, each a stats.Delta under its own mutex; a user
// records into the shard of its index, and flush swaps every shard for an empty one.
type recorder struct {
	shards []shard
	subs   [nMetrics][]submetric
	nsubs  int
	// scenTags are each script-mode scenario's own tags (flow.Executor.Tags), by its name; set
	// before any user starts (setScenarioTags), read-only after.
	scenTags map[string]map[string]string
	// trace, when set (by tests, before any user starts), is given each request's duration as it
	// is recorded.
	trace func(time.Duration)
}

type shard struct {
	mu   sync.Mutex
	d    *stats.Delta
	m    [nMetrics]*stats.Metric // d's metrics, by id, while d is current
	subs []*stats.Metric
	_    [64]byte // keep shards' mutexes on separate cache lines
}

func newRecorder(n int, selectors []string) *recorder {
	rc := &recorder{shards: make([]shard, n)}
	byName := map[string]metricID{}
	for i, d := range metricDefs {
		byName[d.name] = metricID(i)
	}
	seen := map[string]bool{}
	for _, text := range selectors {
		sel, err := stats.ParseSelector(text)
		if err != nil || len(sel.Tags) == 0 || seen[sel.Key()] {
			continue
		}
		m, ok := byName[sel.Metric]
		if !ok {
			continue // a metric a flow never records
		}
		seen[sel.Key()] = true
		sm := submetric{id: rc.nsubs, key: sel.Key(), m: m}
		for k, v := range sel.Tags {
			id, ok := tagIDs[k]
			if !ok {
				id = tUnknown
			}
			sm.tags = append(sm.tags, subTag{id: id, name: k, value: v})
		}
		rc.subs[m] = append(rc.subs[m], sm)
		rc.nsubs++
	}
	now := time.Now()
	for i := range rc.shards {
		rc.shards[i].d = &stats.Delta{Start: now}
		rc.shards[i].subs = make([]*stats.Metric, rc.nsubs)
	}
	return rc
}

// setScenarioTags gives the script-mode scenarios' own tags to their samples' sub-metrics.
func (rc *recorder) setScenarioTags(scenarios []*flow.Executor) {
	rc.scenTags = map[string]map[string]string{}
	for _, ex := range scenarios {
		if len(ex.Tags) > 0 {
			rc.scenTags[ex.Name] = ex.Tags
		}
	}
}

func (rc *recorder) shard(i int) *shard { return &rc.shards[i%len(rc.shards)] }

// metric returns the shard's current metric id, filed in its delta on first use.
func (s *shard) metric(id metricID) *stats.Metric {
	m := s.m[id]
	if m == nil {
		d := &metricDefs[id]
		m = &stats.Metric{Type: d.typ, Contains: d.contains}
		if s.d.Metrics == nil {
			s.d.Metrics = make(map[string]*stats.Metric)
		}
		s.d.Metrics[d.name] = m
		s.m[id] = m
	}
	return m
}

// add records one sample of id with tags t, and under every sub-metric of id that t matches.
// The caller holds s.mu.
func (rc *recorder) add(s *shard, id metricID, v float64, ns int64, t *tags) {
	s.metric(id).Add(v, ns)
	for i := range rc.subs[id] {
		sm := &rc.subs[id][i]
		ok := true
		for j := range sm.tags {
			if !rc.matches(t, &sm.tags[j]) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		m := s.subs[sm.id]
		if m == nil {
			d := &metricDefs[id]
			m = &stats.Metric{Type: d.typ, Contains: d.contains}
			if s.d.Metrics == nil {
				s.d.Metrics = make(map[string]*stats.Metric)
			}
			s.d.Metrics[sm.key] = m
			s.subs[sm.id] = m
		}
		m.Add(v, ns)
	}
}

// swap takes the shard's delta, leaving an empty one that starts at now.
func (s *shard) swap(now time.Time) *stats.Delta {
	s.mu.Lock()
	d := s.d
	s.d = &stats.Delta{Start: now}
	s.m = [nMetrics]*stats.Metric{}
	clear(s.subs)
	s.mu.Unlock()
	return d
}

// flush returns what every shard recorded since the last flush, nil when nothing was.
func (rc *recorder) flush(now time.Time) *stats.Delta {
	var out *stats.Delta
	for i := range rc.shards {
		d := rc.shards[i].swap(now)
		if d.Empty() {
			continue
		}
		if out == nil {
			out = d
			continue
		}
		out.Merge(d)
	}
	if out != nil {
		out.End = now
	}
	return out
}

// statusText holds the status codes' text, so a request's stats.Key is made without allocating.
var statusText = func() (s [600]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func statusString(code int) string {
	if code >= 0 && code < len(statusText) {
		return statusText[code]
	}
	return strconv.Itoa(code)
}

// exchange is what one request did, for the recorder.
type exchange struct {
	r       *creq
	status  int
	failed  bool
	errText string
	url     []byte
	resp    *h1.Response
	scen    string // the scenario tag; "" in setup and teardown
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// request records one request as k6 does: its row (stats.Key), the bytes it received, and the
// http_req_* samples with their tags, for thresholds and their sub-metrics.
func (rc *recorder) request(s *shard, x *exchange) {
	st := statusString(x.status)
	k := stats.Key{Name: x.r.name, Method: x.r.method, Status: st}
	t := tags{has: httpTags, name: x.r.name, method: x.r.method, status: st, group: x.r.group,
		scenario: x.scen, expected: "true", url: x.url, proto: protoTag(x.resp.Major, x.resp.Minor)}
	if x.failed {
		t.expected = "false"
	}
	if x.errText != "" {
		t.has |= 1 << tError
		t.err = x.errText
	}
	if x.scen == "" {
		t.has &^= 1 << tScenario
	}
	tm := &x.resp.Timings
	failed := 0.0
	if x.failed {
		failed = 1
	}
	ns := time.Now().UnixNano()
	if rc.trace != nil {
		rc.trace(tm.Duration)
	}
	s.mu.Lock()
	s.d.AddRequest(k, ms(tm.Duration), x.failed, x.errText)
	s.d.AddReceived(k, 1, uint64(x.resp.BytesReceived))
	rc.add(s, mReqs, 1, ns, &t)
	rc.add(s, mDuration, ms(tm.Duration), ns, &t)
	rc.add(s, mBlocked, ms(tm.Blocked), ns, &t)
	rc.add(s, mConnecting, ms(tm.Connecting), ns, &t)
	rc.add(s, mTLS, ms(tm.TLSHandshaking), ns, &t)
	rc.add(s, mSending, ms(tm.Sending), ns, &t)
	rc.add(s, mWaiting, ms(tm.Waiting), ns, &t)
	rc.add(s, mReceiving, ms(tm.Receiving), ns, &t)
	rc.add(s, mFailed, failed, ns, &t)
	t.has = iterTags
	rc.add(s, mDataSent, float64(x.resp.BytesSent), ns, &t)
	rc.add(s, mDataReceived, float64(x.resp.BytesReceived), ns, &t)
	s.mu.Unlock()
}

// check records one outcome of a check.
func (rc *recorder) check(s *shard, scen string, k stats.CheckKey, pass bool) {
	t := tags{has: checkTags, check: k.Name, group: k.Group, scenario: scen}
	v := 0.0
	if pass {
		v = 1
	}
	ns := time.Now().UnixNano()
	s.mu.Lock()
	s.d.AddCheck(k, pass)
	rc.add(s, mChecks, v, ns, &t)
	s.mu.Unlock()
}

// iteration records one whole iteration.
func (rc *recorder) iteration(s *shard, scen string, d time.Duration) {
	t := tags{has: iterTags, scenario: scen}
	ns := time.Now().UnixNano()
	s.mu.Lock()
	rc.add(s, mIterations, 1, ns, &t)
	rc.add(s, mIterDuration, ms(d), ns, &t)
	s.mu.Unlock()
}

// group records one whole run of a group's steps.
func (rc *recorder) group(s *shard, scen, group string, d time.Duration) {
	t := tags{has: iterTags, group: group, scenario: scen}
	ns := time.Now().UnixNano()
	s.mu.Lock()
	rc.add(s, mGroupDuration, ms(d), ns, &t)
	s.mu.Unlock()
}

// dropped records an arrival-rate iteration that found no free user.
func (rc *recorder) dropped(s *shard, scen string) {
	t := tags{has: 1 << tScenario, scenario: scen}
	ns := time.Now().UnixNano()
	s.mu.Lock()
	rc.add(s, mDropped, 1, ns, &t)
	s.mu.Unlock()
}
