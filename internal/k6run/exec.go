package k6run

import (
	"os"

	k6cmd "go.k6.io/k6/cmd"
)

// Subcommand is the argument that makes a Stampede binary behave as k6: `stampede-worker k6 run ...`.
const Subcommand = "k6"

// Exec runs k6's command line with args (for example "run", "script.js") in this process and exits
// with k6's exit code. It never returns. It is meant for the "k6" subcommand of Stampede's binaries
// and is the one place where Stampede lets a library end the process, because k6 itself does.
func Exec(args []string) {
	os.Args = append([]string{"k6"}, args...)
	k6cmd.Execute()
	os.Exit(0) // Execute exits by itself; this only documents that we never come back.
}

// hardenedEnv is the environment every k6 child gets on top of what the caller passes: k6 must not
// reach the network by itself (usage reports, extension resolution, binary provisioning).
var hardenedEnv = []string{
	"K6_NO_USAGE_REPORT=true",
	"K6_AUTO_EXTENSION_RESOLUTION=false",
	"K6_BINARY_PROVISIONING=false",
}

// childEnv returns the environment for a k6 child: nothing inherited from the worker, the hardening,
// and a HOME inside the run's own directory (k6 looks there for its config; in a cluster the root
// filesystem is read-only). Script values travel as -e flags, so every worker's script sees the same __ENV.
func childEnv(home string) []string {
	return append(append([]string(nil), hardenedEnv...), "HOME="+home)
}
