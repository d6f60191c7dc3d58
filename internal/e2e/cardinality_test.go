//go:build linux

package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestCardinalityWarning: a script whose custom metric carries a unique tag per sample passes k6's
// 100,000 time series; k6's warning about it reaches the master's log and the UI's log tab (the
// websocket's snapshot), although the worker's k6 child runs without the summary that normally
// counts them, and although the script's own log lines use up the worker's log rate.
func TestCardinalityWarning(t *testing.T) {
	t.Parallel()
	script := filepath.Join(t.TempDir(), "cardinality.js")
	if err := os.WriteFile(script, []byte(`
import { sleep } from 'k6';
import { Counter } from 'k6/metrics';
const orders = new Counter('orders');
let done = false;
export default function () {
	if (!done) {
		for (let i = 0; i < 110000; i++) {
			orders.add(1, { order: String(i) });
			if (i % 100 === 0) console.log('chatty line ' + i); // well over the worker's 100 lines/s
		}
		done = true;
	}
	sleep(0.2);
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startUIMaster(t, "-f", script, "--local-workers", "1")
	eventually(t, 30*time.Second, "the local worker to connect", func() bool { return len(m.workers(t)) == 1 })
	if code := m.call(t, "POST", "/api/v1/runs", `{"users": 1, "run_time": "20s"}`, nil); code != http.StatusCreated {
		t.Fatalf("start: %d", code)
	}
	const warning = "The test has generated metrics with 1"
	eventually(t, 60*time.Second, "the warning in the master's log", func() bool {
		return strings.Contains(m.log(), warning) && strings.Contains(m.log(), "unique time series, which is higher than the suggested limit of 100000")
	})
	// Else this test would show nothing about the rate limit.
	eventually(t, 30*time.Second, "the script's lines to use up the worker's log rate", func() bool {
		return strings.Contains(m.log(), "log lines dropped")
	})

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(m.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var f struct {
		Type string
		Logs []struct{ Level, Source, Message string }
	}
	if err := ws.ReadJSON(&f); err != nil || f.Type != "snapshot" {
		t.Fatalf("first frame: %v, type %q", err, f.Type)
	}
	for _, l := range f.Logs {
		if strings.HasPrefix(l.Message, warning) {
			if l.Level != "warning" || l.Source != "k6" {
				t.Fatalf("the warning in the UI's log: level %q, source %q; want warning from k6", l.Level, l.Source)
			}
			return
		}
	}
	t.Fatalf("the warning is not in the UI's log (%d lines)", len(f.Logs))
}
