package k6run

import (
	"context"
	"errors"

	"go.k6.io/k6/js/modules"
)

// moduleName is the JS module through which a swarm script asks which user class to run:
//
//	import stampede from 'k6/x/stampede';
//	const classes = { browse, buy };
//	export default function () { classes[stampede.userClass()](); }
//
// It is registered in every binary that links this package, so the master's `k6 archive` and
// `k6 inspect` resolve it as the worker's `k6 run` does.
const moduleName = "k6/x/stampede"

// childClasses is the user-class table of this process. It is process-wide because k6's module and
// output registries are: the "stampede" output fills it (from classesEnv, then the liveness pipe)
// and every VU's module instance reads it. A k6 child runs one test, so one table is enough; in
// any other process it stays empty.
var childClasses = newClassTable()

func init() {
	modules.Register(moduleName, classModule{table: childClasses})
}

// errNoClasses is userClass in a child that was given no classes, e.g. under a plain `k6 run`.
var errNoClasses = errors.New("stampede.userClass(): this run has no user classes " +
	"(they come from the Stampede worker; under a plain k6 run there are none)")

// errInitContext is userClass called outside of an iteration.
var errInitContext = errors.New("stampede.userClass() can only be called in a VU's iteration, not in the init context")

type classModule struct{ table *classTable }

var (
	_ modules.Module   = classModule{}
	_ modules.Instance = (*classInstance)(nil)
)

func (m classModule) NewModuleInstance(vu modules.VU) modules.Instance {
	return &classInstance{vu: vu, table: m.table}
}

// classInstance is one VU's module. Its fields are touched only by the VU's own goroutine; the
// seat's release comes from k6's, through the table's lock.
type classInstance struct {
	vu    modules.VU
	table *classTable
	ctx   context.Context // the iteration that seat belongs to
	seat  *seat
}

func (mi *classInstance) Exports() modules.Exports {
	return modules.Exports{Named: map[string]any{
		"userClass":   mi.userClass,
		"classCounts": mi.classCounts,
	}}
}

// userClass returns the class this VU runs now. The VU holds a seat for the iteration, released
// when k6 ends the iteration (its context, vu.Context(), is the iteration's in k6 v1.8.1: ActiveVU.RunOnce
// cancels it on return, also when a deactivation or the end of the test interrupts the iteration).
// The next iteration asks for the class the VU ran last, so a VU keeps its class while the
// targets allow it, and a VU that k6 deactivated holds nothing: its last iteration ended.
func (mi *classInstance) userClass() (string, error) {
	if mi.vu.State() == nil {
		return "", errInitContext
	}
	if ctx := mi.vu.Context(); mi.seat == nil || mi.ctx != ctx {
		last := ""
		if mi.seat != nil {
			// The last iteration has ended, but AfterFunc's release runs on a goroutine of
			// its own and may not have yet: release here, so the VU never holds two seats.
			mi.table.release(mi.seat)
			last = mi.seat.class
		}
		s := &seat{last: last}
		mi.seat, mi.ctx = s, ctx
		context.AfterFunc(ctx, func() { mi.table.release(s) })
	}
	class := mi.table.pick(mi.seat)
	if class == "" {
		return "", errNoClasses
	}
	return class, nil
}

// classCounts returns the active VUs per class in this child, as the module sees them.
func (mi *classInstance) classCounts() map[string]int64 { return mi.table.counts() }
