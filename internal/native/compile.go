package native

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/native/h1"
	"github.com/stampede-load/stampede/internal/stats"
	"github.com/stampede-load/stampede/scenario/flow"
)

// MaxBody is how much of a response body the engine keeps for the captures and checks that read
// it; the rest is read and counted but not kept, so a capture or check beyond it finds nothing.
// A request whose captures and checks do not read the body keeps none of it.
const MaxBody = 1 << 20

// userAgent is sent unless a flow sets its own User-Agent header.
const userAgent = "stampede-native"

// program is the compiled steps of one class, or of setup or teardown.
type program struct {
	name      string
	weight    int64
	onStart   []*cstep
	steps     []*cstep // nil when tasks
	tasks     []ctask
	taskTotal int64
	think     *flow.Think
	ncaps     int // capture slots of the program (onStart and flows together)
	dataSets  []int
}

type ctask struct {
	weight int64
	steps  []*cstep
}

// cstep is one compiled step: exactly one of req, steps (a group) and think is set.
type cstep struct {
	req   *creq
	group string // a group's k6 tag, ::outer::inner
	steps []*cstep
	think *flow.Think
}

// creq is one request, compiled: what never changes is built once.
type creq struct {
	method, name, group string
	// A static URL: its host and request target (with the static query), and the URL as text
	// for the url tag. A dynamic one is url, expanded and joined to base when it is a path.
	host      *hostConf
	target    string
	fullURL   string
	fullURLb  []byte // fullURL, for the url tag without a conversion
	targetb   []byte // target, for the cookie jar
	url       *tmpl
	base      string
	query     []cparam // added at run time: a dynamic URL's, or the dynamic ones
	head      []byte   // static header lines (AppendHeader)
	dynHeader []cheader
	hasBody   bool
	body      []byte // static body
	bodyT     *tmpl
	json      *cjson
	form      []cparam
	timeout   time.Duration
	// maxRedirects is how many redirects it follows; redirectsSet: the file or the request
	// said so (k6 warns on reaching its default only). keepName: hops are recorded under name
	// (given, or a template's), not their URLs, as k6 does.
	maxRedirects int
	redirectsSet bool
	keepName     bool
	hasReferer   bool   // the flow sets Referer: a redirect adds none
	headCross    []byte // head without the headers a redirect to another host drops
	maxBody      int
	captures     []ccapture
	checks       []ccheck
	path         string // the step's path in the file, for log lines
}

type cparam struct {
	name  string
	value *tmpl
}

type cheader struct {
	name  string
	value *tmpl
}

// cjson is a json body whose strings are compiled templates.
type cjson struct {
	v      *flow.Value
	str    *tmpl
	items  []*cjson
	keys   []string // encoded keys, quotes included
	fields []*cjson
}

type ccapture struct {
	slot  int
	c     *flow.Capture
	check stats.CheckKey // the failed check a capture that finds nothing records
}

type ccheck struct {
	key  stats.CheckKey
	c    *flow.Check
	text []byte
}

// hostConf is one scheme://host:port the run talks to, shared by every user.
type hostConf struct {
	key    string // scheme://authority, lower case
	cfg    *h1.Config
	header string   // the Host header: the authority as written
	host   string   // the host alone, lower case, for the cookie jar
	pool   connPool // idle connections, when the flow shares them
}

type compiler struct {
	e     *Engine
	scope scope
	group string
	next  int // the next capture slot
	names map[string]int
}

// compileSteps compiles steps under the compiler's group.
func (c *compiler) steps(steps []*flow.Step, cls *flow.Class) ([]*cstep, error) {
	var out []*cstep
	for _, st := range steps {
		switch {
		case st.Request != nil:
			r, err := c.request(st, cls)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", st.Path, err)
			}
			out = append(out, &cstep{req: r})
		case st.Think != nil:
			out = append(out, &cstep{think: st.Think})
		default:
			outer := c.group
			c.group += "::" + st.Group
			sub, err := c.steps(st.Steps, cls)
			g := c.group
			c.group = outer
			if err != nil {
				return nil, err
			}
			out = append(out, &cstep{group: g, steps: sub})
		}
	}
	return out, nil
}

