//go:build linux

package kubedemo

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Print writes what the demo showed: the master's verdict and totals, the worker Deployment's
// scale, the HPA's replica steps with their times relative to the load's start, and the target
// pods' own counts against the master's total.
func (r *Result) Print(w io.Writer, o Options) {
	o.defaults()
	s := &r.Summary
	verdict := "passed"
	if r.ExitCode != 0 {
		verdict = "failed"
	}
	fmt.Fprintf(w, "\nJob %s exited %d: the gate %s.\n", r.Job, r.ExitCode, verdict)
	for _, t := range s.Thresholds {
		ok := "ok"
		if !t.OK {
			ok = "FAILED"
		}
		fmt.Fprintf(w, "  threshold %s: %s (observed %g) %s\n", t.Metric, t.Source, t.Observed, ok)
	}

	at := func(t time.Time) string {
		if r.LoadStarted.IsZero() {
			return t.Format(time.TimeOnly)
		}
		return fmt.Sprintf("%+.0fs", t.Sub(r.LoadStarted).Seconds())
	}
	fmt.Fprintf(w, "\nLoad: %d users from %s to %s (%s).\n", s.Users,
		r.LoadStarted.Format(time.TimeOnly), r.LoadEnded.Format(time.TimeOnly), r.LoadEnded.Sub(r.LoadStarted).Round(time.Second))
	scale := make([]string, len(r.WorkerScale))
	for i, n := range r.WorkerScale {
		scale[i] = fmt.Sprint(n)
	}
	fmt.Fprintf(w, "Workers: the master scaled Deployment %s-worker %s; %d pod(s) ready at most.\n",
		o.fullname(), strings.Join(scale, " → "), r.WorkerPodsReady)
	var total uint64
	for _, wr := range s.Workers {
		fmt.Fprintf(w, "  worker %d (%s): %d requests\n", wr.Index, wr.Host, wr.Requests)
		total += wr.Requests
	}
	fmt.Fprintf(w, "  sum over workers %d, master total %d\n", total, s.Totals.Requests)

	fmt.Fprintf(w, "\nHPA %s (target 50%% CPU, 1..%d replicas):\n", o.HPAName(), o.MaxReplicas)
	for _, st := range r.HPA {
		cpu := "  ?"
		if st.CPUUtilization >= 0 {
			cpu = fmt.Sprintf("%3d%%", st.CPUUtilization)
		}
		when := "before the load"
		switch {
		case st.AfterLoadStopped:
			when = "after the load"
		case !r.LoadStarted.IsZero() && !st.At.Before(r.LoadStarted):
			when = "during the load"
		}
		fmt.Fprintf(w, "  %7s  %d replica(s), %d desired, CPU %s  (%s)\n", at(st.At), st.Replicas, st.Desired, cpu, when)
	}
	if r.ScaledDown.IsZero() {
		fmt.Fprintf(w, "  not back at 1 replica within %s of the run's end\n", o.ScaleDownWait)
	} else {
		fmt.Fprintf(w, "  back at 1 replica %s after the load stopped\n", r.ScaledDown.Sub(r.LoadEnded).Round(time.Second))
	}
	if reps, _ := r.HPASeries(o.HPAName()); len(reps) > 0 {
		steps := make([]string, len(reps))
		for i, v := range reps {
			steps[i] = fmt.Sprintf("%g", v)
		}
		fmt.Fprintf(w, "  in Stampede's series: hpa_replicas %s\n", strings.Join(steps, " → "))
	}

	fmt.Fprintf(w, "\nTarget pods' own counts (%d pod(s) ready at most during the load):\n", r.TargetPodsReady)
	names := make([]string, 0, len(r.TargetCounts))
	for n := range r.TargetCounts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %s: %d\n", n, r.TargetCounts[n])
	}
	fmt.Fprintf(w, "  sum %d, master total %d", r.TargetTotal(), s.Totals.Requests)
	if uint64(r.TargetTotal()) == s.Totals.Requests && len(r.TargetGone) == 0 {
		fmt.Fprintln(w, ": equal")
	} else {
		fmt.Fprintf(w, ": DIFFERENT (target pods gone during the run: %v)\n", r.TargetGone)
	}
}

// HPASeries is the run's hpa_replicas{hpa:NAME} values, each change in order, and the
// hpa_cpu_utilization values it recorded.
func (r *Result) HPASeries(hpa string) (replicas []float64, cpu []float64) {
	last := -1.0
	for _, p := range r.Summary.Series {
		if v, ok := p.Extra["hpa_replicas{hpa:"+hpa+"}"]; ok && v != last {
			replicas = append(replicas, v)
			last = v
		}
		if v, ok := p.Extra["hpa_cpu_utilization{hpa:"+hpa+"}"]; ok {
			cpu = append(cpu, v)
		}
	}
	return replicas, cpu
}
