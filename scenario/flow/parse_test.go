package flow

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// head is the start of most test files: a class follows at line 3.
const head = "kind: stampede/flow/v1\nbaseUrl: http://127.0.0.1:8080\n"

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want string
	}{
		{"empty", "", "t.yaml:1: empty file: want kind: stampede/flow/v1 first"},
		{"yaml syntax", "kind: stampede/flow/v1\nclasses: [\n", "t.yaml:2: YAML: did not find expected node content"},
		{"kind not first", "classes: {}\nkind: stampede/flow/v1\n",
			"t.yaml:1:1: the first key must be kind: stampede/flow/v1 (it tells a flow scenario from a k6 script)\n" +
				"t.yaml:1:10: classes: empty: a scenario needs at least one class of users"},
		{"wrong kind", "kind: stampede/flow/v2\nclasses: {a: {steps: [{think: 1s}]}}\n",
			`t.yaml:1:7: kind: the string "stampede/flow/v2": want stampede/flow/v1`},
		{"unknown top key", head + "baseURL: x\nclasses: {a: {steps: [{think: 1s}]}}\n",
			"t.yaml:3:1: baseURL: unknown key; allowed: kind, baseUrl, headers, vars, data, think, timeout, maxRedirects, tls, http2, shareConnections, setup, teardown, classes, shape, scenarios, thresholds"},
		{"two documents", head + "classes: {a: {steps: [{think: 1s}]}}\n---\nkind: x\n", "t.yaml:4:1: a second YAML document: a scenario is one document"},
		{"alias", head + "vars: {a: &x 1, b: *x}\nclasses: {a: {steps: [{think: 1s}]}}\n",
			"t.yaml:3:20: vars.b: YAML aliases (*name) are not supported: write the value out"},
		{"aliases in steps", head + "x0: &u /\nclasses:\n  a:\n    steps: [{get: *u}, {group: *u, steps: [{think: 1s}]}, {think: *u}, {get: /, get: /}]\n",
			"t.yaml:3:1: x0: unknown key; allowed: kind, baseUrl, headers, vars, data, think, timeout, maxRedirects, tls, http2, shareConnections, setup, teardown, classes, shape, scenarios, thresholds\n" +
				"t.yaml:6:19: classes.a.steps[0].get: YAML aliases (*name) are not supported: write the value out\n" +
				"t.yaml:6:32: classes.a.steps[1].group: YAML aliases (*name) are not supported: write the value out\n" +
				"t.yaml:6:67: classes.a.steps[2].think: YAML aliases (*name) are not supported: write the value out\n" +
				"t.yaml:6:81: classes.a.steps[3].get: duplicate key"},
		{"no classes", head, "t.yaml:1:1: classes: missing: a scenario needs at least one class of users"},
		{"steps and tasks", head + "classes:\n  a:\n    steps: [{think: 1s}]\n    tasks: [{steps: [{think: 1s}]}]\n",
			"t.yaml:6:12: classes.a.tasks: a class has steps or tasks, not both"},
		{"neither steps nor tasks", head + "classes:\n  a: {weight: 2}\n",
			"t.yaml:4:6: classes.a: a class needs steps (run in order each iteration) or tasks (one, chosen by weight, each iteration)"},
		{"unknown step key", head + "classes:\n  a:\n    steps:\n      - get: /\n        nmae: home\n",
			"t.yaml:7:9: classes.a.steps[0].nmae: unknown key; allowed: get, post, put, patch, delete, head, options, name, headers, query, body, json, form, timeout, maxRedirects, capture, check"},
		{"not a step", head + "classes:\n  a:\n    steps:\n      - fetch: /\n",
			"t.yaml:6:9: classes.a.steps[0]: a step is a request (a key get, post, put, patch, delete, head or options), a group (group: name, steps: [...]) or a pause (think: 1s)"},
		{"two methods", head + "classes:\n  a:\n    steps:\n      - {get: /, post: /}\n",
			"t.yaml:6:9: classes.a.steps[0]: one request per step: this one has get and post"},
		{"capture before use", head + "classes:\n  buyer:\n    steps:\n      - group: checkout\n        steps:\n          - get: /a\n            headers: { X-CSRF: \"${csrf}\" }\n          - get: /b\n            capture: { csrf: { regex: 'v=(\\w+)' } }\n",
			"t.yaml:9:32: classes.buyer.steps[0].steps[0].headers.X-CSRF: ${csrf} is not defined here: no var, data set or setup capture has that name, and no earlier step of this flow captures it"},
		{"own capture", head + "classes:\n  a:\n    steps:\n      - get: /x/${id}\n        capture: { id: { json: $.id } }\n",
			"t.yaml:6:14: classes.a.steps[0].get: ${id} is not defined here: no var, data set or setup capture has that name, and no earlier step of this flow captures it"},
		{"capture in another task", head + "classes:\n  a:\n    tasks:\n      - steps: [{get: /, capture: {t: {header: X-T}}}]\n      - steps: [{get: \"/${t}\"}]\n",
			"t.yaml:7:23: classes.a.tasks[1].steps[0].get: ${t} is not defined here: no var, data set or setup capture has that name, and no earlier step of this flow captures it"},
		{"body exclusive", head + "classes:\n  a:\n    steps:\n      - post: /\n        body: x\n        form: {a: b}\n",
			"t.yaml:8:9: classes.a.steps[0].form: body, json and form are exclusive: this request already has body"},
		{"unknown data set column form", head + "data:\n  acc: {file: a.csv}\nclasses:\n  a:\n    steps: [{get: \"/${acc}\"}]\n",
			"t.yaml:7:19: classes.a.steps[0].get: ${acc}: a data set is read a column at a time: ${acc.<column>}"},
		{"data in setup", head + "data:\n  acc: {file: a.csv}\nsetup: [{get: \"/${acc.user}\"}]\nclasses: {a: {steps: [{think: 1s}]}}\n",
			"t.yaml:5:15: setup[0].get: ${acc.user}: data sets are read per user; setup cannot read them"},
		{"bad data file", head + "data:\n  acc: {file: ../a.csv, each: row}\n  b: {file: b.txt}\nclasses: {a: {steps: [{think: 1s}]}}\n",
			"t.yaml:4:15: data.acc.file: \"../a.csv\": want a path relative to the scenario's directory, with / and without .., so the run's bundle holds it\n" +
				"t.yaml:4:31: data.acc.each: the string \"row\": want user (a row per user), iteration (the next row each iteration) or random (a random row each iteration)\n" +
				"t.yaml:5:13: data.b.file: \"b.txt\": want a .csv file (with a header row) or a .json file (an array of objects)"},
		{"vars read env only", head + "vars: {a: x, b: \"${a}\", c: \"${iteration}\"}\nclasses: {a: {steps: [{think: 1s}]}}\n",
			"t.yaml:3:17: vars.b: ${a}: vars reads only the environment, ${__ENV.NAME} or ${NAME:-default}\n" +
				"t.yaml:3:28: vars.c: ${iteration}: vars reads only the environment, ${__ENV.NAME} or ${NAME:-default}"},
		{"reserved and clashing names", head + "vars: {uuid: x, acc: y}\ndata:\n  acc: {file: a.csv}\nclasses:\n  a:\n    steps: [{get: /, capture: {acc: {cookie: s}, vu: {cookie: s}}}]\n",
			"t.yaml:3:8: vars.uuid: \"uuid\" is a built-in name; choose another var name\n" +
				"t.yaml:5:3: data.acc: \"acc\" is already a var; a data set needs a name of its own\n" +
				"t.yaml:8:32: classes.a.steps[0].capture.acc: \"acc\" is already a var; a capture needs a name of its own\n" +
				"t.yaml:8:50: classes.a.steps[0].capture.vu: \"vu\" is a built-in name; choose another capture name"},
		{"setup capture is read-only", head + "setup: [{get: /, capture: {tok: {json: $.t}}}]\nclasses:\n  a:\n    steps: [{get: /, capture: {tok: {json: $.t}}}]\n",
			"t.yaml:6:32: classes.a.steps[0].capture.tok: \"tok\" is captured by setup, shared and read-only; capture into another name"},
		{"bad captures", head + "classes:\n  a:\n    steps:\n      - get: /\n        capture:\n          a: {regex: 'x', from: body}\n          b: {json: a.b}\n          c: {json: $.a, header: X}\n          d: {header: X, from: body}\n",
			"t.yaml:8:22: classes.a.steps[0].capture.a.regex: \"x\" has 0 groups: want exactly one, (...), around the value to capture\n" +
				"t.yaml:9:21: classes.a.steps[0].capture.b.json: JSON path \"a.b\" must start with $, e.g. $.items[0].id\n" +
				"t.yaml:10:14: classes.a.steps[0].capture.c: want exactly one of json, regex, header and cookie, not 2\n" +
				"t.yaml:11:32: classes.a.steps[0].capture.d.from: from applies to regex captures only"},
		{"bad checks", head + "classes:\n  a:\n    steps:\n      - get: /\n        check: {status: [200, 700], duration: 500ms, body: {has: x}, json: {\"$.a[*]\": 1, $.b: [1]}}\n",
			"t.yaml:7:31: classes.a.steps[0].check.status[1]: want a whole number from 100 to 599, not 700\n" +
				"t.yaml:7:47: classes.a.steps[0].check.duration: the string \"500ms\": want an operator (<, <=, >, >=) and a duration, e.g. \"<500ms\"\n" +
				"t.yaml:7:61: classes.a.steps[0].check.body.has: unknown key; allowed: contains, notContains, matches\n" +
				"t.yaml:7:77: classes.a.steps[0].check.json[\"$.a[*]\"]: JSON path \"$.a[*]\": [*] is neither an index (0, 1, ...) nor a quoted key; wildcards, slices and filters are not supported\n" +
				"t.yaml:7:95: classes.a.steps[0].check.json[\"$.b\"]: want a string, number, boolean or null to compare with, not a list"},
		{"templates", head + "classes:\n  a:\n    steps:\n      - get: /${nope\n      - get: /${randomInt(5,1)}\n      - get: /${a b}\n",
			"t.yaml:6:14: classes.a.steps[0].get: \"/${nope\": ${ is not closed with }; write $${ for a literal ${\n" +
				"t.yaml:7:14: classes.a.steps[1].get: ${randomInt(5,1)}: randomInt(min,max): min and max must be whole numbers that fit 64 bits, min <= max\n" +
				"t.yaml:8:14: classes.a.steps[2].get: ${a b}: \"a b\" is not a name: want letters, digits and _ (not first a digit), or set.column for a data set"},
		{"relative path without baseUrl", "kind: stampede/flow/v1\nclasses:\n  a:\n    steps: [{get: /}, {get: home}]\n",
			"t.yaml:4:19: classes.a.steps[0].get: \"/\" is a path, but the file has no baseUrl: set baseUrl or write an absolute URL\n" +
				"t.yaml:4:29: classes.a.steps[1].get: \"home\": want a path starting with / (joined to baseUrl) or an absolute http:// or https:// URL"},
		{"think", head + "think: {uniform: [2s, 1s]}\nclasses:\n  a:\n    think: {constant: 1s, pacing: 2s}\n    steps: [{think: 5}]\n",
			"t.yaml:3:18: think.uniform: min 2s is more than max 1s\n" +
				"t.yaml:6:12: classes.a.think: want exactly one of constant, uniform, pacing and exponential, e.g. {uniform: [0.5s, 1.5s]}\n" +
				"t.yaml:7:21: classes.a.steps[0].think: want a duration with a unit, such as 500ms, 30s or 1m30s, not 5"},
		{"group depth", head + "classes:\n  a:\n    steps:\n" + nestGroups(MaxDepth+1),
			"t.yaml:22:41: classes.a.steps[0].steps[0].steps[0].steps[0].steps[0].steps[0].steps[0].steps[0].steps[0]: groups nested more than 8 deep (MaxDepth)"},
		{"weights", head + "classes:\n  a: {weight: 0, steps: [{think: 1s}]}\n  b: {weight: -1, tasks: [{weight: 0, steps: [{think: 1s}]}]}\n",
			"t.yaml:5:15: classes.b.weight: want a whole number from 0 to 1000000, not -1\n" +
				"t.yaml:5:26: classes.b.tasks: every task's weight is 0; give at least one task a weight"},
		{"all weights 0", head + "classes:\n  a: {weight: 0, steps: [{think: 1s}]}\n  b: {weight: 0, steps: [{think: 1s}]}\n",
			"t.yaml:4:3: classes: every weight is 0; give at least one class a weight"},
		{"shape", head + "classes: {a: {steps: [{think: 1s}]}}\nshape:\n  - {duration: 10, users: 5}\n  - {duration: 1m, spawnRate: -1}\n",
			"t.yaml:5:16: shape[0].duration: want a duration with a unit, such as 500ms, 30s or 1m30s, not 10\n" +
				"t.yaml:6:5: shape[1].users: missing: the users the stage heads for\n" +
				"t.yaml:6:31: shape[1].spawnRate: want a number, 0 or more, not -1"},
		{"executors", head + "classes: {a: {steps: [{think: 1s}]}}\nscenarios:\n" +
			"  s1: {executor: constant-arrival-rate, class: b, rate: 0, duration: 500ms, maxVUs: 1, vus: 3}\n" +
			"  s2: {executor: shared-iterations, class: a, vus: 10, iterations: 5}\n" +
			"  s3: {executor: ramping-vus, class: a, startVUs: 0, stages: [{duration: 1s, target: 0}]}\n" +
			"  s4: {class: a}\n  s5: {executor: externally-controlled, class: a}\n  s.6: {executor: constant-vus, class: a, duration: 1s}\n",
			"t.yaml:5:7: scenarios.s1.preAllocatedVUs: missing: the VUs to start with (k6 requires it)\n" +
				"t.yaml:5:48: scenarios.s1.class: \"b\" is not a class of this file\n" +
				"t.yaml:5:57: scenarios.s1.rate: want a whole number from 1 to 100000000, not 0\n" +
				"t.yaml:5:70: scenarios.s1.duration: 500ms: want at least 1s\n" +
				"t.yaml:5:88: scenarios.s1.vus: unknown key; allowed: executor, class, startTime, gracefulStop, tags, rate, timeUnit, duration, preAllocatedVUs, maxVUs\n" +
				"t.yaml:6:7: scenarios.s2.iterations: the number of iterations (5) can't be less than the number of VUs (10)\n" +
				"t.yaml:7:7: scenarios.s3: either startVUs or one of the stages' target values must be greater than 0\n" +
				"t.yaml:8:7: scenarios.s4.executor: missing: one of constant-vus, ramping-vus, per-vu-iterations, shared-iterations, constant-arrival-rate, ramping-arrival-rate\n" +
				"t.yaml:9:18: scenarios.s5.executor: the string \"externally-controlled\": want one of constant-vus, ramping-vus, per-vu-iterations, shared-iterations, constant-arrival-rate, ramping-arrival-rate\n" +
				"t.yaml:10:3: scenarios[\"s.6\"]: \"s.6\": the scenario name should contain only numbers, latin letters, underscores, and dashes (k6)"},
		{"thresholds", head + "classes: {a: {steps: [{think: 1s}]}}\nthresholds:\n  http_req_duration: [\"p95<300\", {threshold: \"avg<1\", abortOnFail: yes please}]\n  checks: rate>0.9\n",
			"t.yaml:5:23: thresholds.http_req_duration[0]: invalid threshold \"p95<300\" on http_req_duration: unknown aggregation \"p95\": did you mean p(95)?\n" +
				"t.yaml:5:68: thresholds.http_req_duration[1].abortOnFail: want true or false, not the string \"yes please\"\n" +
				"t.yaml:6:11: thresholds.checks: want a list, not the string \"rate>0.9\""},
		{"threshold metrics", head + "classes: {a: {steps: [{think: 1s}]}}\nthresholds:\n  http_req_duraton: [\"p(95)<300\", \"avg<1\"]\n  http_req_failed{name:x}: [\"avg<0.1\"]\n",
			"t.yaml:5:3: thresholds.http_req_duraton: \"http_req_duraton\" is not a metric a flow scenario records; it records k6's built-in metrics: checks, data_received, data_sent, dropped_iterations, group_duration, http_req_blocked, http_req_connecting, http_req_duration, http_req_failed, http_req_receiving, http_req_sending, http_req_tls_handshaking, http_req_waiting, http_reqs, iteration_duration, iterations, vus, vus_max\n" +
				"t.yaml:6:29: thresholds[\"http_req_failed{name:x}\"][0]: threshold does not apply to the metric's type: threshold \"avg<0.1\" on http_req_failed{name:x}: avg does not apply to http_req_failed, a rate metric; use rate"},
		{"duplicate keys and headers", head + "headers: {Accept: a, accept: b}\nclasses: {a: {steps: [{think: 1s}]}}\nclasses: {}\n",
			"t.yaml:3:22: headers.accept: header Accept is set twice (names are case-insensitive)\n" +
				"t.yaml:5:1: classes: duplicate key"},
		{"names with ::", head + "classes:\n  a:\n    steps:\n      - {group: 'a::b', steps: [{get: /, name: 'x::y'}]}\n",
			"t.yaml:6:17: classes.a.steps[0].group: \"a::b\": k6 group names may not contain ::\n" +
				"t.yaml:6:33: classes.a.steps[0].steps[0].name: \"x::y\": names may not contain :: (k6 check names are built from them)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("t.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse: no error, want\n%s", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse errors:\n%s\nwant:\n%s", got, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
		})
	}
}

