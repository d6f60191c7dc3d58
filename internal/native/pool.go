package native

import (
	"sync"

	"github.com/stampede-load/stampede/internal/native/h1"
)

// connPool is one host's idle keep-alive connections when the flow shares connections
// (flow.Scenario.ShareConnections): a user takes one for a request and gives it back when the
// response has been read, so a worker holds about as many connections as it has requests in
// flight, not one per user. 100,000 users thinking 10 s between requests then need a few hundred
// open files, not 100,000.
type connPool struct {
	mu   sync.Mutex
	idle []*h1.Conn
}

// get returns an idle connection, or a new one that dials on its first request.
func (p *connPool) get(cfg *h1.Config) *h1.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		return c
	}
	return cfg.NewConn()
}

// put gives c back, detached from the context of the request it made, so the end of that user
// no longer closes it. Connections that the response or a failure closed come back too: they
// dial again on their next request.
func (p *connPool) put(c *h1.Conn) {
	c.Unwatch()
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// close closes the idle connections; the engine calls it when every user has ended.
func (p *connPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		_ = c.Close()
	}
}
