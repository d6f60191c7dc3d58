package k6run

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stampede-load/stampede/internal/stats"
)

// TestMain lets the test binary be the k6 child, as the worker's binary is: `<test binary> k6 run ...`,
// and the child of TestPassFiles.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == Subcommand {
		Exec(os.Args[2:])
	}
	if len(os.Args) > 2 && os.Args[1] == echoFilesCommand {
		os.Exit(echoFiles(os.Args[2]))
	}
	os.Exit(m.Run())
}

const submetricScript = `
import http from 'k6/http';
import { check, group } from 'k6';

export const options = { vus: 1, iterations: 3 };

export default function () {
	http.get(__ENV.TARGET + '/login', { tags: { name: 'login' } });
	http.get(__ENV.TARGET + '/fail', { tags: { name: 'home' } });
	group('api', () => {
		check(1, { 'is one': (v) => v === 1 });
	});
	check(2, { 'is one': (v) => v === 1 });
}
`

// A real k6 child reports the samples of the sub-metrics it was given, with k6's own tags.
func TestChildSubmetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real k6 child")
	}
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer target.Close()
	exe, dir, entry := scriptDir(t, submetricScript)
	total := runChild(t, RunOptions{Exe: exe, Dir: dir, Entry: entry,
		Env: map[string]string{"TARGET": target.URL},
		Submetrics: []string{"http_req_duration{name:login}", "http_reqs{status:500}",
			"checks{group:::api}", "checks{check:is one,group:}", "http_req_failed{expected_response:false}",
			"iterations{scenario:default}"}})

	tests := []struct {
		key   string
		count uint64
		trues uint64
	}{
		{key: "http_req_duration", count: 6},
		{key: "http_req_duration{name:login}", count: 3},
		{key: "http_reqs{status:500}", count: 3},
		{key: "checks", count: 6, trues: 3},
		{key: "checks{group:::api}", count: 3, trues: 3},
		{key: "checks{check:is one,group:}", count: 3, trues: 0},
		{key: "http_req_failed{expected_response:false}", count: 3, trues: 3},
		{key: "iterations{scenario:default}", count: 3},
	}
	for _, tt := range tests {
		m := total.Metrics[tt.key]
		if m == nil {
			t.Errorf("%s missing; have %v", tt.key, keys(total.Metrics))
			continue
		}
		if m.Count != tt.count || m.Trues != tt.trues {
			t.Errorf("%s: count %d trues %d, want %d %d", tt.key, m.Count, m.Trues, tt.count, tt.trues)
		}
	}
}

// scriptDir writes src as script.js in a new directory and returns the test binary (which serves
// as the k6 executable, see TestMain), the directory and the script's path: what Start needs.
func scriptDir(t *testing.T, src string) (exe, dir, entry string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	entry = filepath.Join(dir, "script.js")
	if err := os.WriteFile(entry, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return exe, dir, entry
}

// mergeDeltas merges every delta child sends into total; read is closed once the child's deltas end.
func mergeDeltas(child *Child) (total *stats.Delta, read <-chan struct{}) {
	total = &stats.Delta{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for d := range child.Deltas() {
			total.Merge(d)
		}
	}()
	return total, done
}
