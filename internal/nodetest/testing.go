//go:build linux

package nodetest

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/stampede-load/stampede/internal/kubetest"
)

// NeedTools returns the node tools named by the environment (see ToolsFromEnv) when the test runs
// as root. Otherwise it skips t, or fails it when STAMPEDE_REQUIRE_NODE=1 (as `make test-node`
// sets).
func NeedTools(t testing.TB) Tools {
	t.Helper()
	tools, err := ToolsFromEnv(os.LookupEnv)
	if err == nil && os.Geteuid() != 0 {
		err = ErrNotRoot
	}
	if err != nil {
		SkipOrFail(t, err)
	}
	return tools
}

// SkipOrFail skips t with err, or fails it when STAMPEDE_REQUIRE_NODE=1.
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	kubetest.SkipOrFailUnless(t, err, RequireEnv, "a node that cannot start is", "a real node: run it as root through `make test-node`")
}

// Start starts a node registered with cp for t (Options.Tools default to NeedTools; the Logger to
// t.Log) and stops it when t ends, failing t if the machine is not left as it was. If t failed,
// the end of the node's logs is logged first. Start the control plane before the node, so that
// the node stops first.
func Start(t testing.TB, cp *kubetest.ControlPlane, opts Options) *Node {
	t.Helper()
	if opts.Tools == (Tools{}) {
		opts.Tools = NeedTools(t)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	n, err := New(context.Background(), cp, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			var b strings.Builder
			n.DumpLogs(&b, 60)
			t.Log(b.String())
		}
		if n.stopped.Load() {
			return // the test stopped it and saw the result
		}
		if err := n.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return n
}

// testWriter sends a logger's lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
