//go:build linux

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/cli/clitest"
)

// startSecureWorker starts a stampede-worker process for the master at addr with extra flags.
func startSecureWorker(t *testing.T, addr string, args ...string) (*exec.Cmd, *clitest.Output) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "stampede-worker"),
		append([]string{"--master", addr, "--work-dir", t.TempDir(), "--metrics-listen", ""}, args...)...)
	stderr := &clitest.Output{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopProcess(cmd)
		if t.Failed() {
			t.Logf("worker %v stderr:\n%s", args, stderr)
		}
	})
	return cmd, stderr
}

func writeSecret(t *testing.T, name, value string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// request sends one request to the master's web server and returns the status and body.
func webRequest(t *testing.T, method, url, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" { // the header Go sends is the request's Host field
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// TestSecuredMaster: a master given a web token (on loopback, where it would otherwise be open)
// and a join token. The UI, API and /metrics need the token or the login's cookie, state changes
// from another origin or as a form are refused, a worker with the wrong join token is refused
// (and says why, and keeps trying) while one with the right token runs a load.
func TestSecuredMaster(t *testing.T) {
	t.Parallel()
	const webToken, joinToken = "web-5ecret", "join-5ecret"
	tg := startTarget(t)
	m := startUIMaster(t, "-f", "examples/quickstart.js", "-e", "TARGET="+tg.URL,
		"--web-token-file", writeSecret(t, "web-token", webToken))
	// The join token from the environment, as Helm passes it; this one's web token is a flag.
	m2 := startUIMasterWithEnv(t, []string{"STAMPEDE_JOIN_TOKEN_FILE=" + writeSecret(t, "join-token", joinToken)},
		"-f", "examples/quickstart.js", "-e", "TARGET="+tg.URL, "--web-token", webToken)
	bearer := map[string]string{"Authorization": "Bearer " + webToken}

	for _, u := range []string{m.URL, m2.URL} {
		for _, path := range []string{"/", "/api/v1/workers", "/api/v1/config", "/metrics", "/ws"} {
			if code, body := webRequest(t, "GET", u+path, "", nil); code != http.StatusUnauthorized && code != http.StatusSeeOther {
				t.Fatalf("GET %s without credentials: %d %s", path, code, body)
			}
			if code, body := webRequest(t, "GET", u+path, "", map[string]string{"Authorization": "Bearer nope"}); code != http.StatusUnauthorized && code != http.StatusSeeOther {
				t.Fatalf("GET %s with a wrong token: %d %s", path, code, body)
			}
		}
		if code, _ := webRequest(t, "GET", u+"/healthz", "", nil); code != http.StatusOK {
			t.Fatalf("GET /healthz: %d, want 200 without credentials", code)
		}
		if code, body := webRequest(t, "GET", u+"/metrics", "", bearer); code != http.StatusOK || !strings.Contains(body, "stampede_") {
			t.Fatalf("GET /metrics with the token: %d", code)
		}
	}

	_, refusedLog := startSecureWorker(t, m2.Addr, "--join-token", "wrong")
	_, missingLog := startSecureWorker(t, m2.Addr)
	eventually(t, 30*time.Second, "the master to log both refusals, twice", func() bool {
		l := m2.log()
		return strings.Count(l, "refused a worker: wrong join token") >= 2 && strings.Count(l, "refused a worker: it sent no join token") >= 2
	})
	for name, l := range map[string]*clitest.Output{"wrong token": refusedLog, "no token": missingLog} {
		if s := l.String(); !strings.Contains(s, "Unauthenticated") || !strings.Contains(s, "join token") || !strings.Contains(s, "retrying") {
			t.Fatalf("worker with %s: its log does not say why it keeps retrying:\n%s", name, s)
		}
	}
	startSecureWorker(t, m2.Addr, "--join-token-file", writeSecret(t, "jt", joinToken))
	eventually(t, 30*time.Second, "one worker admitted", func() bool {
		code, body := webRequest(t, "GET", m2.URL+"/api/v1/workers", "", bearer)
		var ws struct{ Workers []apiWorker }
		return code == 200 && json.Unmarshal([]byte(body), &ws) == nil && len(ws.Workers) == 1
	})

	// CSRF: the right token does not make a foreign page's or a form's request acceptable.
	for name, h := range map[string]map[string]string{
		"foreign Origin":   {"Authorization": "Bearer " + webToken, "Content-Type": "application/json", "Origin": "https://evil.example"},
		"cross-site":       {"Authorization": "Bearer " + webToken, "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
		"form-encoded":     {"Authorization": "Bearer " + webToken, "Content-Type": "application/x-www-form-urlencoded"},
		"no credentials":   {"Content-Type": "application/json"},
		"wrong basic auth": {"Authorization": "Basic d2ViOm5vcGU=", "Content-Type": "application/json"},
	} {
		if code, body := webRequest(t, "POST", m2.URL+"/api/v1/runs", `{"users": 2}`, h); code < 400 {
			t.Fatalf("%s: start accepted: %d %s", name, code, body)
		}
	}
	if code, body := webRequest(t, "GET", m2.URL+"/api/v1/runs/current", "", bearer); code != http.StatusNotFound {
		t.Fatalf("a refused start started a run: %d %s", code, body)
	}

	// The login page's cookie works like the token.
	req, _ := http.NewRequest("POST", m2.URL+"/login", strings.NewReader(`{"token": "`+webToken+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 1 || !resp.Cookies()[0].HttpOnly {
		t.Fatalf("login: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	cookie := map[string]string{"Cookie": resp.Cookies()[0].String(), "Content-Type": "application/json"}
	if code, body := webRequest(t, "POST", m2.URL+"/api/v1/runs", `{"users": 2, "spawn_rate": 10}`, cookie); code != http.StatusCreated {
		t.Fatalf("start with the session cookie: %d %s", code, body)
	}
	eventually(t, 60*time.Second, "the admitted worker to load the target", func() bool { return tg.stats(t).Total > 0 })
	if code, body := webRequest(t, "POST", m2.URL+"/api/v1/runs/current/stop", "", bearer); code != http.StatusAccepted {
		t.Fatalf("stop: %d %s", code, body)
	}
}

// TestMasterRefusesAnOpenNetworkUI: a --web-listen other machines reach needs credentials.
func TestMasterRefusesAnOpenNetworkUI(t *testing.T) {
	t.Parallel()
	for _, listen := range []string{"0.0.0.0:0", ":0"} {
		cmd := exec.Command(filepath.Join(bin, "stampede-master"), "-f", "examples/quickstart.js",
			"--web-listen", listen, "--master-bind", "127.0.0.1:0")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "reachable from other machines") {
			t.Fatalf("--web-listen %s without credentials: %v, want exit 2 with a reason:\n%s", listen, err, out)
		}
	}
}

// TestMutualTLSWorkers: a master serving mutual TLS admits a worker process with a client
// certificate of its CA, and refuses a plaintext one and one without a certificate.
func TestMutualTLSWorkers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caKey, caCert, caFile := e2eCA(t, dir)
	srvCert, srvKey := e2eLeaf(t, dir, "master", caKey, caCert, x509.ExtKeyUsageServerAuth, "stampede-master.test")
	cliCert, cliKey := e2eLeaf(t, dir, "worker", caKey, caCert, x509.ExtKeyUsageClientAuth, "")
	m := startUIMaster(t, "-f", "examples/quickstart.js",
		"--tls-cert", srvCert, "--tls-key", srvKey, "--tls-client-ca", caFile)
	_, plainLog := startSecureWorker(t, m.Addr)
	_, noCertLog := startSecureWorker(t, m.Addr, "--tls-ca", caFile, "--tls-server-name", "stampede-master.test")
	startSecureWorker(t, m.Addr, "--tls-ca", caFile, "--tls-server-name", "stampede-master.test",
		"--tls-cert", cliCert, "--tls-key", cliKey)
	eventually(t, 30*time.Second, "the worker with a certificate to connect", func() bool { return len(m.workers(t)) == 1 })
	eventually(t, 30*time.Second, "the others to say why they cannot connect", func() bool {
		return strings.Count(plainLog.String(), "cannot reach the master") >= 2 && strings.Count(noCertLog.String(), "cannot reach the master") >= 2
	})
	// Under TLS 1.3 the server's "certificate required" alert may come after the client's first
	// write, so the worker sees that alert or a broken pipe: either way it is not admitted.
	if n := len(m.workers(t)); n != 1 {
		t.Fatalf("%d workers, want only the one with a certificate", n)
	}
}

func e2eCA(t *testing.T, dir string) (*ecdsa.PrivateKey, *x509.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(dir, "ca.crt")
	e2ePEM(t, file, "CERTIFICATE", der)
	return key, cert, file
}

func e2eLeaf(t *testing.T, dir, name string, caKey *ecdsa.PrivateKey, ca *x509.Certificate, usage x509.ExtKeyUsage, dns string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	if dns != "" {
		tmpl.DNSNames = []string{dns}
	} else {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	e2ePEM(t, certFile, "CERTIFICATE", der)
	e2ePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func e2ePEM(t *testing.T, file, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestLoginInBrowser: the login page and the session cookie in Chromium (web/test/login.test.mjs)
// against a master that requires a web token.
func TestLoginInBrowser(t *testing.T) {
	node, chromium := browserDeps(t)
	const token = "browser-5ecret"
	tg := startTarget(t)
	m := startUIMaster(t, "-f", "examples/quickstart.js", "--local-workers", "1", "--web-token", token)
	eventually(t, 20*time.Second, "the local worker to connect", func() bool {
		code, body := webRequest(t, "GET", m.URL+"/api/v1/workers", "", map[string]string{"Authorization": "Bearer " + token})
		var ws struct{ Workers []apiWorker }
		return code == 200 && json.Unmarshal([]byte(body), &ws) == nil && len(ws.Workers) == 1
	})
	runBrowserScript(t, node, chromium, "login.test.mjs", m.URL, tg.URL, "ui-login", "STAMPEDE_WEB_TOKEN="+token)
}

// TestDNSRebindingRefused: a page on evil.example that rebound its name to the loopback address of a
// credential-less master sends requests whose Host and Origin both name evil.example, so they look
// same-origin. The master refuses them (the start, the API, /metrics, the websocket) and no run
// starts on its connected worker; a name given in STAMPEDE_WEB_ALLOWED_HOSTS is served.
func TestDNSRebindingRefused(t *testing.T) {
	t.Parallel()
	tg := startTarget(t)
	m := startUIMasterWithEnv(t, []string{"STAMPEDE_WEB_ALLOWED_HOSTS=stampede.test, ci-master"},
		"-f", "examples/quickstart.js", "-e", "TARGET="+tg.URL)
	startWorker(t, m.Addr)
	eventually(t, 30*time.Second, "the worker to connect", func() bool { return len(m.workers(t)) == 1 })
	_, port, err := net.SplitHostPort(strings.TrimPrefix(m.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	evil := "evil.example:" + port
	rebound := map[string]string{"Host": evil, "Origin": "http://" + evil, "Sec-Fetch-Site": "same-origin",
		"Content-Type": "application/json"}
	code, body := webRequest(t, "POST", m.URL+"/api/v1/runs", `{"users": 2, "spawn_rate": 10}`, rebound)
	if code < 400 || code >= 500 || !strings.Contains(body, "--web-allowed-hosts") {
		t.Fatalf("rebound start: %d %s; want a 4xx that names --web-allowed-hosts", code, body)
	}
	for _, path := range []string{"/api/v1/workers", "/api/v1/config", "/metrics", "/ws", "/"} {
		if code, body := webRequest(t, "GET", m.URL+path, "", map[string]string{"Host": evil}); code != http.StatusMisdirectedRequest {
			t.Fatalf("rebound GET %s: %d %s; want 421", path, code, body)
		}
	}
	if !strings.Contains(m.log(), "DNS rebinding") {
		t.Fatalf("the master did not log the refusal:\n%s", m.log())
	}

	// Nothing started: no run, the worker idle, the target untouched.
	if code, body := webRequest(t, "GET", m.URL+"/api/v1/runs/current", "", nil); code != http.StatusNotFound {
		t.Fatalf("a refused start started a run: %d %s", code, body)
	}
	if ws := m.workers(t); len(ws) != 1 || ws[0].State != "idle" {
		t.Fatalf("workers after the refused start: %+v; want one, idle", ws)
	}
	if n := tg.stats(t).Total; n != 0 {
		t.Fatalf("the target got %d requests", n)
	}

	// The names the operator allows, and localhost, are served.
	for _, host := range []string{"stampede.test:" + port, "CI-MASTER", "localhost:" + port} {
		if code, body := webRequest(t, "GET", m.URL+"/api/v1/workers", "", map[string]string{"Host": host}); code != http.StatusOK {
			t.Fatalf("GET with Host %s: %d %s; want 200", host, code, body)
		}
	}
}
