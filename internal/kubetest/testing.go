//go:build linux

package kubetest

import (
	"context"
	"os"
	"strings"
	"testing"
)

// NeedTools returns the tools named by the environment (see ToolsFromEnv). When they are not
// configured it skips t, or fails it when STAMPEDE_REQUIRE_K8S=1 (as `make test` sets).
func NeedTools(t testing.TB) Tools {
	t.Helper()
	tools, err := ToolsFromEnv(os.LookupEnv)
	if err != nil {
		SkipOrFail(t, err)
	}
	return tools
}

// SkipOrFail skips t with err, or fails it when STAMPEDE_REQUIRE_K8S=1.
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	SkipOrFailUnless(t, err, RequireEnv, "missing Kubernetes test tools are", "a real control plane: run it through `make test`")
}

// SkipOrFailUnless skips t with err, saying that the test needs what needs; or fails it, saying
// that what is a failure, when the environment variable require is "1".
func SkipOrFailUnless(t testing.TB, err error, require, what, needs string) {
	t.Helper()
	if os.Getenv(require) == "1" {
		t.Fatalf("%v\n(%s=1: %s a failure, not a skip)", err, require, what)
	}
	t.Skipf("%v\n(this test needs %s)", err, needs)
}

// Start starts a control plane for t (Options.Tools default to NeedTools) and stops it when t
// ends, first logging the end of each component's log if t failed.
func Start(t testing.TB, opts Options) *ControlPlane {
	t.Helper()
	if opts.Tools == (Tools{}) {
		opts.Tools = NeedTools(t)
	}
	cp, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			var b strings.Builder
			cp.DumpLogs(&b, 40)
			t.Log(b.String())
		}
		cp.Stop()
	})
	return cp
}
