package native

import (
	"os"
	"testing"

	"github.com/stampede-load/stampede/internal/k6run"
)

// TestMain lets the test binary run as k6 (`<binary> k6 run ...`), as the worker's binary does,
// so tests compare the engine with real k6 without a k6 on the PATH.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == k6run.Subcommand {
		k6run.Exec(os.Args[2:])
	}
	os.Exit(m.Run())
}
