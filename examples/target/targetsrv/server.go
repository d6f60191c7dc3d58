package targetsrv

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultMaxSlow is the longest /slow wait accepted when Options.MaxSlow is zero.
	DefaultMaxSlow = 30 * time.Second
	// DefaultMaxCPUWork is the largest /cpu work accepted when Options.MaxCPUWork
	// is zero: roughly a tenth of a second of one core.
	DefaultMaxCPUWork = 100_000_000
	// DefaultMaxCPUTime is the longest /cpu?ms= burn accepted when Options.MaxCPUTime is zero.
	DefaultMaxCPUTime = time.Second

	// StatusClientClosedRequest is recorded for a /slow or /cpu?ms= request
	// whose client went away before the wait or the burn ended (the code nginx
	// uses for the same case).
	StatusClientClosedRequest = 499

	// KeyUnmatched is the by_path key for requests that matched no route.
	KeyUnmatched = "(unmatched)"

	maxLoginBody = 64 << 10

	// burnChunk is how many hash rounds /cpu?ms= runs between two readings of
	// its clock: some microseconds, against a reading's fraction of one.
	burnChunk = 1 << 14
)

// Route patterns. The statistics key of a route is its path (see statsKey).
const (
	patHome    = "GET /{$}"
	patSlow    = "GET /slow"
	patCPU     = "GET /cpu"
	patStatus  = "GET /status/{code}"
	patJSON    = "GET /json"
	patLogin   = "POST /login"
	patStats   = "GET /stats"
	patReset   = "POST /reset"
	patHealthz = "GET /healthz"
)

// ErrInvalidOptions is wrapped by Options.Validate.
var ErrInvalidOptions = errors.New("invalid target options")

//go:embed index.html
var indexHTML []byte

// Options configures a Server. The zero value is ready to use.
type Options struct {
	// MaxSlow caps the ms parameter of /slow. Zero means DefaultMaxSlow.
	MaxSlow time.Duration
	// MaxCPUWork caps the work parameter of /cpu (hash rounds). Zero means
	// DefaultMaxCPUWork.
	MaxCPUWork int64
	// MaxCPUTime caps the ms parameter of /cpu (CPU time to burn, see the
	// package documentation). Zero means DefaultMaxCPUTime.
	MaxCPUTime time.Duration
}

// Validate reports options New would reject.
func (o Options) Validate() error {
	if o.MaxSlow < 0 {
		return fmt.Errorf("%w: MaxSlow must not be negative, got %s", ErrInvalidOptions, o.MaxSlow)
	}
	if o.MaxCPUWork < 0 {
		return fmt.Errorf("%w: MaxCPUWork must not be negative, got %d", ErrInvalidOptions, o.MaxCPUWork)
	}
	if o.MaxCPUTime < 0 {
		return fmt.Errorf("%w: MaxCPUTime must not be negative, got %s", ErrInvalidOptions, o.MaxCPUTime)
	}
	return nil
}

// Server is the demo target. Create it with New.
type Server struct {
	mux        *http.ServeMux
	maxSlowMS  int64
	maxCPUWork int64
	maxCPUMS   int64
	clock      burnClock
	jsonDoc    []byte
	counts     counter
}

var _ http.Handler = (*Server)(nil)

// New builds a Server. It panics if opts fail Validate, as http.ServeMux does
// for bad patterns: options that come from users should be validated first.
func New(opts Options) *Server {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	if opts.MaxSlow == 0 {
		opts.MaxSlow = DefaultMaxSlow
	}
	if opts.MaxCPUWork == 0 {
		opts.MaxCPUWork = DefaultMaxCPUWork
	}
	if opts.MaxCPUTime == 0 {
		opts.MaxCPUTime = DefaultMaxCPUTime
	}
	s := &Server{
		mux:        http.NewServeMux(),
		maxSlowMS:  opts.MaxSlow.Milliseconds(),
		maxCPUWork: opts.MaxCPUWork,
		maxCPUMS:   opts.MaxCPUTime.Milliseconds(),
		clock:      newBurnClock(),
		jsonDoc:    catalogue(),
		counts:     newCounter(),
	}
	s.mux.HandleFunc(patHome, s.home)
	s.mux.HandleFunc(patSlow, s.slow)
	s.mux.HandleFunc(patCPU, s.cpu)
	s.mux.HandleFunc(patStatus, s.status)
	s.mux.HandleFunc(patJSON, s.items)
	s.mux.HandleFunc(patLogin, s.login)
	s.mux.HandleFunc(patStats, s.stats)
	s.mux.HandleFunc(patReset, s.reset)
	s.mux.HandleFunc(patHealthz, s.healthz)
	return s
}

