package web

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stampede-load/stampede/internal/api"
	"github.com/stampede-load/stampede/internal/master"
)

// Core is what the web server needs of the master; *master.Coordinator implements it.
type Core interface {
	Snapshot() *master.Snapshot
	Start(ctx context.Context, cfg master.RunConfig, done func(*master.Result, error)) (string, error)
	Update(users *int64, spawnRate *float64) error
	Stop(why string) error
	ResetStats() error
}

var _ Core = (*master.Coordinator)(nil)

// Options configure a Server.
type Options struct {
	Core Core
	// Template is the run every start from the API begins with: the script and how many workers to
	// wait for; the request fills in users, spawn rate, run time and environment.
	Template master.RunConfig
	// Defaults prefill the UI's start form.
	Defaults api.Defaults
	// RunContext bounds the runs started from the API: when it ends, a run in progress stops.
	RunContext context.Context
	// OnRunEnd (optional) is told how each run started from the API ended.
	OnRunEnd func(*master.Result, error)
	// Metrics (optional) is served at /metrics.
	Metrics http.Handler
	// Registerer (optional) receives the server's own metrics (websocket clients, dropped frames).
	Registerer prometheus.Registerer
	// Interval between websocket frames. Default 1s.
	Interval time.Duration
	// ClientQueue is how many frames wait for a slow websocket client before it loses frames. Default 4.
	ClientQueue int
	// MaxBody bounds request bodies. Default 1 MiB.
	MaxBody int64
	// Assets are the UI's files. Default Static().
	Assets fs.FS
	// Auth (optional) is who may use the server; the zero value lets everyone in.
	Auth Auth
	// CheckHost serves only requests whose Host header (port ignored) is an IP address, localhost
	// or one of AllowedHosts; others get 421 Misdirected Request (hosts.go: DNS rebinding).
	// /healthz and /readyz are not checked. Giving AllowedHosts turns it on too. cmd/master turns
	// it on for a loopback listener, where there are no credentials.
	CheckHost    bool
	AllowedHosts []string
	Logger       *slog.Logger
}

// Server is the master's HTTP face: UI, API, websocket and metrics.
type Server struct {
	opts  Options
	log   *slog.Logger
	hub   *Hub
	mux   *http.ServeMux
	guard *guard
	hosts *hostGuard // nil: every Host is served
	h     http.Handler
}

// New returns a Server; call Run to feed the websocket clients and serve Handler.
func New(opts Options) (*Server, error) {
	if opts.Core == nil || opts.Template.Script == "" {
		return nil, errors.New("web: Options.Core and Options.Template.Script are required")
	}
	if opts.RunContext == nil {
		opts.RunContext = context.Background()
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.ClientQueue <= 0 {
		opts.ClientQueue = 4
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	if opts.Assets == nil {
		opts.Assets = Static()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	g, err := newGuard(opts.Auth)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: opts.Logger, guard: g}
	if opts.CheckHost || len(opts.AllowedHosts) > 0 {
		if s.hosts, err = newHostGuard(opts.AllowedHosts); err != nil {
			return nil, err
		}
	}
	s.hub = newHub(opts.Core, opts.Defaults, opts.ClientQueue, opts.Logger)
	if opts.Registerer != nil {
		if err := s.hub.register(opts.Registerer); err != nil {
			return nil, err
		}
	}
	s.routes()
	s.h = s.protect(s.mux)
	if s.hosts != nil {
		s.h = s.checkHost(s.h)
	}
	return s, nil
}

// Handler serves every route, behind the Host check, cross-origin protection and Options.Auth.
func (s *Server) Handler() http.Handler { return s.h }

// Hub is the server's websocket hub.
func (s *Server) Hub() *Hub { return s.hub }

// Run pushes a frame to the websocket clients every Interval until ctx ends, then closes them.
func (s *Server) Run(ctx context.Context) error { return s.hub.Run(ctx, s.opts.Interval) }

func (s *Server) routes() {
	m := http.NewServeMux()
	files := http.FileServerFS(s.opts.Assets)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		files.ServeHTTP(w, r)
	})
	m.HandleFunc("GET /ws", s.hub.serveWS)
	m.HandleFunc("GET /api/v1/config", s.getConfig)
	m.HandleFunc("POST /api/v1/runs", s.startRun)
	m.HandleFunc("GET /api/v1/runs/current", s.getRun)
	m.HandleFunc("PATCH /api/v1/runs/current", s.updateRun)
	m.HandleFunc("POST /api/v1/runs/current/stop", s.stopRun)
	m.HandleFunc("GET /api/v1/stats", s.getStats)
	m.HandleFunc("POST /api/v1/stats/reset", s.resetStats)
	m.HandleFunc("GET /api/v1/workers", s.getWorkers)
	m.HandleFunc("GET /api/v1/reports/{file}", s.getReport)
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path+" (see docs/api.md)")
	})
	if s.opts.Metrics != nil {
		m.Handle("GET /metrics", s.opts.Metrics)
	}
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.logout)
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }
	m.HandleFunc("GET /healthz", ok)
	m.HandleFunc("GET /readyz", ok) // serving: Kubernetes' readiness probe, which cannot send a token
	s.mux = m
}

// NewHTTPServer wraps h with the timeouts every Stampede HTTP server uses.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
}
