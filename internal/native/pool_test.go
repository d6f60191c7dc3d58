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

// TestShareConnections: with shareConnections, 200 users thinking between requests go through far
// fewer connections than users, every request is still counted exactly, and the pooled
// connections are closed when the run ends. Without it, each user owns its connection: 200.
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
			// The users' first requests are spread over a second by a think step, as users'
			// requests are in a swarm that has been running for a while.
			r := start(t, context.Background(), fmt.Sprintf(`kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
shareConnections: %v
think: { uniform: [500ms, 1s] }
classes:
  u:
    steps:
      - think: { uniform: [0s, 1s] }
      - get: /
        name: home
`, shared), tg, nil, nil)
			ctx := context.Background()
			if err := r.Resume(ctx); err != nil {
				t.Fatal(err)
			}
			if err := r.SetVUs(ctx, users, users); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "two requests a user", func() bool { return tg.total() >= 2*users })
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