// slot returns name's capture slot, making one.
func (c *compiler) slot(name string) int {
	if s, ok := c.names[name]; ok {
		return s
	}
	c.names[name] = c.next
	c.next++
	return c.names[name]
}

func (c *compiler) request(st *flow.Step, cls *flow.Class) (*creq, error) {
	fr := st.Request
	r := &creq{method: fr.Method, name: fr.Name, group: c.group, path: st.Path, timeout: fr.Timeout, keepName: fr.Named}
	if r.timeout <= 0 {
		r.timeout = c.e.timeout
	}
	r.maxRedirects, r.redirectsSet = fr.MaxRedirects, fr.MaxRedirects >= 0
	if !r.redirectsSet {
		r.maxRedirects, r.redirectsSet = c.e.sc.MaxRedirects, c.e.sc.MaxRedirects >= 0
	}
	if !r.redirectsSet {
		r.maxRedirects = flow.DefaultMaxRedirects
	}
	// Captures first: a request's own templates cannot read them, but later steps' can.
	for _, fc := range fr.Captures {
		r.captures = append(r.captures, ccapture{slot: c.slot(fc.Name), c: fc,
			check: stats.CheckKey{Group: c.group, Name: fr.Name + ": capture " + fc.Name}})
		if fc.Source == flow.FromJSON || fc.Source == flow.FromRegex && fc.In == "body" {
			r.maxBody = MaxBody
		}
	}
	for _, fc := range fr.Checks {
		ch := ccheck{key: stats.CheckKey{Group: c.group, Name: fc.Name}, c: fc, text: []byte(fc.Text)}
		switch fc.Kind {
		case flow.CheckContains, flow.CheckNotContains, flow.CheckMatches, flow.CheckJSON:
			r.maxBody = MaxBody
		}
		r.checks = append(r.checks, ch)
	}

	u, err := c.scope.compileTemplate(fr.URL)
	if err != nil {
		return nil, err
	}
	r.base = c.e.baseURL
	var static []cparam
	var params []cparam
	for _, p := range fr.Query {
		v, err := c.scope.compileTemplate(p.Value)
		if err != nil {
			return nil, err
		}
		params = append(params, cparam{name: p.Name, value: v})
	}
	if s, ok := u.literal(); ok {
		full := s
		if strings.HasPrefix(s, "/") {
			full = r.base + s
		}
		for _, p := range params {
			if _, ok := p.value.literal(); ok {
				static = append(static, p)
			} else {
				r.query = append(r.query, p)
			}
		}
		sep := byte('?')
		if strings.Contains(full, "?") {
			sep = '&'
		}
		full += string(appendParams(nil, static, nil, nil, sep))
		scheme, auth, target, ok := splitURL(full)
		if !ok {
			return nil, fmt.Errorf("%q is not an http:// or https:// URL", full)
		}
		if r.host, err = hostFor(c.e, scheme, auth); err != nil {
			return nil, err
		}
		r.target, r.fullURL = target, full
		if r.target == "" {
			r.target = "/"
		}
		r.targetb, r.fullURLb = []byte(r.target), []byte(full)
	} else {
		r.url, r.query = u, params
		r.keepName = true // k6 names every hop of an http.url template request by the template
	}

	// Headers: the request's over the class's over the file's, by canonical name.
	var hs []flow.Header
	for _, list := range [][]flow.Header{c.e.sc.Headers, classHeaders(cls), fr.Headers} {
		for _, h := range list {
			if i := slices.IndexFunc(hs, func(x flow.Header) bool { return x.Name == h.Name }); i >= 0 {
				hs[i] = h
			} else {
				hs = append(hs, h)
			}
		}
	}
	has := func(name string) bool {
		return slices.ContainsFunc(hs, func(h flow.Header) bool { return h.Name == name })
	}
	addStatic := func(name, value string) error {
		var err error
		r.head, err = h1.AppendHeader(r.head, name, value)
		return err
	}
	for _, h := range hs {
		v, err := c.scope.compileTemplate(h.Value)
		if err != nil {
			return nil, err
		}
		if h.Name == "Host" || h.Name == "Content-Length" || h.Name == "Transfer-Encoding" {
			return nil, fmt.Errorf("header %s: the engine sets it", h.Name)
		}
		if s, ok := v.literal(); ok {
			if err := addStatic(h.Name, s); err != nil {
				return nil, err
			}
			if !crossHostDrops(h.Name) {
				r.headCross, _ = h1.AppendHeader(r.headCross, h.Name, s)
			}
		} else {
			r.dynHeader = append(r.dynHeader, cheader{name: h.Name, value: v})
		}
	}
	r.hasReferer = has("Referer")
	if !has("User-Agent") {
		_ = addStatic("User-Agent", userAgent)
		r.headCross, _ = h1.AppendHeader(r.headCross, "User-Agent", userAgent)
	}

	switch {
	case fr.Body != nil:
		r.hasBody = true
		b, err := c.scope.compileTemplate(fr.Body)
		if err != nil {
			return nil, err
		}
		if s, ok := b.literal(); ok {
			r.body = []byte(s)
		} else {
			r.bodyT = b
		}
	case fr.JSON != nil:
		r.hasBody = true
		j, static, err := c.json(fr.JSON)
		if err != nil {
			return nil, err
		}
		if static { // every string is literal once vars and the environment are resolved
			var scratch []byte
			r.body = j.appendTo([]byte{}, nil, &scratch)
		} else {
			r.json = j
		}
		if !has("Content-Type") {
			_ = addStatic("Content-Type", "application/json")
			r.headCross, _ = h1.AppendHeader(r.headCross, "Content-Type", "application/json")
		}
	case fr.Form != nil:
		r.hasBody = true
		var form []cparam
		allStatic := true
		for _, p := range fr.Form {
			v, err := c.scope.compileTemplate(p.Value)
			if err != nil {
				return nil, err
			}
			_, ok := v.literal()
			allStatic = allStatic && ok
			form = append(form, cparam{name: p.Name, value: v})
		}
		if allStatic {
			r.body = appendParams([]byte{}, form, nil, nil, 0)
		} else {
			r.form = form
		}
		if !has("Content-Type") {
			_ = addStatic("Content-Type", "application/x-www-form-urlencoded")
			r.headCross, _ = h1.AppendHeader(r.headCross, "Content-Type", "application/x-www-form-urlencoded")
		}
	}
	return r, nil
}

