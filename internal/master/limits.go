package master

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/stampede-load/stampede/scenario"
)

// Run-size limits (docs/limits.md). A run over one is refused before any load with ErrBadSettings
// and a message that names the limit, instead of failing on the workers in a way that hides why.
const (
	// DefaultMaxUsers is Options.MaxUsers' default: the most users (VUs) a run may have, fleet-wide.
	DefaultMaxUsers = 1_000_000
	// DefaultMaxWorkerVUs is Options.MaxWorkerVUs' default: the most VUs one worker's k6 child may
	// run. Each VU is a JavaScript runtime of one to several MB, so a share far above this is a k6
	// child that dies of memory while it initialises, reported as a script that cannot load.
	DefaultMaxWorkerVUs = 100_000
	// MaxEnvEntryBytes bounds one KEY=VALUE of a run's environment. Each reaches every k6 child as
	// one command-line argument (--env KEY=VALUE), and Linux refuses an argument over 128 KiB
	// (MAX_ARG_STRLEN) with "argument list too long".
	MaxEnvEntryBytes = 64 << 10
	// MaxEnvBytes bounds them all together: arguments and environment share ARG_MAX (2 MiB with the
	// default 8 MiB stack), and the child's other arguments need room too.
	MaxEnvBytes = 512 << 10
)

// checkLimits refuses a run whose settings are over a limit. Script mode's VUs are known only once
// k6 has inspected the script: see checkScript.
func (c *Coordinator) checkLimits(cfg RunConfig) error {
	if cfg.Users <= 0 {
		return nil
	}
	return c.checkUsers(cfg.Users, c.plannedWorkers(cfg))
}

// checkScript refuses a script-mode run whose scenarios, as k6 inspected them, need more VUs than
// the limits allow. Call it once the script is inspected, before the fleet is scaled.
func (c *Coordinator) checkScript(cfg RunConfig, opts *scenario.Options) error {
	if cfg.Users > 0 || opts == nil {
		return nil
	}
	return c.checkScriptVUs(int64(opts.MaxVUs), c.plannedWorkers(cfg))
}

// plannedWorkers is how many workers cfg's run will have at least. It waits for ExpectWorkers (or
// Workers) and takes every worker connected then, so a share computed over this many is the most a
// worker gets; more workers joining only lower it.
func (c *Coordinator) plannedWorkers(cfg RunConfig) int {
	return max(len(c.connected()), cfg.ExpectWorkers, cfg.Workers)
}

// checkUsers refuses users over Options.MaxUsers, or a share per worker (of workers) over
// Options.MaxWorkerVUs.
func (c *Coordinator) checkUsers(users int64, workers int) error {
	if users > c.opts.MaxUsers {
		return fmt.Errorf("%w: users %d: over this master's limit of %d users (--max-users)", ErrBadSettings, users, c.opts.MaxUsers)
	}
	return c.checkShare("users", users, workers)
}

// checkScriptVUs refuses a script-mode run whose scenarios need more VUs (maxVUs, from k6's
// inspection of the whole test) than the limits allow, split over workers by execution segments.
func (c *Coordinator) checkScriptVUs(maxVUs int64, workers int) error {
	if maxVUs > c.opts.MaxUsers {
		return fmt.Errorf("%w: the script's scenarios need up to %d VUs: over this master's limit of %d users (--max-users)",
			ErrBadSettings, maxVUs, c.opts.MaxUsers)
	}
	return c.checkShare("the script's VUs", maxVUs, workers)
}

func (c *Coordinator) checkShare(what string, vus int64, workers int) error {
	workers = max(workers, 1)
	share := (vus + int64(workers) - 1) / int64(workers)
	if share <= c.opts.MaxWorkerVUs {
		return nil
	}
	return fmt.Errorf("%w: %s (%d) over %d worker(s) are %d VUs per worker, over the limit of %d per worker (--max-worker-vus): "+
		"add workers, or raise --max-worker-vus if each worker has the memory (a VU takes 1 MB or more)",
		ErrBadSettings, what, vus, workers, share, c.opts.MaxWorkerVUs)
}

// checkEnv refuses an environment whose KEY=VALUE arguments k6 children could not be started with.
func checkEnv(env map[string]string) error {
	keys := slices.Sorted(maps.Keys(env))
	total := 0
	for _, k := range keys {
		n := len(k) + 1 + len(env[k])
		if n > MaxEnvEntryBytes {
			return fmt.Errorf("%w: env %s: KEY=VALUE is %s, over the limit of %s for one variable (each reaches k6 as one command-line argument): "+
				"put large data in a file the script open()s", ErrBadSettings, k, scenario.FormatBytes(int64(n)), scenario.FormatBytes(MaxEnvEntryBytes))
		}
		total += n
	}
	if total <= MaxEnvBytes {
		return nil
	}
	slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(len(env[b])+len(b), len(env[a])+len(a)) })
	var big []string
	for _, k := range keys[:min(3, len(keys))] {
		big = append(big, fmt.Sprintf("%s (%s)", k, scenario.FormatBytes(int64(len(k)+1+len(env[k])))))
	}
	return fmt.Errorf("%w: env: %d variables of %s in all, over the limit of %s (they reach k6 as command-line arguments); the biggest: %s: "+
		"put large data in a file the script open()s", ErrBadSettings, len(keys), scenario.FormatBytes(int64(total)),
		scenario.FormatBytes(MaxEnvBytes), strings.Join(big, ", "))
}
