//go:build linux

package kubetest_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/kubetest"
)

// One control plane for the package: starting one costs several seconds, and every test works in
// namespaces of its own.
var shared struct {
	once   sync.Once
	cp     *kubetest.ControlPlane
	err    error
	failed atomic.Bool // a test using it failed: dump the logs at the end
}

// cluster returns the package's control plane, starting it on first use. It skips or fails t as
// kubetest.NeedTools does when the tools are missing.
func cluster(t *testing.T) *kubetest.ControlPlane {
	t.Helper()
	tools := kubetest.NeedTools(t)
	shared.once.Do(func() {
		start := time.Now()
		shared.cp, shared.err = kubetest.New(context.Background(), kubetest.Options{Tools: tools, Nodes: 2})
		if shared.err == nil {
			fmt.Fprintf(os.Stderr, "kubetest: control plane up in %s (%s)\n", time.Since(start).Round(time.Millisecond), shared.cp.Dir)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			shared.failed.Store(true)
		}
	})
	return shared.cp
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cp != nil {
		if code != 0 || shared.failed.Load() {
			shared.cp.DumpLogs(os.Stderr, 60)
		}
		shared.cp.Stop()
	}
	os.Exit(code)
}