func classHeaders(cls *flow.Class) []flow.Header {
	if cls == nil {
		return nil
	}
	return cls.Headers
}

// json compiles a json body, reporting whether it has no run-time reference.
func (c *compiler) json(v *flow.Value) (*cjson, bool, error) {
	out := &cjson{v: v}
	static := true
	switch v.Kind {
	case flow.String:
		t, err := c.scope.compileTemplate(v.String)
		if err != nil {
			return nil, false, err
		}
		_, static = t.literal()
		out.str = t
	case flow.Array:
		for _, it := range v.Items {
			j, s, err := c.json(it)
			if err != nil {
				return nil, false, err
			}
			static = static && s
			out.items = append(out.items, j)
		}
	case flow.Object:
		for _, f := range v.Fields {
			j, s, err := c.json(f.Value)
			if err != nil {
				return nil, false, err
			}
			static = static && s
			out.keys = append(out.keys, string(appendJSONString(nil, []byte(f.Key))))
			out.fields = append(out.fields, j)
		}
	}
	return out, static, nil
}

// appendTo appends j as JSON, expanding its strings with v; scratch is reused for them.
func (j *cjson) appendTo(dst []byte, v *vals, scratch *[]byte) []byte {
	switch j.v.Kind {
	case flow.String:
		*scratch = j.str.appendTo((*scratch)[:0], v)
		return appendJSONString(dst, *scratch)
	case flow.Array:
		dst = append(dst, '[')
		for i, it := range j.items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = it.appendTo(dst, v, scratch)
		}
		return append(dst, ']')
	case flow.Object:
		dst = append(dst, '{')
		for i, f := range j.fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, j.keys[i]...)
			dst = append(dst, ':')
			dst = f.appendTo(dst, v, scratch)
		}
		return append(dst, '}')
	default:
		return j.v.AppendJSON(dst, nil) // null, bool, number: no reference
	}
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// appendParams appends params URL-encoded (application/x-www-form-urlencoded, as url.Values
// encodes), the first after sep unless sep is 0. Dynamic values are expanded into scratch first.
func appendParams(dst []byte, params []cparam, v *vals, scratch *[]byte, sep byte) []byte {
	for i, p := range params {
		switch {
		case i > 0:
			dst = append(dst, '&')
		case sep != 0:
			dst = append(dst, sep)
		}
		dst = appendQueryEscape(dst, p.name)
		dst = append(dst, '=')
		if s, ok := p.value.literal(); ok {
			dst = appendQueryEscape(dst, s)
			continue
		}
		*scratch = p.value.appendTo((*scratch)[:0], v)
		dst = appendQueryEscape(dst, *scratch)
	}
	return dst
}

