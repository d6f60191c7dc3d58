package targetsrv

import (
	"maps"
	"net/http"
	"sync"
)

// Counts is what the target has served since it started or was last reset.
// Its JSON form is what GET /stats returns:
//
//	{"total": 3, "by_path": {"/": 2, "/status/503": 1}, "by_status": {"200": 2, "503": 1}}
//
// Total equals the sum over ByPath and the sum over ByStatus.
type Counts struct {
	Total    int64            `json:"total"`
	ByPath   map[string]int64 `json:"by_path"`
	ByStatus map[int]int64    `json:"by_status"`
}

// counter holds Counts behind a mutex: one request updates three fields
// together, and a snapshot must never see them disagree.
type counter struct {
	mu sync.Mutex
	c  Counts
}

func newCounter() counter {
	return counter{c: Counts{ByPath: map[string]int64{}, ByStatus: map[int]int64{}}}
}

func (c *counter) add(path string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.Total++
	c.c.ByPath[path]++
	c.c.ByStatus[status]++
}

func (c *counter) snapshot() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Counts{Total: c.c.Total, ByPath: maps.Clone(c.c.ByPath), ByStatus: maps.Clone(c.c.ByStatus)}
}

func (c *counter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c = Counts{ByPath: map[string]int64{}, ByStatus: map[int]int64{}}
}

// countingWriter calls count with the status code as the status line is
// written, before any byte reaches the client, so a client that has its
// response can rely on /stats including it.
type countingWriter struct {
	http.ResponseWriter
	count   func(code int)
	counted bool
}

func (w *countingWriter) WriteHeader(code int) {
	if !w.counted && code >= 200 { // 1xx are interim, not the answer
		w.counted = true
		w.count(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if !w.counted {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
