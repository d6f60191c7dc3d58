package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/stampede-load/stampede/internal/k6run"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/scenario"
)

// inspector validates scripts with the embedded k6 (`stampede-master k6 inspect`).
type inspector struct{ exe string }

var _ master.Inspector = inspector{}

func (i inspector) Inspect(ctx context.Context, dir, entry string, env map[string]string) (*scenario.Options, error) {
	out, err := k6run.Inspect(ctx, k6run.InspectOptions{Exe: i.exe, Dir: dir, Entry: entry, Env: env})
	switch {
	case errors.Is(err, k6run.ErrModuleNotFound):
		return nil, fmt.Errorf("%w: %w", master.ErrModuleNotFound, err)
	case errors.Is(err, k6run.ErrInvalidOptions):
		return nil, fmt.Errorf("%w: %w", master.ErrInvalidOptions, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", master.ErrScriptError, err)
	}
	opts, err := scenario.ParseInspect(out)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", master.ErrInvalidOptions, err)
	}
	return opts, nil
}