// ServeHTTP serves r and counts it (see the package documentation).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cw := &countingWriter{ResponseWriter: w, count: func(code int) {
		// r.Pattern is set by the mux before any handler can write.
		if key, ok := statsKey(r); ok {
			s.counts.add(key, code)
		}
	}}
	s.mux.ServeHTTP(cw, r)
	if !cw.counted {
		// Nothing was written: net/http sends an empty 200 once we return.
		cw.counted = true
		cw.count(http.StatusOK)
	}
}

// Counts returns a copy of the counts so far.
func (s *Server) Counts() Counts { return s.counts.snapshot() }

// Reset zeroes the counts.
func (s *Server) Reset() { s.counts.reset() }

// statsKey names the route that served r for the by_path table; ok is false
// for requests that are not counted.
func statsKey(r *http.Request) (key string, ok bool) {
	if isObservation(r.URL.Path) {
		return "", false
	}
	switch r.Pattern {
	case "":
		return KeyUnmatched, true
	case patHome:
		return "/", true
	case patStats, patReset, patHealthz:
		// Reached through a path the mux cleaned, such as "//stats".
		return "", false
	case patStatus:
		if code, err := parseStatus(r.PathValue("code")); err == nil {
			return "/status/" + strconv.Itoa(code), true
		}
	}
	_, path, _ := strings.Cut(r.Pattern, " ")
	return path, true
}

func isObservation(path string) bool {
	return path == "/stats" || path == "/healthz" || path == "/reset"
}

func (s *Server) home(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(indexHTML)))
	_, _ = w.Write(indexHTML)
}

func (s *Server) slow(w http.ResponseWriter, r *http.Request) {
	ms, err := intParam(r, "ms", s.maxSlowMS)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		// Nobody will read this; it only records how the request ended.
		writeError(w, StatusClientClosedRequest, "client went away before the wait ended")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		SleptMS int64 `json:"slept_ms"`
	}{ms})
}

func (s *Server) cpu(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	_, hasWork := q["work"]
	_, hasMS := q["ms"]
	switch {
	case hasWork && hasMS:
		writeError(w, http.StatusBadRequest, "give query parameter work or ms, not both")
	case hasWork:
		s.cpuWork(w, r)
	case hasMS:
		s.cpuTime(w, r)
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf(
			"query parameter work (hash rounds, an integer from 0 to %d) or ms (milliseconds of CPU, from 0 to %d) is required",
			s.maxCPUWork, s.maxCPUMS))
	}
}

// cpuWork answers /cpu?work=N: N hash rounds.
func (s *Server) cpuWork(w http.ResponseWriter, r *http.Request) {
	work, err := intParam(r, "work", s.maxCPUWork)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Work   int64  `json:"work"`
		Result string `json:"result"`
	}{work, fmt.Sprintf("%016x", burn(work))})
}

// cpuTime answers /cpu?ms=N: hash rounds until the burn clock has advanced N ms.
func (s *Server) cpuTime(w http.ResponseWriter, r *http.Request) {
	ms, err := intParam(r, "ms", s.maxCPUMS)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	b, err := s.burnFor(r.Context(), time.Duration(ms)*time.Millisecond)
	if err != nil {
		// Nobody will read this; it only records how the request ended.
		writeError(w, StatusClientClosedRequest, "client went away before the burn ended")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		MS       int64   `json:"ms"`
		Clock    string  `json:"clock"`
		BurnedMS float64 `json:"burned_ms"`
		WallMS   float64 `json:"wall_ms"`
		Work     int64   `json:"work"`
		Result   string  `json:"result"`
	}{ms, s.clock.name, millis(b.burned), millis(b.wall), b.rounds, fmt.Sprintf("%016x", b.hash)})
}

// A burnClock is what /cpu?ms= burns against.
type burnClock struct {
	name string // "thread_cpu" or "wall", as the answer names it
	// now reads the clock; only differences between readings mean anything.
	// A thread_cpu clock must be read from the thread the burn runs on.
	now       func() time.Duration
	perThread bool
}

// newBurnClock is the calling thread's CPU time where the system tells it
// (Linux), else the wall clock.
func newBurnClock() burnClock {
	if _, ok := threadCPUTime(); ok {
		return burnClock{name: "thread_cpu", perThread: true, now: func() time.Duration {
			d, _ := threadCPUTime()
			return d
		}}
	}
	start := time.Now()
	return burnClock{name: "wall", now: func() time.Duration { return time.Since(start) }}
}

