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
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%v\n(%s=1: missing Kubernetes test tools are a failure, not a skip)", err, RequireEnv)
	}
	t.Skipf("%v\n(this test needs a real control plane: run it through `make test`)", err)
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
