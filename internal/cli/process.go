package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Process is what a command takes from its process: main fills it from package os, tests with
// their own values, so that only main touches the process.
type Process struct {
	Args           []string // the command line, without the program's name
	Stdout, Stderr io.Writer
	Environ        []string               // KEY=VALUE, as os.Environ
	Executable     func() (string, error) // as os.Executable
}

// LookupEnv is os.LookupEnv on p.Environ.
func (p Process) LookupEnv(key string) (string, bool) {
	for _, kv := range p.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// Run is a command's whole life once main has its process: parse reads the command line, serve
// does what it asks (until ctx ends, for a command that serves), and Exit turns the outcome into
// the exit code, with code.
func Run[C any](ctx context.Context, p Process, name string, parse func(Process) (C, error),
	serve func(context.Context, C, Process) error, code func(error) int) int {
	cfg, err := parse(p)
	if err == nil {
		err = serve(ctx, cfg, p)
	}
	return Exit(p.Stderr, name, err, code)
}

// Closers are what a command undoes when it ends: Close calls the functions OnClose registered,
// the last first, as deferred calls would. Not safe for concurrent use.
type Closers struct{ fs []func() }

// OnClose has Close call f.
func (c *Closers) OnClose(f func()) { c.fs = append(c.fs, f) }

// Close calls the registered functions in reverse order, once each.
func (c *Closers) Close() {
	for i := len(c.fs) - 1; i >= 0; i-- {
		c.fs[i]()
	}
	c.fs = nil
}

// Parse parses args into fs, then sets each flag they did not give from its STAMPEDE_<FLAG>
// variable (ApplyEnv, with lookup). Commands take no positional arguments: one is an error, and
// hint says where its value goes instead. Its errors are UsageErrors, but for flag.ErrHelp.
func Parse(fs *flag.FlagSet, args []string, lookup func(string) (string, bool), hint string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return err
	case err == nil:
		err = ApplyEnv(fs, lookup)
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q (%s)", fs.Arg(0), hint)
	}
	if err != nil {
		return UsageError{Err: err}
	}
	return nil
}

// K6Program is the program a command's k6 children run: k6Binary (its --k6-binary) when given,
// else this binary, as executable (os.Executable) names it.
func K6Program(k6Binary string, executable func() (string, error)) (string, error) {
	if k6Binary != "" {
		return k6Binary, nil
	}
	exe, err := executable()
	if err != nil {
		return "", fmt.Errorf("cannot find my own binary (name it with --k6-binary): %w", err)
	}
	return exe, nil
}

// WorkDir is a command's work directory: dir (its --work-dir) when given, else a new temporary
// directory named after pattern (as os.MkdirTemp), which c's Close removes.
func WorkDir(dir, pattern string, c *Closers) (string, error) {
	if dir != "" {
		return dir, nil
	}
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", fmt.Errorf("cannot create a work directory: %w", err)
	}
	c.OnClose(func() { _ = os.RemoveAll(dir) })
	return dir, nil
}

// UsageError is a bad command line or environment, or a flag that names something unusable (an
// address in use, a file that cannot be written): commands exit 2 with it.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Exit is how a command named name ends with err: it says err, if any, on stderr as "name: err",
// and returns code(err), the exit code. flag.ErrHelp, the answer to -h, is exit code 0 and says
// nothing more: the usage is out.
func Exit(stderr io.Writer, name string, err error, code func(error) int) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, name+":", err)
	}
	return code(err)
}
