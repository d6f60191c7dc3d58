package k6run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
)

// Errors Inspect returns, matchable with errors.Is. The wrapped message is k6's own, cleaned up,
// naming the file and line where k6 does.
var (
	ErrScriptSyntax   = errors.New("script error")
	ErrModuleNotFound = errors.New("module not found")
	ErrInvalidOptions = errors.New("invalid options")
)

// InspectOptions describe one `k6 inspect --execution-requirements` call.
type InspectOptions struct {
	Exe   string
	Dir   string // working directory and HOME of the child
	Entry string
	Env   map[string]string
}

// Inspect loads the script with k6, as a run would, and returns the consolidated and validated
// options as JSON, with "totalDuration" and "maxVUs". No VU runs and no request is made.
func Inspect(ctx context.Context, opts InspectOptions) ([]byte, error) {
	args := []string{"inspect", "--execution-requirements",
		"--include-system-env-vars=false", "--log-format", "json", "--no-color"}
	var stdout bytes.Buffer
	if err := runK6(ctx, opts.Exe, opts.Dir, opts.Dir, append(envArgs(args, opts.Env), opts.Entry), &stdout); err != nil {
		return nil, err
	}
	return stdout.Bytes(), nil
}

// runK6 runs `exe k6 ARGS...` in dir with HOME home, its output to stdout (nil: discarded). A k6
// that fails is classified (ErrScriptSyntax, ErrModuleNotFound, ErrInvalidOptions) from its log.
func runK6(ctx context.Context, exe, dir, home string, args []string, stdout io.Writer) error {
	cmd := Command(ctx, exe, args...)
	cmd.Dir = dir
	cmd.Env = childEnv(home)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("running k6 %s: %w", args[0], err)
	}
	return classify(ee.ExitCode(), lastError(stderr.Bytes()))
}

// Command is `exe k6 ARGS...` as a child tied to this process as a run's children are (sysProcAttr):
// on Linux the kernel kills it when this process dies, even of SIGKILL, so a script whose init code
// never ends cannot outlive the master; ctx's end kills it too.
func Command(ctx context.Context, exe string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, exe, append([]string{Subcommand}, args...)...)
	cmd.SysProcAttr = sysProcAttr()
	return cmd
}

// envArgs appends an --env flag for each of env to args.
func envArgs(args []string, env map[string]string) []string {
	for k, v := range env {
		args = append(args, "--env", k+"="+v)
	}
	return args
}

// lastError returns the most useful error text from k6's JSON log lines.
func lastError(stderr []byte) string {
	var msg string
	for _, line := range bytes.Split(stderr, []byte("\n")) {
		var l k6Log
		if json.Unmarshal(line, &l) != nil {
			if s := strings.TrimSpace(string(line)); s != "" {
				msg = s
			}
			continue
		}
		if l.Level != "error" && l.Level != "fatal" {
			continue
		}
		msg = l.Msg
		if l.Error != "" {
			msg = l.Error
		}
	}
	return msg
}

// InspectError is a script k6 refused. Its message is k6's, tidied to name file:line:column the way
// compilers do; errors.Is matches its Kind (ErrScriptSyntax, ErrModuleNotFound, ErrInvalidOptions).
type InspectError struct {
	Kind error
	Msg  string
}

func (e *InspectError) Error() string { return e.Msg }
func (e *InspectError) Unwrap() error { return e.Kind }

var (
	// k6 names local files as file:///abs/path; users think in paths.
	fileURL = regexp.MustCompile(`file://`)
	// "... at /x/y.js:3:10(5)": the program counter in brackets is noise for users.
	pcSuffix = regexp.MustCompile(`(:\d+:\d+)\(\d+\)`)
	// k6 wraps parse errors twice: "could not initialize 'x': could not load JS test 'x': ".
	wrappers = regexp.MustCompile(`could not (initialize|load JS test) '[^']*': `)
	// "/x/y.js: Line 6:18 Unexpected token" -> "/x/y.js:6:18: Unexpected token".
	lineCol = regexp.MustCompile(`(\S+): Line (\d+):(\d+) `)
)

func classify(code int, msg string) error {
	msg = fileURL.ReplaceAllString(msg, "")
	msg = pcSuffix.ReplaceAllString(msg, "$1")
	msg = wrappers.ReplaceAllString(msg, "")
	msg = lineCol.ReplaceAllString(msg, "$1:$2:$3: ")
	if msg == "" {
		msg = fmt.Sprintf("k6 inspect exited with code %d", code)
	}
	if strings.Contains(msg, "function 'default' not found in exports") {
		msg += " (k6 needs a default function in a script without scenarios; a swarm of user classes never runs it, " +
			"so `export default function () {}` will do: docs/locust.md)"
	}
	kind := ErrScriptSyntax
	switch {
	case strings.Contains(msg, "couldn't be found on local disk") || strings.Contains(msg, "no such file or directory"):
		kind = ErrModuleNotFound
	case code == ExitInvalidConfig:
		kind = ErrInvalidOptions
	}
	return &InspectError{Kind: kind, Msg: msg}
}
