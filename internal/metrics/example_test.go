package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/metrics"
	"github.com/stampede-load/stampede/scenario"
)

type noLoader struct{}

func (noLoader) Archive(context.Context, string, string, map[string]string) error {
	return errors.New("not used")
}

func (noLoader) Inspect(context.Context, string, string, map[string]string) (*scenario.Options, error) {
	return nil, errors.New("no scripts in this example")
}

// Serving the master's metrics: one registry for the runtime's collectors, this package's and any
// other part's, served with promhttp.
func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	core, err := master.New(master.Options{Loader: noLoader{}, WorkDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := metrics.Register(reg, core); err != nil {
		panic(err)
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for line := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(line, "stampede_run_state") || strings.HasPrefix(line, "stampede_users") {
			fmt.Println(line)
		}
	}
	// Output:
	// stampede_run_state{state="idle"} 1
	// stampede_run_state{state="preparing"} 0
	// stampede_run_state{state="running"} 0
	// stampede_run_state{state="stopped"} 0
	// stampede_run_state{state="stopping"} 0
	// stampede_users 0
	// stampede_users_target 0
}
