package scenario

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseSwarmOptions(t *testing.T) {
	t.Parallel()
	got, err := ParseSwarmOptions([]byte(`{"classes": {"buy": {"weight": 1}, "browse": {"weight": 3, "tags": ["read"]}, "admin": {}},
		"shape": [{"duration": "10s", "users": 4, "spawnRate": 2}, {"duration": "1m30s", "users": 0}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &SwarmOptions{
		Classes: []Class{{Name: "admin", Weight: 1}, {Name: "browse", Weight: 3, Tags: []string{"read"}}, {Name: "buy", Weight: 1}},
		Shape:   Shape{{Duration: 10 * time.Second, Users: 4, SpawnRate: 2}, {Duration: 90 * time.Second}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if got, err := ParseSwarmOptions(nil); got != nil || err != nil {
		t.Errorf("no options.ext.stampede: %v, %v; want nil, nil", got, err)
	}
}

func TestParseSwarmOptionsErrors(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"clases": {}}`:                                               `unknown field "clases"`,
		`{"classes": {"a": {"weight": -1}}}`:                           "classes.a.weight -1: want a whole number",
		`{"classes": {"a": {"weight": 1.5}}}`:                          "classes.a.weight 1.5",
		`{"classes": {"a": {"weight": 1000001}}}`:                      "classes.a.weight 1000001: want a whole number from 0 to 1000000",
		`{"classes": {"a": {"weight": 0}}}`:                            "every weight is 0",
		`{"classes": {"a": {"tags": ["x,y"]}}}`:                        `classes.a.tags: "x,y" is not a tag`,
		`{"classes": {"a": {"wieght": 2}}}`:                            `unknown field "wieght"`,
		`{"shape": [{"duration": "0s", "users": 1}]}`:                  `shape[0].duration "0s"`,
		`{"shape": [{"duration": "5", "users": 1}]}`:                   `shape[0].duration "5"`,
		`{"shape": [{"duration": "5s", "users": -3}]}`:                 `shape[0].users "-3"`,
		`{"shape": [{"duration": "5s", "users": 1, "spawnRate": -1}]}`: `shape[0].spawnRate "-1"`,
		`{"shape": [{"duration": "5s", "users": 1, "rate": 1}]}`:       `unknown field "rate"`,
	} {
		_, err := ParseSwarmOptions([]byte(in))
		if !errors.Is(err, ErrSwarmOptions) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want ErrSwarmOptions saying %q", in, err, want)
		}
	}
}

func TestShapeAt(t *testing.T) {
	t.Parallel()
	s := Shape{{Duration: 10 * time.Second, Users: 5, SpawnRate: 1}, {Duration: 20 * time.Second, Users: 20, SpawnRate: 2}, {Duration: 5 * time.Second}}
	for _, c := range []struct {
		at    time.Duration
		stage int
		users int64
		ended bool
	}{
		{0, 0, 5, false}, {9999 * time.Millisecond, 0, 5, false}, {10 * time.Second, 1, 20, false},
		{29 * time.Second, 1, 20, false}, {30 * time.Second, 2, 0, false}, {35 * time.Second, 3, 0, true}, {time.Hour, 3, 0, true},
	} {
		stage, users, _, ended := s.At(c.at)
		if stage != c.stage || users != c.users || ended != c.ended {
			t.Errorf("At(%s) = stage %d, %d users, ended %v; want %d, %d, %v", c.at, stage, users, ended, c.stage, c.users, c.ended)
		}
	}
	if s.Peak() != 20 {
		t.Errorf("Peak = %d, want the second stage's 20", s.Peak())
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	classes := []Class{{Name: "admin", Tags: []string{"write", "slow"}}, {Name: "browse", Tags: []string{"read"}}, {Name: "buy", Tags: []string{"write"}}, {Name: "idle"}}
	names := func(cs []Class) string {
		var n []string
		for _, c := range cs {
			n = append(n, c.Name)
		}
		return strings.Join(n, " ")
	}
	for _, c := range []struct {
		tags, exclude []string
		want          string
	}{
		{nil, nil, "admin browse buy idle"},
		{[]string{"write"}, nil, "admin buy"},
		{[]string{"write"}, []string{"slow"}, "buy"},
		{nil, []string{"write"}, "browse idle"},
		{[]string{"read", "slow"}, nil, "admin browse"},
	} {
		got, err := Select(classes, c.tags, c.exclude)
		if err != nil || names(got) != c.want {
			t.Errorf("Select(%v, %v) = %q, %v; want %q", c.tags, c.exclude, names(got), err, c.want)
		}
	}
	if _, err := Select(classes, []string{"nope"}, nil); err == nil || !strings.Contains(err.Error(), "admin, browse, buy, idle") {
		t.Errorf("no class left: %v", err)
	}
}

// TestParseInspectSwarm: k6 inspect's own output of a script with options.ext.stampede
// (testdata/inspect/swarm-ext.json, from `stampede-master k6 inspect --execution-requirements`).
func TestParseInspectSwarm(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/inspect/swarm-ext.json")
	if err != nil {
		t.Fatal(err)
	}
	o, err := ParseInspect(data)
	if err != nil {
		t.Fatal(err)
	}
	if o.Swarm == nil || len(o.Swarm.Classes) != 2 || o.Swarm.Classes[0].Name != "browse" || o.Swarm.Classes[0].Weight != 3 ||
		len(o.Swarm.Shape) != 1 || o.Swarm.Shape[0].Users != 4 {
		t.Fatalf("swarm options %+v", o.Swarm)
	}
}
