package web

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// hostGuard refuses requests whose Host header names a host the server does not answer to. It is
// the defence against DNS rebinding: a page on the attacker's domain points that domain at
// 127.0.0.1, and the browser then treats the master as the attacker's own origin, so the
// cross-origin checks let its requests through (Host and Origin agree). The Host still names the
// attacker's domain, and that is what is checked.
//
// Served: an IP address (a literal cannot be rebound: the browser connects to that very address),
// localhost, and the names the operator allows. The port is ignored.
type hostGuard struct {
	names map[string]bool
}

// newHostGuard validates the allowed names; nil names allow IP addresses and localhost only.
func newHostGuard(names []string) (*hostGuard, error) {
	g := &hostGuard{names: map[string]bool{"localhost": true}}
	for _, n := range names {
		name := normalHost(n)
		switch {
		case name == "":
			return nil, fmt.Errorf("web: allowed host %q is empty", n)
		case strings.ContainsAny(name, "/:@ \t*"):
			return nil, fmt.Errorf("web: allowed host %q: give a plain host name, without scheme, port, path or wildcard, e.g. stampede.example.com", n)
		}
		g.names[name] = true
	}
	return g, nil
}

// normalHost lower-cases a host name and drops the trailing dot of a fully qualified one.
func normalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
}

// allowed reports whether a request's Host header (host, host:port, [v6]:port) is served.
func (g *hostGuard) allowed(hostport string) bool {
	host := hostport
	if h, port, err := net.SplitHostPort(hostport); err == nil {
		if strings.Trim(port, "0123456789") != "" {
			return false
		}
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return host != "" && g.names[normalHost(host)]
}

// checkHost wraps next with the Host check; the probes' /healthz and /readyz pass whatever they
// send, since they reveal and change nothing and kubelet sends the pod's address or a configured header.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || s.hosts.allowed(r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		s.log.Warn("web: refused a request for a host name this master does not answer to (DNS rebinding?)",
			"host", r.Host, "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		// Plain text, not the API's JSON: the answer is for whoever typed the address, and a page
		// that rebound a name learns nothing from it.
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, fmt.Sprintf("misdirected request: this Stampede master does not answer to the host name %q, "+
			"a guard against DNS rebinding (docs/security.md). Reach it by IP address (http://127.0.0.1:PORT) or as localhost, "+
			"or allow the name with the master's --web-allowed-hosts %s", host, host), http.StatusMisdirectedRequest)
	})
}
