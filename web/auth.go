package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Auth says who may use the server. With neither a token nor a user every request is let in (the
// master allows that on a loopback address only); otherwise every route but /healthz, /readyz,
// /login and /logout needs one of: "Authorization: Bearer TOKEN", HTTP basic auth with User and
// Password, or the session cookie a successful login sets.
type Auth struct {
	// Token is the bearer token.
	Token string
	// User and Password are the HTTP basic auth credentials; both or neither.
	User, Password string
	// Session is how long a login's cookie is valid. Default 12h.
	Session time.Duration
}

// Enabled reports whether any credentials are configured.
func (a Auth) Enabled() bool { return a.Token != "" || a.User != "" }

func (a Auth) validate() error {
	if (a.User == "") != (a.Password == "") {
		return errors.New("web: basic auth needs both a user and a password")
	}
	if strings.Contains(a.User, ":") {
		return errors.New("web: a basic auth user name must not contain ':'")
	}
	return nil
}

// SessionCookie is the name of the cookie the login sets: HttpOnly, SameSite=Strict, Secure when the
// request came over HTTPS.
const SessionCookie = "stampede_session"

// guard holds the session key: random per process, so a restart logs everyone out.
type guard struct {
	auth Auth
	key  []byte
	now  func() time.Time
}

func newGuard(a Auth) (*guard, error) {
	if err := a.validate(); err != nil {
		return nil, err
	}
	if a.Session <= 0 {
		a.Session = 12 * time.Hour
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("web: session key: %w", err)
	}
	return &guard{auth: a, key: key, now: time.Now}, nil
}

// equal compares in constant time; hashing first hides the secret's length too.
func equal(given, want string) bool {
	g, w := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// credentials reports whether r carries the right token or user and password.
func (g *guard) credentials(token, user, password string) bool {
	tokenOK := g.auth.Token != "" && token != "" && equal(token, g.auth.Token)
	// Both compared whatever the first gives, so timing tells nothing about which one was wrong.
	userOK := equal(user, g.auth.User)
	passOK := equal(password, g.auth.Password)
	return tokenOK || (g.auth.User != "" && userOK && passOK)
}

// authorized reports whether r may pass. An Authorization header, when present, decides alone.
func (g *guard) authorized(r *http.Request) bool {
	if !g.auth.Enabled() {
		return true
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		switch strings.ToLower(scheme) {
		case "bearer":
			return g.credentials(strings.TrimSpace(cred), "", "")
		case "basic":
			u, p, ok := r.BasicAuth()
			return ok && g.credentials("", u, p)
		}
		return false
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return g.validSession(c.Value)
	}
	return false
}

// A session value is EXPIRY.MAC: the expiry in Unix seconds and its HMAC under the process's key.
func (g *guard) sessionValue(expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return exp + "." + hex.EncodeToString(g.mac(exp))
}

func (g *guard) mac(exp string) []byte {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte("stampede-session-v1|" + exp))
	return m.Sum(nil)
}

func (g *guard) validSession(v string) bool {
	exp, sum, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	mac, err := hex.DecodeString(sum)
	if err != nil || !hmac.Equal(mac, g.mac(exp)) {
		return false
	}
	sec, err := strconv.ParseInt(exp, 10, 64)
	return err == nil && g.now().Before(time.Unix(sec, 0))
}

// LoginRequest is the body of POST /login: the token, or the basic auth user and password.
type LoginRequest struct {
	Token    string `json:"token,omitempty"`
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req LoginRequest
	if !s.decode(w, r, &req) {
		return
	}
	if !s.guard.auth.Enabled() {
		writeJSON(w, http.StatusOK, map[string]bool{"auth": false})
		return
	}
	if !s.guard.credentials(req.Token, req.User, req.Password) {
		s.log.Warn("web: failed login", "remote", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, "wrong token, or wrong user or password")
		return
	}
	expires := s.guard.now().Add(s.guard.auth.Session)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: s.guard.sessionValue(expires), Path: "/",
		Expires: expires, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overHTTPS(r)})
	writeJSON(w, http.StatusOK, map[string]bool{"auth": true})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overHTTPS(r)})
	w.WriteHeader(http.StatusNoContent)
}

