package master

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stampede-load/stampede/scenario"
)

// Inspector loads a script with k6 the way a run would and returns its consolidated options.
// Errors wrap ErrScriptError, ErrModuleNotFound or ErrInvalidOptions with a message that names the
// file and line where k6 does.
type Inspector interface {
	Inspect(ctx context.Context, dir, entry string, env map[string]string) (*scenario.Options, error)
}

// prepare reads the script and the local files it needs and validates it with k6, before any load.
func (c *Coordinator) prepare(ctx context.Context, cfg RunConfig) (*scenario.Bundle, *scenario.Options, error) {
	if _, err := os.Stat(cfg.Script); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrScriptNotFound, err)
	}
	bundle, err := scenario.LoadBundleLimits(cfg.Script, c.opts.BundleLimits)
	if errors.Is(err, scenario.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: %w", ErrModuleNotFound, err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrScriptError, err)
	}
	dir, err := os.MkdirTemp(c.opts.WorkDir, "inspect-")
	if err != nil {
		return nil, nil, fmt.Errorf("master: %w", err)
	}
	defer os.RemoveAll(dir)
	entry, err := bundle.Write(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrScriptError, err)
	}
	ictx, cancel := context.WithTimeout(ctx, c.opts.InitTimeout)
	defer cancel()
	opts, err := c.opts.Inspector.Inspect(ictx, dir, entry, cfg.Env)
	switch {
	case err != nil && ctx.Err() != nil:
		// Stopped (Ctrl+C, SIGTERM, a stop from the API) while k6 loaded the script: not its fault.
		return nil, nil, ErrInterrupted
	case err != nil && ictx.Err() != nil:
		return nil, nil, fmt.Errorf("%w: %s: the script's init code did not finish within %s (a loop that never ends at the top level of the script or a module?); if it is only slow, raise --init-timeout",
			ErrScriptError, cfg.Script, c.opts.InitTimeout)
	}
	if err != nil {
		// k6 saw the copy in dir; name the user's files instead.
		userRoot := strings.TrimSuffix(filepath.ToSlash(cfg.Script), bundle.Entry)
		return nil, nil, &pathError{err: err, from: filepath.ToSlash(dir) + "/", to: userRoot}
	}
	if cfg.Users <= 0 && !opts.HasScenarios {
		c.log.Warn("the script declares no scenarios, so k6 runs 1 user for 1 iteration; pass --users for a swarm run")
	}
	return bundle, opts, nil
}

// pathError rewrites the paths in err's message, keeping err matchable.
type pathError struct {
	err      error
	from, to string
}

func (e *pathError) Error() string { return strings.ReplaceAll(e.err.Error(), e.from, e.to) }
func (e *pathError) Unwrap() error { return e.err }
