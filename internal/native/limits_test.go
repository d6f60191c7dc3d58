package native

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario/flow"
)

// TestCaptureAndBodyLimits: a value over flow.MaxCaptureBytes is not captured (the capture fails
// its check and the iteration ends before its next step, as for a capture that finds nothing), a
// value at the limit is; a JSON body over MaxBody fails its JSON check instead of being decoded,
// while its request is still counted with every byte received.
func TestCaptureAndBodyLimits(t *testing.T) {
	long := strings.Repeat("x", flow.MaxCaptureBytes+1)
	atLimit := strings.Repeat("y", flow.MaxCaptureBytes)
	huge := `{"n": 1, "pad": "` + strings.Repeat("z", MaxBody) + `"}`
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/long":
			_, _ = w.Write([]byte("tok=" + long + ";"))
			return true
		case "/limit":
			_, _ = w.Write([]byte("tok=" + atLimit + ";"))
			return true
		case "/huge":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(huge))
			return true
		case "/after":
			if len(r.Header.Get("X-Value")) != flow.MaxCaptureBytes {
				w.WriteHeader(http.StatusBadRequest)
				return true
			}
		}
		return false
	})
	r := start(t, context.Background(), `kind: stampede/flow/v1
baseUrl: ${__ENV.TARGET}
classes:
  u:
    steps:
      - get: /huge
        name: huge
        check: { json: { $.n: 1 } }
      - get: /limit
        name: limit
        capture: { ok: { regex: "tok=([^;]+)" } }
      - get: /after
        name: after
        headers: { X-Value: "${ok}" }
        check: { status: 200 }
      - get: /long
        name: long
        capture: { tok: { regex: "tok=([^;]+)" } }
      - get: /never
        headers: { X-Value: "${tok}" }
`, tg, nil, nil)
	ctx := context.Background()
	_ = r.Resume(ctx)
	_ = r.SetVUs(ctx, 1, 1)
	waitFor(t, "iterations", func() bool { return tg.count("/long") >= 5 })
	r.end(t)
	d := r.snapshot()
	if n := tg.count("/never"); n != 0 {
		t.Errorf("the step after a capture over the limit ran %d times", n)
	}
	iters := uint64(tg.count("/long"))
	if c := d.Checks[stats.CheckKey{Name: "long: capture tok"}]; c == nil || c.Fails != iters || c.Passes != 0 {
		t.Errorf("capture over the limit: check %+v, want %d fails", c, iters)
	}
	if c := d.Checks[stats.CheckKey{Name: "after: status is 200"}]; c == nil || c.Fails != 0 || c.Passes != uint64(tg.count("/after")) {
		t.Errorf("a value at the limit was not captured whole: check %+v", c)
	}
	huges := uint64(tg.count("/huge"))
	if c := d.Checks[stats.CheckKey{Name: "huge: $.n is 1"}]; c == nil || c.Fails != huges || c.Passes != 0 {
		t.Errorf("JSON check on a body over MaxBody: %+v, want %d fails", c, huges)
	}
	e := d.Entries[stats.Key{Name: "huge", Method: "GET", Status: "200"}]
	if e == nil || e.Requests != huges || e.ReceivedBytes < huges*uint64(len(huge)) {
		t.Errorf("huge row %+v: want %d requests of at least %d bytes each", e, huges, len(huge))
	}
}
