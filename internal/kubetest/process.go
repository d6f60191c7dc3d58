//go:build linux

package kubetest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Command is a process for StartProcess to start.
type Command struct {
	Name string // the component's name in errors and DumpLogs
	Path string
	Args []string
	// Env is added to the test's environment (minus KUBECONFIG, which would point a component at
	// another cluster).
	Env []string
	// LogFile receives stdout and stderr.
	LogFile string
}

// Process is one component running in its own process group, its output in a log file. Its
// methods are safe for concurrent use.
type Process struct {
	Name    string
	LogFile string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	err     error         // its exit status, valid once done is closed
}

// StartProcess starts c. The process is killed with the test binary if that dies without
// stopping it.
func StartProcess(c Command) (*Process, error) {
	log, err := os.Create(c.LogFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(childEnv(), c.Env...)
	// Its own process group, so that Stop reaches anything it starts.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("kubetest: start %s: %w", c.Name, err)
	}
	p := &Process{Name: c.Name, cmd: cmd, LogFile: c.LogFile, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	return p, nil
}

// childEnv is the test's environment without what would point a component at another cluster.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "KUBECONFIG=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Pid is the process's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited returns an error describing the exit if the process has ended, nil while it runs.
func (p *Process) Exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("kubetest: %s exited: %v; last lines of %s:\n%s", p.Name, p.err, p.LogFile, p.Tail(30))
	default:
		return nil
	}
}

// Stop sends SIGTERM to the process group and SIGKILL after grace, and returns once the process
// has exited.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	pgid := -p.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-p.done
	}
}

// Tail returns the last n lines of the log.
func (p *Process) Tail(n int) string {
	b, err := os.ReadFile(p.LogFile)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// WaitFor polls cond every 100 ms until it returns true, ctx ends, or one of procs exits. The error
// says what was awaited, cond's last error, and the end of an exited component's log.
func WaitFor(ctx context.Context, what string, procs []*Process, cond func(context.Context) (bool, error)) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		for _, p := range procs {
			if err := p.Exited(); err != nil {
				return fmt.Errorf("waiting for %s: %w", what, err)
			}
		}
		ok, err := cond(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last: %v)", what, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// FreePort returns a TCP port on host (an IP address) that nobody listened on a moment ago.
// Another process may take it before the component binds it; the component then fails to start
// and says so in its log.
func FreePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func freePort() (int, error) { return FreePort("127.0.0.1") }
