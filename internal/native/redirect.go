package native

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/native/h1"
)

// httpConfig reads the flow's TLS and http2 options: one TLS configuration for every https host.
func (e *Engine) httpConfig() error {
	o := h1.TLSOptions{}
	if t := e.sc.TLS; t != nil {
		if t.CA != "" && e.opts.CA == nil {
			return fmt.Errorf("tls.ca %s is not loaded (Scenario.LoadCA)", t.CA)
		}
		o = h1.TLSOptions{CAPEM: e.opts.CA, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	}
	var err error
	if e.tls, err = h1.TLSConfig(o); err != nil {
		return fmt.Errorf("tls.ca: %w", err)
	}
	e.http2 = e.sc.HTTP2
	return nil
}

// send sends u.req to h: on the user's HTTP/1.1 connection, or through net/http when the flow
// asks for HTTP/2. The one branch between the two paths.
func (u *user) send(h *hostConf) error {
	if u.e.http2 {
		return u.sendH2(h)
	}
	c := u.conn(h)
	err := c.Do(u.ctx, &u.req, &u.resp)
	u.release(h, c)
	return err
}

func isRedirect(status int) bool {
	switch status {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// errRedirectTimeout is the timeout of a request whose redirects used up its time.
var errRedirectTimeout = fmt.Errorf("h1: redirect: %w", os.ErrDeadlineExceeded)

// redirect builds into u.req the request that follows a redirect of r from the URL from to
// Location loc, as Go's client (and so k6) does: 301, 302 and 303 become a GET without a body
// (HEAD stays HEAD); 307 and 308 keep the method and body; a relative Location is resolved
// against from; Authorization and Cookie headers do not go to another host; Referer is the
// previous URL unless that was https and the next is not (and the flow sets none). It returns
// the hop to record, its host, its URL, and an error for a bad Location or a request out of
// time: left is what its earlier hops left of the request's timeout.
func (u *user) redirect(r *creq, h *hostConf, from, loc []byte, status int, left time.Duration) (*creq, *hostConf, []byte, error) {
	hop := *r
	if !r.keepName {
		hop.name = string(loc)
	}
	base, err := url.Parse(string(from))
	if err != nil {
		return &hop, h, from, fmt.Errorf("%w %q: %w", errBadURL, from, err)
	}
	ref, err := url.Parse(string(loc))
	if err != nil {
		return &hop, h, from, fmt.Errorf("%w: redirect to %q: %w", errBadURL, loc, err)
	}
	next := base.ResolveReference(ref)
	next.Fragment, next.RawFragment = "", ""
	method, body := r.method, u.sent
	if status <= 303 {
		body = nil
		if method != "HEAD" {
			method = "GET"
		}
	}
	full := []byte(next.String())
	hop.method = method
	if !r.keepName {
		hop.name = next.String()
	}
	if next.Scheme != "http" && next.Scheme != "https" {
		return &hop, h, full, fmt.Errorf("%w: redirect to %q: not http:// or https://", errBadURL, loc)
	}
	nh, err := hostFor(u.e, next.Scheme, next.Host)
	if err != nil {
		return &hop, h, full, fmt.Errorf("%w: redirect to %q: %w", errBadURL, loc, err)
	}
	if left <= 0 {
		return &hop, nh, full, errRedirectTimeout
	}
	first := r.host
	if first == nil {
		first = h
	}
	same := sameOrSub(nh.host, first.host)
	req := &u.req
	req.Start(method, next.RequestURI())
	req.Host(nh.header)
	if same {
		req.Raw(r.head)
	} else {
		req.Raw(r.headCross)
	}
	for _, dh := range r.dynHeader {
		if !same && crossHostDrops(dh.name) {
			continue
		}
		u.scratch = dh.value.appendTo(u.scratch[:0], &u.v)
		req.HeaderBytes(dh.name, u.scratch)
	}
	if !r.hasReferer && (base.Scheme == next.Scheme || next.Scheme == "https") {
		req.Header("Referer", base.String())
	}
	if len(u.jar.cookies) > 0 {
		if u.scratch = u.jar.appendHeader(u.scratch[:0], nh.host, []byte(next.EscapedPath())); len(u.scratch) > 0 {
			req.HeaderBytes("Cookie", u.scratch)
		}
	}
	req.DecodeGzip()
	u.sent = body
	req.Finish(body)
	req.Timeout = left
	return &hop, nh, full, req.Err()
}

// crossHostDrops reports the headers Go's client does not send on a redirect to another host.
func crossHostDrops(name string) bool {
	switch name {
	case "Authorization", "Www-Authenticate", "Cookie", "Cookie2":
		return true
	}
	return false
}

// sameOrSub reports whether host is first or a subdomain of it (Go's rule for keeping
// Authorization on a redirect).
func sameOrSub(host, first string) bool {
	return host == first || strings.HasSuffix(host, "."+first)
}
