// Package clitest helps test Stampede's commands in-process, given a cli.Process as their main
// would give them. An Output is safe for concurrent writes; CaptureProcessStderr changes the
// process's os.Stderr, so a test that calls it must not run in parallel with others.
package clitest

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stampede-load/stampede/internal/cli"
)

// Output is a buffer the command's goroutines may write to at once, as they may to os.Stderr.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// LastLine is the last line written.
func (o *Output) LastLine() string {
	lines := strings.Split(strings.TrimSpace(o.String()), "\n")
	return lines[len(lines)-1]
}

// Want returns the message when ok is false: a check's answer, "" when nothing is wrong.
func Want(ok bool, format string, args ...any) string {
	if ok {
		return ""
	}
	return fmt.Sprintf(format, args...)
}

// CheckParse parses args and environ with parse, and fails t if parse fails or writes to stderr,
// or if check says what is wrong with the result.
func CheckParse[C any](t *testing.T, parse func(cli.Process) (C, error), args, environ []string, check func(C) string) {
	t.Helper()
	var stderr Output
	c, err := parse(cli.Process{Args: args, Stderr: &stderr, Environ: environ})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if msg := check(c); msg != "" {
		t.Error(msg)
	}
	if s := stderr.String(); s != "" {
		t.Errorf("parse wrote to stderr: %s", s)
	}
}

// CheckUsage checks a command's answer to -h: exit code 0, nothing on stdout, and on stderr the
// usage of the command name listing each of flags ("-master string"), and no error.
func CheckUsage(t *testing.T, name string, code int, stdout, stderr string, flags ...string) {
	t.Helper()
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if !strings.HasPrefix(stderr, "Usage of "+name+":\n") {
		t.Errorf("usage starts with %.40q, want the command's name", stderr)
	}
	for _, flag := range flags {
		if !strings.Contains(stderr, "\n  "+flag+"\n") {
			t.Errorf("the usage does not list %q", flag)
		}
	}
	if strings.Contains(stderr, name+": ") || stdout != "" {
		t.Errorf("help is not an error and goes to stderr alone; stdout %q, stderr %q", stdout, stderr)
	}
}

// CaptureProcessStderr points os.Stderr and the log package at a file until the test ends, and
// returns what they received so far.
func CaptureProcessStderr(t *testing.T) func() string {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	saved, savedLog := os.Stderr, log.Writer()
	os.Stderr = f
	log.SetOutput(f)
	t.Cleanup(func() {
		os.Stderr = saved
		log.SetOutput(savedLog)
		_ = f.Close()
	})
	return func() string {
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}
