package master

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/stampede-load/stampede/scenario"
)

// Loader is the master's k6: it makes a run's archive and reads the options from it, as k6 would.
// Errors wrap ErrScriptError, ErrModuleNotFound or ErrInvalidOptions with a message that names the
// file and line where k6 does.
type Loader interface {
	// Archive makes a k6 archive of the script at out, as `k6 archive` does: k6 runs the script's
	// init code with env and records every module and file it loads, whatever their paths are
	// computed from, and the consolidated options.
	Archive(ctx context.Context, script, out string, env map[string]string) error
	// Inspect loads the archive at path as a run would and returns its consolidated options.
	Inspect(ctx context.Context, dir, path string, env map[string]string) (*scenario.Options, error)
}

// The workers' engines: k6 runs a k6 script or archive, the native engine a flow.
const (
	EngineK6     = "k6"
	EngineNative = "native"
)

// prepare makes the run's bundle and options before any load: for a flow, from the file itself
// (flow.go); for a k6 script, an archive it makes (or the one the user gave) and validates with k6.
// A flow has no archive.
func (c *Coordinator) prepare(ctx context.Context, cfg RunConfig) (*scenario.Bundle, *scenario.Archive, *scenario.Options, error) {
	if _, err := os.Stat(cfg.Script); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrScriptNotFound, err)
	}
	if ok, err := isFlow(cfg.Script); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrScriptNotFound, err)
	} else if ok {
		b, opts, err := c.prepareFlow(cfg)
		return b, nil, opts, err
	}
	archive, opts, err := c.prepareScript(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return archive.Bundle(), archive, opts, nil
}

// prepareScript makes the run's k6 archive (or takes the one the user gave) and validates it with
// k6.
func (c *Coordinator) prepareScript(ctx context.Context, cfg RunConfig) (*scenario.Archive, *scenario.Options, error) {
	if _, err := os.Stat(cfg.Script); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrScriptNotFound, err)
	}
	dir, err := os.MkdirTemp(c.opts.WorkDir, "prepare-")
	if err != nil {
		return nil, nil, fmt.Errorf("master: %w", err)
	}
	defer os.RemoveAll(dir)
	ictx, cancel := context.WithTimeout(ctx, c.opts.InitTimeout)
	defer cancel()
	k6Err := func(err error) error {
		switch {
		case ctx.Err() != nil:
			// Stopped (Ctrl+C, SIGTERM, a stop from the API) while k6 loaded the script: not its fault.
			return ErrInterrupted
		case ictx.Err() != nil:
			return fmt.Errorf("%w: %s: the script's init code did not finish within %s (a loop that never ends at the top level of the script or a module?); if it is only slow, raise --init-timeout",
				ErrScriptError, cfg.Script, c.opts.InitTimeout)
		}
		return err
	}

	path := cfg.Script
	given, err := isArchive(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrScriptNotFound, err)
	}
	if !given {
		path = filepath.Join(dir, scenario.ArchiveName)
		if err := c.opts.Loader.Archive(ictx, cfg.Script, path, cfg.Env); err != nil {
			return nil, nil, k6Err(err)
		}
	}
	archive, err := readArchive(path, c.opts.BundleLimits)
	if errors.Is(err, scenario.ErrTooLarge) {
		return nil, nil, fmt.Errorf("%w: %s: %w (--max-bundle-files and --max-bundle-bytes set the limits: docs/limits.md)", ErrScriptError, cfg.Script, err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrScriptError, cfg.Script, err)
	}
	opts, err := c.opts.Loader.Inspect(ictx, dir, path, cfg.Env)
	if err != nil {
		return nil, nil, k6Err(err)
	}
	shaped := opts.Swarm != nil && len(opts.Swarm.Shape) > 0
	if cfg.Users <= 0 && !opts.HasScenarios && !shaped {
		c.log.Warn("the script declares no scenarios, so k6 runs 1 user for 1 iteration; pass --users for a swarm run")
	}
	return archive, opts, nil
}

// readArchive reads the archive at path within the limits: a file over the byte limit is refused
// before it is read.
func readArchive(path string, lim scenario.Limits) (*scenario.Archive, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The tar's own overhead (headers, padding, metadata.json) comes on top of the files' bytes.
	ceiling := min(lim.Bytes*2+1<<20, scenario.MaxBundleBytes)
	data, err := io.ReadAll(io.LimitReader(f, ceiling+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > ceiling {
		return nil, fmt.Errorf("%w: the archive is over %s, more than the limit of %s (%d bytes) allows", scenario.ErrTooLarge,
			scenario.FormatBytes(ceiling), scenario.FormatBytes(lim.Bytes), lim.Bytes)
	}
	a, err := scenario.ReadArchive(data)
	if err != nil {
		return nil, err
	}
	if err := a.Check(lim); err != nil {
		return nil, err
	}
	return a, nil
}

// isArchive reports whether the file at path is a k6 archive by k6's own test (detectTestType in
// k6's cmd): it starts with a tar header. internal/k6run tells them apart the same way.
func isArchive(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = tar.NewReader(f).Next()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, tar.ErrHeader), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return false, nil // a script: no tar header, or too short for one
	}
	return false, err
}
