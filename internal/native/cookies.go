package native

import (
	"bytes"
	"strconv"
)

// maxCookies bounds one user's jar; past it the oldest cookie goes.
const maxCookies = 64

// jar is one user's cookies, kept for the user's life (see docs/flow.md). It is deliberately
// minimal: a cookie is name=value for the exact host that set it, under its Path ("/" unless
// set); Max-Age=0 (or less) deletes it; Domain, Expires, Secure and the rest are ignored.
type jar struct {
	cookies []cookie
}

type cookie struct {
	host, path, name, value string
}

// set stores the cookie of one Set-Cookie value received from host. It allocates only for a
// cookie it stores.
func (j *jar) set(host string, v []byte) {
	attrs := v
	pair, attrs, _ := bytes.Cut(attrs, []byte(";"))
	name, value, ok := bytes.Cut(pair, []byte("="))
	name, value = bytes.TrimSpace(name), bytes.Trim(bytes.TrimSpace(value), `"`)
	if !ok || len(name) == 0 {
		return
	}
	path := []byte("/")
	del := false
	for len(attrs) > 0 {
		var a []byte
		a, attrs, _ = bytes.Cut(attrs, []byte(";"))
		k, val, _ := bytes.Cut(a, []byte("="))
		k, val = bytes.TrimSpace(k), bytes.TrimSpace(val)
		switch {
		case bytes.EqualFold(k, []byte("path")) && len(val) > 0 && val[0] == '/':
			path = val
		case bytes.EqualFold(k, []byte("max-age")):
			if n, err := strconv.Atoi(string(val)); err == nil && n <= 0 {
				del = true
			}
		}
	}
	for i := range j.cookies {
		c := &j.cookies[i]
		if c.host == host && c.name == string(name) && c.path == string(path) {
			if del {
				j.cookies = append(j.cookies[:i], j.cookies[i+1:]...)
			} else if c.value != string(value) {
				c.value = string(value)
			}
			return
		}
	}
	if del {
		return
	}
	if len(j.cookies) == maxCookies {
		j.cookies = append(j.cookies[:0], j.cookies[1:]...)
	}
	j.cookies = append(j.cookies, cookie{host: host, path: string(path), name: string(name), value: string(value)})
}

// appendHeader appends the Cookie header's value for a request to host and target (path and
// query): "a=1; b=2", or nothing.
func (j *jar) appendHeader(dst []byte, host string, target []byte) []byte {
	start := len(dst)
	for i := range j.cookies {
		c := &j.cookies[i]
		if c.host != host || !pathMatch(target, c.path) {
			continue
		}
		if len(dst) > start {
			dst = append(dst, ';', ' ')
		}
		dst = append(dst, c.name...)
		dst = append(dst, '=')
		dst = append(dst, c.value...)
	}
	return dst
}

// pathMatch is RFC 6265's path-match of the request target's path against a cookie's path.
func pathMatch(target []byte, path string) bool {
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	if len(target) == 0 {
		target = []byte("/")
	}
	if !bytes.HasPrefix(target, []byte(path)) {
		return false
	}
	return len(target) == len(path) || path[len(path)-1] == '/' || target[len(path)] == '/'
}

// cookieValue returns the value one of the Set-Cookie values gives the cookie name.
func cookieValue(values [][]byte, name string) ([]byte, bool) {
	for _, v := range values {
		pair, _, _ := bytes.Cut(v, []byte(";"))
		n, val, ok := bytes.Cut(pair, []byte("="))
		if ok && string(bytes.TrimSpace(n)) == name {
			return bytes.Trim(bytes.TrimSpace(val), `"`), true
		}
	}
	return nil, false
}