// overHTTPS: directly, or through a TLS-terminating proxy that says so.
func overHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (s *Server) loginPage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(loginHTML))
}

// protect wraps the routes with cross-origin protection (always: a master open on loopback must
// not take orders from a web page the user visits) and, when Auth is enabled, authentication.
func (s *Server) protect(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("web: refused a cross-origin request", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		writeError(w, http.StatusForbidden, "cross-origin request refused: the API takes state-changing requests only from the UI's own origin")
	}))
	open := map[string]bool{"/healthz": true, "/readyz": true, "/login": true, "/logout": true}
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !safeMethod(r.Method) && !jsonOrEmpty(r.Header.Get("Content-Type")) {
			writeError(w, http.StatusUnsupportedMediaType, "send JSON, with Content-Type: application/json")
			return
		}
		if open[r.URL.Path] || s.guard.authorized(r) {
			next.ServeHTTP(w, r)
			return
		}
		s.unauthorized(w, r)
	})
	protected := cop.Handler(inner)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" { // probes, whatever they send
			next.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// jsonOrEmpty accepts no Content-Type (curl -X POST without a body, scripts) or JSON; a browser form
// or a text/plain "simple request" always names its type, and is refused.
func jsonOrEmpty(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && (r.URL.Path == "/" || r.URL.Path == "/index.html") {
		// Relative, and set by hand (http.Redirect makes it absolute): works behind a path prefix.
		w.Header().Set("Location", "login")
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	challenge := `Bearer realm="stampede"`
	if s.guard.auth.User != "" {
		challenge += `, Basic realm="stampede"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeError(w, http.StatusUnauthorized, "authentication required: send \"Authorization: Bearer TOKEN\" (the master's --web-token)"+
		" or basic auth, or log in at /login (see docs/security.md)")
}

// IsLoopback reports whether a listen address (host:port) accepts loopback connections only: an
// empty host or an unspecified address listens on every interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

const loginHTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Stampede: log in</title>
  <link rel="icon" href="data:,">
  <style>
    body { font: 15px system-ui, sans-serif; display: grid; place-items: center; min-height: 90vh; margin: 0; }
    form { display: grid; gap: .6rem; width: min(22rem, 90vw); }
    input, button { font: inherit; padding: .45rem; }
    .error { color: #b00020; min-height: 1.2em; margin: 0; }
    .or { color: #666; text-align: center; margin: 0; }
  </style>
</head>
<body>
  <form id="login" data-testid="login-form">
    <h1>Stampede</h1>
    <label>Token <input id="token" name="token" type="password" autocomplete="current-password" data-testid="login-token" autofocus></label>
    <p class="or">or</p>
    <label>User <input id="user" name="user" autocomplete="username" data-testid="login-user"></label>
    <label>Password <input id="password" name="password" type="password" autocomplete="current-password" data-testid="login-password"></label>
    <button type="submit" data-testid="login-submit">Log in</button>
    <p id="error" class="error" role="alert" data-testid="login-error"></p>
  </form>
  <script>
    document.getElementById('login').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = {};
      for (const k of ['token', 'user', 'password']) {
        const v = document.getElementById(k).value;
        if (v) body[k] = v;
      }
      const err = document.getElementById('error');
      err.textContent = '';
      try {
        const res = await fetch('login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
        if (res.ok) { location.replace('./'); return; }
        const data = await res.json().catch(() => null);
        err.textContent = data?.error || 'HTTP ' + res.status;
      } catch (e) {
        err.textContent = 'cannot reach the master: ' + e.message;
      }
    });
  </script>
</body>
</html>
`