type burnResult struct {
	burned, wall time.Duration
	rounds       int64
	hash         uint64 // burn(rounds)
}

// burnFor runs hash rounds until s.clock has advanced by d, or ctx ends (its
// error is returned then). On the thread_cpu clock the goroutine keeps its OS
// thread meanwhile, so the clock counts this burn alone: d of CPU, however
// long other work or a CPU limit stretch it on the wall clock.
func (s *Server) burnFor(ctx context.Context, d time.Duration) (burnResult, error) {
	if s.clock.perThread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	wallStart := time.Now()
	start := s.clock.now()
	b := burnResult{hash: fnvOffset}
	for {
		if b.burned = s.clock.now() - start; b.burned >= d {
			break
		}
		if err := ctx.Err(); err != nil {
			return b, err
		}
		b.hash = burnFrom(b.hash, b.rounds, burnChunk)
		b.rounds += burnChunk
	}
	b.wall = time.Since(wallStart)
	return b, nil
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// burn runs n rounds of FNV-1a over the round numbers. The result is returned
// to the client so the compiler cannot drop the loop.
func burn(n int64) uint64 { return burnFrom(fnvOffset, 0, n) }

// burnFrom continues burn from hash h after the first rounds rounds, for n more.
func burnFrom(h uint64, rounds, n int64) uint64 {
	for i := rounds; i < rounds+n; i++ {
		h ^= uint64(i)
		h *= fnvPrime
	}
	return h
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	code, err := parseStatus(r.PathValue("code"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if code == http.StatusNoContent || code == http.StatusNotModified {
		w.WriteHeader(code) // these may not carry a body
		return
	}
	writeJSON(w, code, struct {
		Status int    `json:"status"`
		Text   string `json:"text"`
	}{code, http.StatusText(code)})
}

// parseStatus accepts final status codes, 200 to 599.
func parseStatus(s string) (int, error) {
	code, err := strconv.Atoi(s)
	if err != nil || code < 200 || code > 599 {
		return 0, fmt.Errorf("status code must be an integer from 200 to 599, got %q", s)
	}
	return code, nil
}

func (s *Server) items(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(s.jsonDoc)))
	_, _ = w.Write(s.jsonDoc)
}

// catalogue is the fixed /json document, encoded once.
func catalogue() []byte {
	type item struct {
		ID         int    `json:"id"`
		Name       string `json:"name"`
		PriceCents int    `json:"price_cents"`
		InStock    bool   `json:"in_stock"`
	}
	doc := struct {
		Count int    `json:"count"`
		Items []item `json:"items"`
	}{Count: 10}
	for i := 1; i <= doc.Count; i++ {
		doc.Items = append(doc.Items, item{
			ID:         i,
			Name:       fmt.Sprintf("item-%02d", i),
			PriceCents: 100*i + 99,
			InStock:    i%3 != 0,
		})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // fixed types; cannot fail
	}
	return append(b, '\n')
}

type credentials struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	var c credentials
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "application/json":
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			writeError(w, http.StatusBadRequest, "body is not a JSON object with user and password: "+err.Error())
			return
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxLoginBody); err != nil {
			writeError(w, http.StatusBadRequest, "cannot parse multipart form: "+err.Error())
			return
		}
		c = credentials{User: r.PostForm.Get("user"), Password: r.PostForm.Get("password")}
	default:
		if err := r.ParseForm(); err != nil {
			writeError(w, http.StatusBadRequest, "cannot parse form: "+err.Error())
			return
		}
		c = credentials{User: r.PostForm.Get("user"), Password: r.PostForm.Get("password")}
	}
	if c.User == "" || c.Password == "" {
		writeError(w, http.StatusUnauthorized, "user and password must both be non-empty")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Token string `json:"token"`
	}{rand.Text()})
}

func (s *Server) stats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Counts())
}

func (s *Server) reset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

// intParam reads a required integer query parameter in [0, limit].
func intParam(r *http.Request, name string, limit int64) (int64, error) {
	raw, ok := r.URL.Query()[name]
	if !ok || len(raw) == 0 {
		return 0, fmt.Errorf("query parameter %s is required (an integer from 0 to %d)", name, limit)
	}
	n, err := strconv.ParseInt(raw[0], 10, 64)
	if err != nil || n < 0 || n > limit {
		return 0, fmt.Errorf("query parameter %s must be an integer from 0 to %d, got %q", name, limit, raw[0])
	}
	return n, nil
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, struct {
		Error string `json:"error"`
	}{msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only fixed types are encoded here.
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
