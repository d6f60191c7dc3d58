package master

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stampede-load/stampede/scenario"
	"github.com/stampede-load/stampede/scenario/flow"
)

// A flow (scenario/flow) is a declarative scenario the workers' native engine runs. The master
// reads and checks it itself, with no k6: the file and its data sets are parsed and loaded within
// their limits, and what a run needs of it comes from flow.Options, in the shape k6 inspect gives
// for a script. Its bundle is the file, under its own name, and each data file at its path
// relative to the file; a worker tells a flow's bundle from a k6 archive by its entry
// (flow.IsFlow).

// flowHead is how much of a file isFlow reads.
const flowHead = 4 << 10

// isFlow reports whether the file at path is a flow rather than a k6 script or archive.
func isFlow(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, flowHead)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	return flow.IsFlow(head[:n]), nil
}

// prepareFlow makes the bundle and options of the flow at cfg.Script.
func (c *Coordinator) prepareFlow(cfg RunConfig) (*scenario.Bundle, *scenario.Options, error) {
	src, err := readFlow(cfg.Script)
	if err != nil {
		return nil, nil, err
	}
	name := filepath.Base(cfg.Script)
	s, err := flow.Parse(name, src)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	dir := filepath.Dir(cfg.Script)
	if _, err := s.LoadData(os.DirFS(dir)); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	if _, err := s.LoadCA(os.DirFS(dir)); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	var missing []string
	for _, k := range s.RequiredEnv {
		if _, ok := cfg.Env[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("%w: %s reads ${__ENV.%s} without a default: give it with -e %s=...",
			ErrBadSettings, name, strings.Join(missing, "}, ${__ENV."), missing[0])
	}
	opts, err := s.Options()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	if cfg.Users <= 0 && !opts.HasScenarios && (opts.Swarm == nil || len(opts.Swarm.Shape) == 0) {
		return nil, nil, fmt.Errorf("%w: %s has no scenarios and no shape: give users (--users) to run its classes as a swarm",
			ErrBadSettings, name)
	}
	b := &scenario.Bundle{Entry: name, Files: map[string][]byte{name: src}}
	for _, f := range s.Files() { // data files and the TLS CA
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrScriptError, err)
		}
		b.Files[path.Clean(f)] = data
	}
	if err := checkBundle(b, c.opts.BundleLimits); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w (--max-bundle-files and --max-bundle-bytes set the limits: docs/limits.md)", ErrScriptError, name, err)
	}
	return b, opts, nil
}

// readFlow reads a flow file, refusing one over flow.MaxFileBytes before reading it whole.
func readFlow(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrScriptNotFound, err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, flow.MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrScriptError, err)
	}
	if len(src) > flow.MaxFileBytes {
		return nil, fmt.Errorf("%w: %s is over %s, the most a scenario file may be", ErrInvalidOptions, path, scenario.FormatBytes(flow.MaxFileBytes))
	}
	return src, nil
}

// checkBundle holds b to the master's bundle limits, naming the biggest files when it is over.
func checkBundle(b *scenario.Bundle, l scenario.Limits) error {
	if err := b.Validate(); err != nil {
		return err
	}
	var total int64
	names := make([]string, 0, len(b.Files))
	for name, data := range b.Files {
		total += int64(len(data))
		names = append(names, name)
	}
	slices.SortFunc(names, func(x, y string) int { return len(b.Files[y]) - len(b.Files[x]) })
	switch {
	case len(b.Files) > l.Files:
		return fmt.Errorf("%w: %d files, the limit is %d", scenario.ErrTooLarge, len(b.Files), l.Files)
	case total > l.Bytes:
		return fmt.Errorf("%w: %s in all, the limit is %s; the biggest: %s", scenario.ErrTooLarge,
			scenario.FormatBytes(total), scenario.FormatBytes(l.Bytes), strings.Join(names[:min(3, len(names))], ", "))
	}
	return nil
}
