package native

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stampede-load/stampede/internal/stats"
)

// TestShareConnections: with shareConnections, 200 users whose requests are spread over 5 s go
// through far fewer connections than users, every request is still counted exactly, and the pooled
// connections are closed when the run ends. Without it, each user owns its connection: 200. (At
// 40 requests a second, half the users would need requests in flight for over 2 s each to need
// 100 connections: only a machine stalled for seconds could fail the shared case.)
func TestShareConnections(t *testing.T) {
	const users = 200
	for _, shared := range []bool{true, false} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			var opened, closed atomic.Int64
			tg := newTargetConns(t, nil, func(_ net.Conn, s http.ConnState) {
				switch s {
				case http.StateNew:
					opened.Add(1)
				case http.StateClosed, http.StateHijacked:
					closed.Add(1)
				}
			})
			// The users' requests are spread over 5 s by a think step, as users' requests are in
			// a swarm that has been running for a while; each user makes one, then thinks long.
			r := start(t, context.Background(), fmt.Sprintf(`kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
shareConnections: %v
think: { constant: 1h }
classes:
  u:
    steps:
      - think: { uniform: [0s, 5s] }
      - get: /
        name: home
        headers: { X-User: "${vu}" }
`, shared), tg, nil, nil)
			ctx := context.Background()
			if err := r.Resume(ctx); err != nil {
				t.Fatal(err)
			}
			if err := r.SetVUs(ctx, users, users); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "a request from every user", func() bool { return tg.distinctUsers("/") == users })
			r.end(t)
			served := uint64(tg.total())
			if e := r.snapshot().Entries[stats.Key{Name: "home", Method: "GET", Status: "200"}]; e == nil || e.Requests != served {
				t.Fatalf("entry %+v, the target served %d", e, served)
			}
			n := opened.Load()
			if shared && n > users/2 {
				t.Errorf("%d connections for %d users sharing them; want far fewer than users", n, users)
			}
			if !shared && n != users {
				t.Errorf("%d connections for %d users owning theirs, want %d", n, users, users)
			}
			waitFor(t, "every connection closed", func() bool { return closed.Load() == opened.Load() })
			t.Logf("%d users, %d requests, %d connections", users, served, n)
		})
	}
}
