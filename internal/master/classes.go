package master

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/scenario"
)

// SplitClasses divides each worker's users over the classes. Fleet-wide, class c gets exactly
// scenario.Apportion(total, weights)[c] users, and worker i's classes add up to shares[i]; a worker's count
// of a class is within 2 of its share of that class (shares[i]*weight/W). It lays the fleet's
// users out in one sequence in which every class is spread as evenly as it can be, and gives each
// worker the stretch of it its share covers (worker 0 the first shares[0] places, and so on).
// The result has a row per worker and a column per class.
func SplitClasses(shares []int64, weights []int64) [][]int64 {
	var total int64
	for _, s := range shares {
		total += s
	}
	counts := scenario.Apportion(total, weights)
	out := make([][]int64, len(shares))
	for i := range out {
		out[i] = make([]int64, len(weights))
	}
	if counts == nil {
		return out
	}
	// Place k of the sequence goes to the class furthest behind its even pace: after k+1 places
	// class c should have counts[c]*(k+1)/total of them. Comparing placed*total against
	// counts*(k+1) keeps it in integers. A class with nothing left never wins.
	placed := make([]int64, len(weights))
	worker, left := 0, int64(0)
	if len(shares) > 0 {
		left = shares[0]
	}
	for k := int64(0); k < total; k++ {
		for left == 0 {
			worker++
			left = shares[worker]
		}
		best, bestLag := -1, int64(0)
		for c, n := range counts {
			if placed[c] == n {
				continue
			}
			lag := n*(k+1) - placed[c]*total // how far behind its pace, in units of 1/total
			if best < 0 || lag > bestLag {
				best, bestLag = c, lag
			}
		}
		placed[best]++
		out[worker][best]++
		left--
	}
	return out
}

// useClasses gives a swarm run the script's user classes (options.ext.stampede.classes), those its
// tags choose (RunConfig.Tags, ExcludeTags), at the run's weights (RunConfig.ClassWeights over the
// script's). Call it once the script is inspected.
func (r *run) useClasses(opts *scenario.Options) error {
	var declared []scenario.Class
	if opts != nil && opts.Swarm != nil {
		declared = opts.Swarm.Classes
	}
	asked := len(r.cfg.Tags) > 0 || len(r.cfg.ExcludeTags) > 0 || len(r.cfg.ClassWeights) > 0
	if len(declared) == 0 {
		if asked {
			return fmt.Errorf("%w: tags and class weights choose among user classes, and the script declares none "+
				"(options.ext.stampede.classes; see docs/locust.md)", ErrBadSettings)
		}
		return nil
	}
	if r.mode != scenario.Swarm {
		if asked {
			return fmt.Errorf("%w: user classes run in swarm mode: give users (--users) or a load shape", ErrBadSettings)
		}
		return nil
	}
	classes, err := reweigh(declared, r.cfg.ClassWeights)
	if err == nil {
		classes, err = scenario.Select(classes, r.cfg.Tags, r.cfg.ExcludeTags)
	}
	if err == nil && !slices.ContainsFunc(classes, func(c scenario.Class) bool { return c.Weight > 0 }) {
		err = fmt.Errorf("every chosen class (%s) has weight 0: no user would run", strings.Join(scenario.ClassNames(classes), ", "))
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSettings, err)
	}
	r.classes = classes
	return nil
}

// reweigh returns classes with the weights of over in place of their own.
func reweigh(classes []scenario.Class, over map[string]int64) ([]scenario.Class, error) {
	out := slices.Clone(classes)
	for _, name := range slices.Sorted(maps.Keys(over)) {
		i := slices.IndexFunc(out, func(c scenario.Class) bool { return c.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("class weights name %q, and the script's classes are %s", name, strings.Join(scenario.ClassNames(classes), ", "))
		}
		out[i].Weight = over[name]
	}
	return out, nil
}

// classNames are the run's user classes by name (nil: none).
func (r *run) classNames() []string { return scenario.ClassNames(r.classes) }

// classInfos are the run's user classes with the users the live members were asked to run.
func (r *run) classInfos() []ClassInfo {
	var out []ClassInfo
	live := r.live()
	for _, c := range r.classes {
		info := ClassInfo{Name: c.Name, Weight: c.Weight, Tags: slices.Clone(c.Tags)}
		for _, m := range live {
			info.Users += m.classes[c.Name]
		}
		out = append(out, info)
	}
	return out
}

// classShares is each worker's users by class, for shares by worker (nil rows: no classes). The
// split costs O(users × classes), so the last one is kept for as long as the shares stay: a run at
// steady state dispatches every tick.
func (r *run) classShares(shares []int64) []map[string]int64 {
	if len(r.classes) == 0 {
		return make([]map[string]int64, len(shares))
	}
	if r.split != nil && slices.Equal(shares, r.splitFor) {
		return r.split
	}
	out := make([]map[string]int64, len(shares))
	weights := make([]int64, len(r.classes))
	for i, c := range r.classes {
		weights[i] = c.Weight
	}
	for i, row := range SplitClasses(shares, weights) {
		out[i] = make(map[string]int64, len(row))
		for c, n := range row {
			out[i][r.classes[c].Name] = n
		}
	}
	r.splitFor, r.split = slices.Clone(shares), out
	return out
}

// classesRefused says why w cannot run r's user classes ("" if it can): a worker older than
// protocol 2.1 would run the script's default function instead, and the split would be wrong.
func (r *run) classesRefused(w *workerRec) string {
	if len(r.classes) == 0 || w.minor >= classesMinor {
		return ""
	}
	return fmt.Sprintf("worker %s (index %d) speaks protocol %d.%d, and user classes need %d.%d or later: run the same version of stampede-worker as of stampede-master",
		w.id, w.index, protocol.Major, w.minor, protocol.Major, classesMinor)
}

// classesMinor is the protocol minor version that brought user classes.
const classesMinor uint32 = 1
