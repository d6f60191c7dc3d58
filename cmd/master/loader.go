package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/scenario"
)

// loader makes archives and validates them with the embedded k6 (`stampede-master k6 archive`,
// `stampede-master k6 inspect`).
type loader struct{ exe string }

var _ master.Loader = loader{}

func (l loader) Archive(ctx context.Context, script, out string, env map[string]string) error {
	// k6 resolves the script as a user's k6 would, from where the master runs; its HOME is a
	// directory of the run's own, beside the archive.
	cwd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("master: %w", err)
	}
	home, err := os.MkdirTemp(filepath.Dir(out), "k6-home-")
	if err != nil {
		return fmt.Errorf("master: %w", err)
	}
	defer os.RemoveAll(home)
	return k6Error(k6run.Archive(ctx, k6run.ArchiveOptions{Exe: l.exe, Dir: cwd, Home: home, Entry: script, Out: out, Env: env}))
}

func (l loader) Inspect(ctx context.Context, dir, path string, env map[string]string) (*scenario.Options, error) {
	out, err := k6run.Inspect(ctx, k6run.InspectOptions{Exe: l.exe, Dir: dir, Entry: path, Env: env})
	if err != nil {
		return nil, k6Error(err)
	}
	opts, err := scenario.ParseInspect(out)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", master.ErrInvalidOptions, err)
	}
	return opts, nil
}

// k6Error maps k6run's error kinds to the master's.
func k6Error(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, k6run.ErrModuleNotFound):
		return fmt.Errorf("%w: %w", master.ErrModuleNotFound, err)
	case errors.Is(err, k6run.ErrInvalidOptions):
		return fmt.Errorf("%w: %w", master.ErrInvalidOptions, err)
	default:
		return fmt.Errorf("%w: %w", master.ErrScriptError, err)
	}
}
