package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stampede-load/stampede/internal/api"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/report"
)

const (
	writeTimeout = 10 * time.Second
	pingInterval = 30 * time.Second
	pongTimeout  = pingInterval + 10*time.Second
)

// Hub feeds the websocket clients: one snapshot of the master per tick, encoded once, queued to
// every client without waiting for any of them.
type Hub struct {
	core     Core
	defaults api.Defaults
	queue    int
	log      *slog.Logger
	upgrader websocket.Upgrader
	poke     chan struct{}

	mu      sync.Mutex
	clients map[*client]struct{}
	// What the last update covered, so the next one carries only what is new.
	runID     string
	reset     time.Time
	lastPoint int64
	lastLog   uint64

	frames  atomic.Uint64
	dropped atomic.Uint64
}

// client is one websocket connection. Frames wait in send; when it is full the client loses the
// frame and is owed a full snapshot (its series and logs would have a hole otherwise).
type client struct {
	conn     *websocket.Conn
	send     chan []byte
	owed     bool // guarded by Hub.mu
	dropped  uint64
	closeOne sync.Once
	done     chan struct{}
}

func newHub(core Core, defaults api.Defaults, queue int, log *slog.Logger) *Hub {
	return &Hub{core: core, defaults: defaults, queue: queue, log: log, poke: make(chan struct{}, 1),
		clients: map[*client]struct{}{}, upgrader: websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 64 << 10}}
}

// Poke makes the hub send a frame now instead of at the next tick (after a user's action).
func (h *Hub) Poke() {
	select {
	case h.poke <- struct{}{}:
	default:
	}
}

// Clients is the number of connected websocket clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Dropped is how many frames slow clients have lost so far.
func (h *Hub) Dropped() uint64 { return h.dropped.Load() }

func (h *Hub) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stampede_web_clients",
			Help: "Websocket clients connected to the UI feed."}, func() float64 { return float64(h.Clients()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "stampede_web_frames_total",
			Help: "Frames the UI feed has encoded."}, func() float64 { return float64(h.frames.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "stampede_web_dropped_frames_total",
			Help: "Frames slow websocket clients lost (each is sent a full snapshot once it catches up)."},
			func() float64 { return float64(h.dropped.Load()) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Run sends a frame every interval (and after each Poke) until ctx ends, then closes every client.
func (h *Hub) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	defer h.closeAll()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-h.poke:
		}
		h.tick()
	}
}

// tick takes a snapshot, builds the update frame (and the full frame, which late and lagging
// clients get), and queues it to every client.
func (h *Hub) tick() {
	if h.Clients() == 0 {
		return // nobody to tell; a client that connects gets a snapshot of its own
	}
	snap := h.core.Snapshot()
	h.mu.Lock()
	defer h.mu.Unlock()
	var runID string
	var reset time.Time
	if snap.Run != nil {
		runID, reset = snap.Run.ID, snap.Run.StatsReset
	}
	sinceT, sinceL := h.lastPoint, h.lastLog
	if runID != h.runID || !reset.Equal(h.reset) {
		sinceT = 0 // a new run or a reset: the series starts over
	}
	update := h.encode(h.frame("update", snap, sinceT, sinceL))
	h.runID, h.reset = runID, reset
	if n := len(snap.Points); n > 0 {
		h.lastPoint = snap.Points[n-1].Time
	}
	if n := len(snap.Logs); n > 0 {
		h.lastLog = snap.Logs[n-1].Seq
	}
	if update == nil {
		return
	}
	var full []byte // for clients that lost frames, built once if any needs it
	for c := range h.clients {
		msg := update
		if c.owed {
			if full == nil {
				full = h.encode(h.frame("snapshot", snap, 0, 0))
			}
			msg = full
		}
		select {
		case c.send <- msg:
			c.owed = false
		default:
			c.owed = true
			c.dropped++
			h.dropped.Add(1)
		}
	}
}

// frame builds a frame; an update carries only series points after sinceTime and log lines after
// sinceLog (a snapshot passes 0, 0 and carries all).
func (h *Hub) frame(typ string, s *master.Snapshot, sinceTime int64, sinceLog uint64) *api.Frame {
	f := &api.Frame{Type: typ, Time: s.Time, Defaults: h.defaults, Run: runView(s), Stats: statsView(s),
		Workers: workerInfos(s.Workers), Series: []api.Point{}, Logs: []api.LogEntry{}, Fleet: fleetStatus(s.Fleet),
		Gauges: gauges(s.Gauges)}
	if f.Workers == nil {
		f.Workers = []api.WorkerInfo{}
	}
	for i, p := range s.Points {
		if p.Time > sinceTime {
			f.Series = report.Points(s.Points[i:])
			break
		}
	}
	for i, l := range s.Logs {
		if l.Seq > sinceLog {
			f.Logs = logEntries(s.Logs[i:])
			break
		}
	}
	return f
}

func (h *Hub) encode(f *api.Frame) []byte {
	b, err := json.Marshal(f)
	if err != nil {
		h.log.Error("encoding a websocket frame", "err", err)
		return nil
	}
	h.frames.Add(1)
	return b
}

// serveWS upgrades the connection and sends the current state at once.
func (h *Hub) serveWS(w http.ResponseWriter, r *http.Request) {
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered with an HTTP error
	}
	c := &client{conn: conn, send: make(chan []byte, h.queue), done: make(chan struct{})}
	// The snapshot and the registration happen under one lock, so no tick falls between them: the
	// next update continues exactly where this snapshot ends.
	h.mu.Lock()
	if first := h.encode(h.frame("snapshot", h.core.Snapshot(), 0, 0)); first != nil {
		c.send <- first
	}
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	go h.write(c)
	h.read(c)
}

// read consumes the client's messages (pongs and close frames) until the connection ends.
func (h *Hub) read(c *client) {
	defer h.drop(c)
	c.conn.SetReadLimit(4 << 10)
	_ = c.conn.SetReadDeadline(time.Now().Add(pongTimeout))
	c.conn.SetPongHandler(func(string) error { return c.conn.SetReadDeadline(time.Now().Add(pongTimeout)) })
	for {
		if _, _, err := c.conn.NextReader(); err != nil {
			return
		}
	}
}

// write sends the client's frames; it owns closing the connection.
func (h *Hub) write(c *client) {
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	defer c.conn.Close()
	defer h.drop(c)
	for {
		select {
		case <-c.done:
			_ = c.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseGoingAway, "master stopping"), time.Now().Add(time.Second))
			return
		case msg := <-c.send:
			_ = c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				return
			}
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				return
			}
		}
	}
}

// drop forgets a client and tells its writer to close the connection; safe to call more than once.
func (h *Hub) drop(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
	c.closeOne.Do(func() { close(c.done) })
}

func (h *Hub) closeAll() {
	h.mu.Lock()
	cs := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		cs = append(cs, c)
	}
	h.mu.Unlock()
	for _, c := range cs {
		h.drop(c) // its writer sends a close frame and closes the connection
	}
}
