package main

import (
	"flag"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/allowlist"
	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/rpc"
	"github.com/stampede-load/stampede/internal/worker"
)

// config is the command line, checked: parse makes it.
type config struct {
	masterAddr    string
	workDir       string
	masterTimeout time.Duration
	logLevel      string
	metricsListen string
	metricsChosen bool // --metrics-listen was given, on the command line or in the environment
	allowHosts    string
	logRate       int
	k6Binary      string
	version       bool
	sec           securityConfig

	// What validate derives from the flags.
	allow    *allowlist.List
	dialOpts []rpc.DialOption
}

// parse reads the command line and, for each flag not on it, its STAMPEDE_<FLAG> variable, and
// validates the result. Usage and the flag package's errors go to p.Stderr.
func parse(p cli.Process) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("stampede-worker", flag.ContinueOnError)
	fs.SetOutput(p.Stderr)
	c.flags(fs)
	if err := cli.Parse(fs, p.Args, p.LookupEnv, "the master's address goes after --master"); err != nil {
		return nil, err
	}
	c.metricsChosen = isSet(fs, "metrics-listen")
	if err := c.validate(); err != nil {
		return nil, cli.UsageError{Err: err}
	}
	return c, nil
}

func (c *config) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.masterAddr, "master", "127.0.0.1:5557", "the master's worker address (host:port)")
	fs.StringVar(&c.workDir, "work-dir", "", "directory for run files (default: a new temporary directory)")
	fs.DurationVar(&c.masterTimeout, "master-timeout", 6*time.Second, "stop the load when the master is silent this long")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.metricsListen, "metrics-listen", defaultMetricsListen,
		`address of /metrics, /healthz and /readyz ("" to turn them off)`)
	fs.StringVar(&c.allowHosts, "allow-hosts", "",
		"comma-separated targets k6 may reach: IPs, CIDRs, hostnames (resolved per run); empty allows any (docs/limits.md)")
	fs.IntVar(&c.logRate, "log-rate", worker.DefaultLogRate,
		"script log lines per second this worker forwards; the rest are counted and replaced by a marker line")
	fs.StringVar(&c.k6Binary, "k6-binary", "", "the program each k6 child runs: it is called with \"k6 run ...\" "+
		"(default: this binary; a script that runs this binary under an emulator such as qemu-aarch64-static, or under nice or taskset, works too)")
	fs.BoolVar(&c.version, "version", false, "print the version and exit")
	c.sec.flags(fs)
}

// validate checks the flags and reads the files they name.
func (c *config) validate() error {
	if c.version {
		return nil
	}
	// A malformed address never works: retrying it forever would only hide the mistake.
	if _, port, err := net.SplitHostPort(c.masterAddr); err != nil || port == "" {
		return fmt.Errorf("--master %q: want host:port", c.masterAddr)
	}
	var err error
	if c.allow, err = allowlist.Parse(strings.Split(c.allowHosts, ",")); err != nil {
		return fmt.Errorf("--allow-hosts: %w", err)
	}
	c.dialOpts, err = c.sec.dialOptions()
	return err
}

// isSet reports whether the flag name was given, on the command line or in the environment.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