func appendQueryEscape[T string | []byte](dst []byte, s T) []byte {
	for i := 0; i < len(s); i++ {
		dst = appendQueryByte(dst, s[i])
	}
	return dst
}

func appendQueryByte(dst []byte, c byte) []byte {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
		return append(dst, c)
	case c == ' ':
		return append(dst, '+')
	}
	return append(dst, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&0xf])
}

// splitURL splits an absolute http(s) URL into its scheme, authority and request target (path
// and query; "/" when empty). The fragment is dropped.
func splitURL[T string | []byte](u T) (scheme string, auth, target T, ok bool) {
	switch {
	case hasPrefixFold(u, "http://"):
		scheme, u = "http", u[7:]
	case hasPrefixFold(u, "https://"):
		scheme, u = "https", u[8:]
	default:
		return "", auth, target, false
	}
	i := 0
	for i < len(u) && u[i] != '/' && u[i] != '?' && u[i] != '#' {
		i++
	}
	auth, target = u[:i], u[i:]
	for j := 0; j < len(target); j++ {
		if target[j] == '#' {
			target = target[:j]
			break
		}
	}
	if len(auth) == 0 {
		return "", auth, target, false
	}
	for j := 0; j < len(auth); j++ {
		if auth[j] == '@' {
			return "", auth, target, false // user info is not supported
		}
	}
	return scheme, auth, target, true
}

func hasPrefixFold[T string | []byte](s T, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// hostFor returns the shared configuration of scheme://auth, making it on first use. The key is
// looked up without allocating; only a new host allocates.
func hostFor[T string | []byte](e *Engine, scheme string, authT T) (*hostConf, error) {
	var kb [128]byte
	key := append(append(kb[:0], scheme...), "://"...)
	key = append(key, authT...)
	lowerASCII(key)
	e.hostMu.RLock()
	h := e.hosts[string(key)]
	e.hostMu.RUnlock()
	if h != nil {
		return h, nil
	}
	auth := string(authT)
	host, port, err := net.SplitHostPort(auth)
	if err != nil {
		host = strings.Trim(auth, "[]")
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	if host == "" {
		return nil, fmt.Errorf("%s://%s: no host", scheme, auth)
	}
	if _, err := url.Parse(scheme + "://" + auth + "/"); err != nil {
		return nil, fmt.Errorf("%s://%s: %w", scheme, auth, err)
	}
	o := h1.Options{Addr: net.JoinHostPort(host, port), Dial: e.opts.Dial}
	if scheme == "https" {
		o.TLS = e.tls
	}
	cfg, err := h1.NewConfig(o)
	if err != nil {
		return nil, err
	}
	h = &hostConf{key: string(key), cfg: cfg, header: auth, host: strings.ToLower(host)}
	e.hostMu.Lock()
	defer e.hostMu.Unlock()
	if old := e.hosts[h.key]; old != nil {
		return old, nil
	}
	e.hosts[h.key] = h
	return h, nil
}

func lowerASCII(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}
