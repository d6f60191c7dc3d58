package k6run

import "context"

// ArchiveOptions describe one `k6 archive` call.
type ArchiveOptions struct {
	Exe   string
	Dir   string // working directory: where the user runs the master
	Home  string // HOME of the child: a directory of the run's own
	Entry string // the script, as the user named it (relative to Dir, or absolute)
	Out   string // where the archive goes
	Env   map[string]string
}

// Archive makes a k6 archive of the script, as `k6 archive` does: k6 runs the script's init code
// with the environment given (and none of the process's) and records every module and file it
// loaded, and the consolidated options. Errors are Inspect's.
func Archive(ctx context.Context, opts ArchiveOptions) error {
	args := []string{"archive", "--include-system-env-vars=false", "--log-format", "json", "--no-color", "--quiet", "-O", opts.Out}
	return runK6(ctx, opts.Exe, opts.Dir, opts.Home, append(envArgs(args, opts.Env), opts.Entry), nil)
}