// nestGroups returns a steps list whose first step is n groups nested in each other.
func nestGroups(n int) string {
	var b strings.Builder
	ind := "      "
	for i := range n {
		b.WriteString(ind + "- group: g\n" + ind + "  steps:\n")
		ind += "    "
		_ = i
	}
	b.WriteString(ind + "- think: 1s\n")
	return b.String()
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	big := make([]byte, MaxFileBytes+1)
	if _, err := Parse("big.yaml", big); err == nil || !strings.Contains(err.Error(), "big.yaml:1: the file is 1048577 bytes, over the limit of 1048576") {
		t.Errorf("a file over MaxFileBytes: %v", err)
	}

	var src strings.Builder
	src.WriteString(head + "classes:\n  a:\n    steps:\n")
	for range MaxSteps + 1 {
		src.WriteString("      - think: 1s\n")
	}
	if _, err := Parse("t.yaml", []byte(src.String())); err == nil || err.Error() != "t.yaml:1006:9: classes.a.steps[1000]: more than 1000 steps in the file (MaxSteps)" {
		t.Errorf("MaxSteps+1 steps: %v", err)
	}

	src.Reset()
	src.WriteString(head + "classes:\n  a:\n    steps:\n      - get: /\n        capture:\n")
	for i := range MaxCaptures + 1 {
		src.WriteString("          c" + strings.Repeat("x", i) + ": {cookie: s}\n")
	}
	if _, err := Parse("t.yaml", []byte(src.String())); err == nil || !strings.HasSuffix(err.Error(), "more than 64 capture names in classes.a (MaxCaptures)") {
		t.Errorf("MaxCaptures+1 captures: %v", err)
	}

	src.Reset()
	src.WriteString(head + "classes:\n  a:\n    steps:\n")
	for range MaxErrors + 5 {
		src.WriteString("      - bad: 1\n")
	}
	_, err := Parse("t.yaml", []byte(src.String()))
	if lines := strings.Split(err.Error(), "\n"); len(lines) != MaxErrors+1 || lines[MaxErrors] != "invalid flow scenario: 5 more errors" {
		t.Errorf("%d errors: %d lines, the last %q", MaxErrors+5, len(lines), lines[len(lines)-1])
	}
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	s, err := Parse("t.yaml", []byte(head+`classes:
  a:
    steps:
      - get: /items/${__ENV.ITEM}?page=1
        check: {status: 200}
scenarios:
  c: {executor: constant-arrival-rate, class: a, rate: 5, duration: 1m, preAllocatedVUs: 3}
  p: {executor: per-vu-iterations, class: a}
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Timeout != DefaultTimeout || s.Think != nil || s.Classes[0].Weight != 1 {
		t.Errorf("timeout %s, think %v, weight %d: want the defaults", s.Timeout, s.Think, s.Classes[0].Weight)
	}
	r := s.Classes[0].Steps[0].Request
	if r.Name != "/items/${__ENV.ITEM}" || r.Checks[0].Name != "/items/${__ENV.ITEM}: status is 200" {
		t.Errorf("name %q, check %q: want the path without its query", r.Name, r.Checks[0].Name)
	}
	if len(s.RequiredEnv) != 1 || s.RequiredEnv[0] != "ITEM" {
		t.Errorf("RequiredEnv %v, want [ITEM]", s.RequiredEnv)
	}
	c, p := s.Scenarios[0], s.Scenarios[1]
	if c.TimeUnit != time.Second || c.MaxVUs != 3 || c.GracefulStop != 30*time.Second {
		t.Errorf("constant-arrival-rate: timeUnit %s, maxVUs %d, gracefulStop %s: want k6's defaults 1s, preAllocatedVUs, 30s", c.TimeUnit, c.MaxVUs, c.GracefulStop)
	}
	if p.VUs != 1 || p.Iterations != 1 || p.MaxDuration != 10*time.Minute {
		t.Errorf("per-vu-iterations: vus %d, iterations %d, maxDuration %s: want k6's defaults 1, 1, 10m", p.VUs, p.Iterations, p.MaxDuration)
	}
}

func TestIsFlow(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]bool{
		"kind: stampede/flow/v1\n": true,
		"\xef\xbb\xbf# a comment\n\n---\nkind: 'stampede/flow/v1' # v1\nx: 1": true,
		"kind: \"stampede/flow/v1\"":                                          true,
		"kind: stampede/flow/v2\n":                                            false,
		"baseUrl: x\nkind: stampede/flow/v1\n":                                false,
		"import http from 'k6/http';\n":                                       false,
		"// kind: stampede/flow/v1\n":                                         false,
		"":                                                                    false,
	} {
		if got := IsFlow([]byte(src)); got != want {
			t.Errorf("IsFlow(%q) = %v, want %v", src, got, want)
		}
	}
}

func TestParseGood(t *testing.T) {
	t.Parallel()
	issue, err := os.ReadFile("testdata/issue-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src string
		check     func(*Scenario) string // "" when right
	}{
		{"the issue's sketch", string(issue), func(s *Scenario) string {
			checks := s.Classes[1].Steps[0].Steps[1].Request.Checks
			var names []string
			for _, c := range checks {
				names = append(names, c.Name)
			}
			return want(strings.Join(names, "|"), `checkout: status is one of 200, 201|checkout: duration < 500ms|checkout: body contains "ok"`)
		}},
		{"absolute URLs need no baseUrl", "kind: stampede/flow/v1\nclasses: {a: {steps: [{get: 'https://x/y?q=1'}, {get: '${U:-http://h}/p'}]}}", func(s *Scenario) string {
			return want(s.Classes[0].Steps[0].Request.Name, "https://x/y")
		}},
		{"escapes and zero think", head + "classes: {a: {think: 0, steps: [{get: '/a$${b}', query: {n: 1, t: true}}]}}", func(s *Scenario) string {
			lit, _ := s.Classes[0].Steps[0].Request.URL.Literal()
			return want(lit+" "+s.Classes[0].Steps[0].Request.Query[1].Value.Source, "/a${b} true")
		}},
		{"header names are canonical and merge case-insensitively", head + "headers: {x-api-key: k}\nclasses: {a: {headers: {X-API-KEY: c}, steps: [{get: /, headers: {x-Api-Key: r}}]}}", func(s *Scenario) string {
			return want(s.Headers[0].Name+" "+s.Classes[0].Headers[0].Name+" "+s.Classes[0].Steps[0].Request.Headers[0].Name, "X-Api-Key X-Api-Key X-Api-Key")
		}},
		{"onStart captures reach every task", head + "classes:\n  a:\n    onStart: [{post: /login, capture: {t: {json: $.token}}}]\n    tasks:\n      - steps: [{get: '/a/${t}'}]\n      - steps:\n          - get: /b/${t}\n", func(s *Scenario) string {
			return want(s.Classes[0].Tasks[1].Steps[0].Request.URL.Parts[1].Ref.Kind.String(), "capture")
		}},
		{"threshold objects", head + "classes: {a: {steps: [{think: 1s}]}}\nthresholds: {checks: [{threshold: rate>0.9, abortOnFail: true, delayAbortEval: 5s}]}", func(s *Scenario) string {
			th := s.Thresholds[0]
			return want(fmt.Sprint(th.Agg, th.Op, th.Limit, th.AbortOnFail, th.DelayAbortEval), "rate>0.9 true 5s")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse("t.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(s); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func want(got, want string) string {
	if got == want {
		return ""
	}
	return fmt.Sprintf("got %q, want %q", got, want)
}
