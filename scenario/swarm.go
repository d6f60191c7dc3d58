package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// ErrSwarmOptions: the script's options.ext.stampede is not what Stampede reads there. The
// message names the option's path and what would be right.
var ErrSwarmOptions = errors.New("invalid options.ext.stampede")

// SwarmOptions are what a script says about its swarm runs, in options.ext.stampede, the one
// place of k6's options that plain k6 accepts, keeps in an archive and otherwise ignores:
//
//	export const options = { ext: { stampede: {
//	  classes: { browse: { weight: 3, tags: ['read'] }, buy: { weight: 1 } },
//	  shape: [ { duration: '1m', users: 10, spawnRate: 2 }, { duration: '2m', users: 50, spawnRate: 5 } ],
//	} } };
//
// Classes are Locust's User classes: each names a function the script exports, run by that share
// of the users. Shape is Locust's LoadTestShape as k6-style stages.
type SwarmOptions struct {
	Classes []Class // by name
	Shape   Shape
}

// MaxClassWeight is the largest weight a user class may have: enough for any ratio, small enough
// that the split's arithmetic cannot overflow.
const MaxClassWeight = 1_000_000

// Class is one user class.
type Class struct {
	Name   string // the exported function the class's users run
	Weight int64  // its share of the users is Weight over the classes' total
	Tags   []string
}

// Stage is one step of a shape: for Duration, the swarm heads for Users at SpawnRate users per
// second (0: all at once).
type Stage struct {
	Duration  time.Duration
	Users     int64
	SpawnRate float64
}

// Shape is a swarm's stages, in order.
type Shape []Stage

// ParseSwarmOptions reads options.ext.stampede (raw is its JSON; nil when the script has none).
// Unknown keys are errors, as k6's own options are strict about them.
func ParseSwarmOptions(raw json.RawMessage) (*SwarmOptions, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var in struct {
		Classes map[string]struct {
			Weight *json.Number `json:"weight"`
			Tags   []string     `json:"tags"`
		} `json:"classes"`
		Shape []struct {
			Duration  string      `json:"duration"`
			Users     json.Number `json:"users"`
			SpawnRate json.Number `json:"spawnRate"`
		} `json:"shape"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("%w: %w (it takes classes and shape)", ErrSwarmOptions, err)
	}
	out := &SwarmOptions{}
	for name, c := range in.Classes {
		path := "classes." + name
		w := int64(1)
		if c.Weight != nil {
			v, err := c.Weight.Int64()
			if err != nil || v < 0 || v > MaxClassWeight {
				return nil, fmt.Errorf("%w: %s.weight %s: want a whole number from 0 to %d", ErrSwarmOptions, path, c.Weight, MaxClassWeight)
			}
			w = v
		}
		for _, tag := range c.Tags {
			if strings.TrimSpace(tag) == "" || strings.Contains(tag, ",") {
				return nil, fmt.Errorf("%w: %s.tags: %q is not a tag (no empty tags, no commas)", ErrSwarmOptions, path, tag)
			}
		}
		out.Classes = append(out.Classes, Class{Name: name, Weight: w, Tags: c.Tags})
	}
	slices.SortFunc(out.Classes, func(a, b Class) int { return strings.Compare(a.Name, b.Name) })
	if len(out.Classes) > 0 && !slices.ContainsFunc(out.Classes, func(c Class) bool { return c.Weight > 0 }) {
		return nil, fmt.Errorf("%w: classes: every weight is 0; give at least one class a weight", ErrSwarmOptions)
	}
	for i, s := range in.Shape {
		path := fmt.Sprintf("shape[%d]", i)
		d, err := time.ParseDuration(s.Duration)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%w: %s.duration %q: want a positive duration such as \"30s\" or \"2m\"", ErrSwarmOptions, path, s.Duration)
		}
		users, err := s.Users.Int64()
		if err != nil || users < 0 {
			return nil, fmt.Errorf("%w: %s.users %q: want a whole number, 0 or more", ErrSwarmOptions, path, s.Users)
		}
		var rate float64
		if s.SpawnRate != "" {
			rate, err = s.SpawnRate.Float64()
			if err != nil || rate < 0 || math.IsInf(rate, 0) {
				return nil, fmt.Errorf("%w: %s.spawnRate %q: want a number, 0 or more (0 starts every user at once)", ErrSwarmOptions, path, s.SpawnRate)
			}
		}
		out.Shape = append(out.Shape, Stage{Duration: d, Users: users, SpawnRate: rate})
	}
	return out, nil
}

// At is where the shape stands elapsed into it: the stage running (its index) and what it asks
// for. Once every stage has run, ended is true and stage is len(s).
func (s Shape) At(elapsed time.Duration) (stage int, users int64, rate float64, ended bool) {
	var start time.Duration
	for i, st := range s {
		if elapsed < start+st.Duration {
			return i, st.Users, st.SpawnRate, false
		}
		start += st.Duration
	}
	return len(s), 0, 0, true
}

// Peak is the most users any stage asks for.
func (s Shape) Peak() int64 {
	var most int64
	for _, st := range s {
		most = max(most, st.Users)
	}
	return most
}

// Select is the classes that run with Locust's --tags and --exclude-tags: with tags, only the
// classes that have one of them; then without those that have any of exclude. No class left is an
// error that says which were left out and why.
func Select(classes []Class, tags, exclude []string) ([]Class, error) {
	var out []Class
	for _, c := range classes {
		hasAny := func(list []string) bool {
			return slices.ContainsFunc(c.Tags, func(t string) bool { return slices.Contains(list, t) })
		}
		if (len(tags) == 0 || hasAny(tags)) && !hasAny(exclude) {
			out = append(out, c)
		}
	}
	if len(out) == 0 && len(classes) > 0 {
		return nil, fmt.Errorf("no user class is left to run: --tags %q and --exclude-tags %q leave out all of %s",
			strings.Join(tags, ","), strings.Join(exclude, ","), strings.Join(ClassNames(classes), ", "))
	}
	return out, nil
}

// ClassNames are the classes' names, in order (nil for none).
func ClassNames(cs []Class) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}
