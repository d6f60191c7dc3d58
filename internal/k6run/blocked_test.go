package k6run

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/protocol"
)

// The script tries to lift the operator's block list with its own options; the command-line flag wins.
const blockedScript = `
import http from 'k6/http';

export const options = { vus: 1, iterations: 3, blacklistIPs: [], hosts: { 'allowed.test': '127.0.0.1' } };

export default function () {
	http.get(__ENV.TARGET + '/direct', { tags: { name: 'direct' } });
	http.get(__ENV.TARGET.replace('127.0.0.1', 'allowed.test') + '/pinned', { tags: { name: 'pinned' } });
}
`

// TestChildBlockedIPs runs a real k6 child with BlockedIPs covering 127.0.0.1: every request fails
// with k6's blocked-range error, none reaches the target, whatever the script's options say.
func TestChildBlockedIPs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real k6 child")
	}
	t.Parallel()
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer target.Close()
	exe, dir, entry := scriptDir(t, blockedScript)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var logged atomic.Int64
	child, err := Start(ctx, RunOptions{Exe: exe, Dir: dir, Entry: entry,
		Env:        map[string]string{"TARGET": target.URL},
		BlockedIPs: []string{"127.0.0.0/8", "::1/128"},
		Logs: func(l protocol.LogLine) {
			if strings.Contains(l.Message, "IP (127.0.0.1) is in a blacklisted range (127.0.0.0/8)") {
				logged.Add(1)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer child.Kill()
	total, read := mergeDeltas(child)
	if err := child.WaitReady(ctx); err != nil {
		t.Fatalf("child not ready: %v", err)
	}
	if err := child.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		if s, err := child.Status(ctx); err == nil && s.Ended() {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the test did not end: %v", ctx.Err())
		case <-child.Exited():
			t.Fatal("the child exited early")
		case <-time.After(50 * time.Millisecond):
		}
	}
	child.Terminate(30 * time.Second)
	<-read

	if n := hits.Load(); n != 0 {
		t.Errorf("the target got %d requests, want 0", n)
	}
	for k, e := range total.Entries {
		if k.Status != "0" || e.Requests != 3 {
			t.Errorf("request row %+v: %d requests, want 3 with status 0", k, e.Requests)
		}
	}
	var failed uint64
	for k, n := range total.Errors {
		if k.Error != "ip is blacklisted" { // k6's error tag (code 1110); its log line names IP and range
			t.Errorf("error row %+v, want k6's \"ip is blacklisted\"", k)
			continue
		}
		failed += n
	}
	if failed != 6 {
		t.Errorf("%d requests failed with the blocked error, want 6; errors %+v", failed, total.Errors)
	}
	if logged.Load() == 0 {
		t.Error("k6 logged no blocked-range error")
	}
}
