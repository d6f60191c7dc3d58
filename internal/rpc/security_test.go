package rpc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/stampede-load/stampede/internal/cli/clitest"
	"github.com/stampede-load/stampede/internal/master"
	"github.com/stampede-load/stampede/internal/protocol"
	"github.com/stampede-load/stampede/internal/worker"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // the CA certificate, PEM
}

var serial atomic.Int64

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, file: filepath.Join(dir, name+"-ca.crt")}
	writePEM(t, ca.file, "CERTIFICATE", der)
	return ca
}

// issue writes NAME.crt and NAME.key, a leaf for the given DNS names and IPs, and returns their paths.
func (ca *testCA) issue(t *testing.T, dir, name string, usage x509.ExtKeyUsage, dns []string, ips ...net.IP) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, DNSNames: dns, IPAddresses: ips}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, file, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// secureMaster is a real Coordinator behind a real gRPC server with opts, on a loopback port.
type secureMaster struct {
	core *master.Coordinator
	addr string
	logs *clitest.Output
}

func startSecureMaster(t *testing.T, opts ...ServerOption) *secureMaster {
	t.Helper()
	log, buf := testLogger(t)
	core, err := master.New(master.Options{Loader: fakeLoader{}, WorkDir: t.TempDir(), Version: "test", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(core, log, opts...)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-served
	})
	return &secureMaster{core: core, addr: lis.Addr().String(), logs: buf}
}

// dial says Hello once through a Dialer with opts; it returns the session's error, nil when welcomed.
func (m *secureMaster) dial(t *testing.T, addr string, opts ...DialOption) error {
	t.Helper()
	if addr == "" {
		addr = m.addr
	}
	log, _ := testLogger(t)
	d := NewDialer(addr, log, opts...)
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, _, err := d.Dial(ctx, protocol.Hello{ProtocolMajor: protocol.Major, ProtocolMinor: protocol.Minor,
		WorkerID: "w-" + t.Name(), Host: "h", CPUs: 1, Version: "test"})
	if err != nil {
		return err
	}
	_ = sess.Close()
	return nil
}

func (m *secureMaster) workers() int { return len(m.core.Snapshot().Workers) }

// joined checks the master's side of a welcome: the core took the worker in.
func (m *secureMaster) joined(t *testing.T) {
	t.Helper()
	if !strings.Contains(m.logs.String(), "worker connected") {
		t.Fatalf("welcomed, but the master did not log the worker connecting:\n%s", m.logs)
	}
}

// TestJoinToken: the master admits a worker only with its join token; the worker is told why in an
// Unauthenticated status and the master logs it; the health service needs no token.
func TestJoinToken(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		server      string
		client      string
		wantErr     string // "" when admitted
		wantMasterL string
	}{
		{"no token on either side", "", "", "", ""},
		{"the right token", "join-me", "join-me", "", ""},
		{"a worker token the master does not ask for", "", "whatever", "", ""},
		{"no token", "join-me", "", "requires a join token", "it sent no join token"},
		{"a wrong token", "join-me", "join-you", "wrong join token", "wrong join token"},
		{"a prefix of the token", "join-me", "join", "wrong join token", "wrong join token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := startSecureMaster(t, WithJoinToken(c.server))
			err := m.dial(t, "", DialJoinToken(c.client))
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				m.joined(t)
				return
			}
			if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("got %v, want Unauthenticated: ...%s", err, c.wantErr)
			}
			if n := m.workers(); n != 0 {
				t.Fatalf("%d workers joined, want 0", n)
			}
			if !strings.Contains(m.logs.String(), c.wantMasterL) {
				t.Fatalf("master log lacks %q:\n%s", c.wantMasterL, m.logs)
			}
		})
	}
	t.Run("health needs no token", func(t *testing.T) {
		t.Parallel()
		m := startSecureMaster(t, WithJoinToken("join-me"))
		log, _ := testLogger(t)
		d := NewDialer(m.addr, log)
		defer d.Close()
		if _, err := d.client(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res, err := healthpb.NewHealthClient(d.conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || res.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health check: %v %v", res, err)
		}
	})
}

// TestWorkerRetriesWithWrongToken: a real worker refused for its token keeps retrying (a Secret may
// be fixed under it) and logs why, and never joins.
func TestWorkerRetriesWithWrongToken(t *testing.T) {
	t.Parallel()
	m := startSecureMaster(t, WithJoinToken("join-me"))
	log, buf := testLogger(t)
	w, err := worker.New(worker.Options{Host: "h", CPUs: 1, Version: "test", Exe: "fake-k6", Dir: t.TempDir(),
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDialer(m.addr, log, DialJoinToken("nope"))
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, d) }()
	eventually(t, 10*time.Second, "three refusals in the master's log", func() bool {
		return strings.Count(m.logs.String(), "wrong join token") >= 3
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v, want nil after its context ended", err)
	}
	if !strings.Contains(buf.String(), "refused this worker's credentials") || !strings.Contains(buf.String(), "wrong join token") {
		t.Fatalf("worker log does not say why:\n%s", buf)
	}
	if n := m.workers(); n != 0 {
		t.Fatalf("%d workers joined", n)
	}
}

// TestTLS: TLS and mutual TLS from PEM files, and the ways a worker is refused.
func TestTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newTestCA(t, dir, "stampede")
	other := newTestCA(t, dir, "other")
	srvCert, srvKey := ca.issue(t, dir, "master", x509.ExtKeyUsageServerAuth, []string{"stampede-master"}, net.ParseIP("127.0.0.1"))
	dnsCert, dnsKey := ca.issue(t, dir, "master-dns", x509.ExtKeyUsageServerAuth, []string{"stampede-master.ns.svc"})
	cliCert, cliKey := ca.issue(t, dir, "worker", x509.ExtKeyUsageClientAuth, nil)
	strangerCert, strangerKey := other.issue(t, dir, "stranger", x509.ExtKeyUsageClientAuth, nil)

	serverTLS := func(cert, key, clientCA string) ServerOption {
		cfg, err := ServerTLS(cert, key, clientCA)
		if err != nil {
			t.Fatal(err)
		}
		return WithServerTLS(cfg)
	}
	clientTLS := func(caFile, cert, key, name string) DialOption {
		cfg, err := ClientTLS(caFile, cert, key, name)
		if err != nil {
			t.Fatal(err)
		}
		return DialTLS(cfg)
	}
	cases := []struct {
		name    string
		server  []ServerOption
		client  []DialOption
		wantErr string // "" when admitted; else a part of the error, or alternatives joined by "|"
	}{
		{"TLS", []ServerOption{serverTLS(srvCert, srvKey, "")}, []DialOption{clientTLS(ca.file, "", "", "")}, ""},
		{"TLS with a server name", []ServerOption{serverTLS(dnsCert, dnsKey, "")},
			[]DialOption{clientTLS(ca.file, "", "", "stampede-master.ns.svc")}, ""},
		{"TLS, the address not in the certificate", []ServerOption{serverTLS(dnsCert, dnsKey, "")},
			[]DialOption{clientTLS(ca.file, "", "", "")}, "doesn't contain any IP SANs"},
		{"plaintext worker, TLS master", []ServerOption{serverTLS(srvCert, srvKey, "")}, nil, "Unavailable"},
		{"TLS worker, plaintext master", nil, []DialOption{clientTLS(ca.file, "", "", "")}, "Unavailable"},
		{"wrong CA", []ServerOption{serverTLS(srvCert, srvKey, "")}, []DialOption{clientTLS(other.file, "", "", "")},
			"certificate signed by unknown authority"},
		{"mutual TLS", []ServerOption{serverTLS(srvCert, srvKey, ca.file)}, []DialOption{clientTLS(ca.file, cliCert, cliKey, "")}, ""},
		{"mutual TLS without a client certificate", []ServerOption{serverTLS(srvCert, srvKey, ca.file)},
			[]DialOption{clientTLS(ca.file, "", "", "")}, refusedClientCert("certificate required")},
		{"mutual TLS, client certificate of another CA", []ServerOption{serverTLS(srvCert, srvKey, ca.file)},
			[]DialOption{clientTLS(ca.file, strangerCert, strangerKey, "")}, refusedClientCert("unknown certificate authority")},
		{"mutual TLS and a join token", []ServerOption{serverTLS(srvCert, srvKey, ca.file), WithJoinToken("t")},
			[]DialOption{clientTLS(ca.file, cliCert, cliKey, ""), DialJoinToken("t")}, ""},
		{"TLS and a wrong join token", []ServerOption{serverTLS(srvCert, srvKey, ""), WithJoinToken("t")},
			[]DialOption{clientTLS(ca.file, "", "", ""), DialJoinToken("x")}, "wrong join token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := startSecureMaster(t, c.server...)
			err := m.dial(t, "", c.client...)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.wantErr == "":
				m.joined(t)
			case err == nil || !slices.ContainsFunc(strings.Split(c.wantErr, "|"), func(w string) bool { return strings.Contains(err.Error(), w) }):
				t.Fatalf("got %v, want an error with %q", err, c.wantErr)
			case m.workers() != 0:
				t.Fatalf("%d workers joined, want 0", m.workers())
			}
		})
	}
}

// refusedClientCert is how a dial refused for its client certificate may fail: with TLS 1.3 the
// server judges the certificate after the client's side of the handshake is done, so the client sees
// the server's alert (alert) or, when it wrote first, only the connection closing under it.
func refusedClientCert(alert string) string {
	return alert + "|broken pipe|connection reset by peer"
}

func TestTLSFlagErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newTestCA(t, dir, "ca")
	cert, key := ca.issue(t, dir, "leaf", x509.ExtKeyUsageServerAuth, []string{"x"})
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func() error{
		"server cert without key": func() error { _, err := ServerTLS(cert, "", ""); return err },
		"server key is a cert":    func() error { _, err := ServerTLS(cert, cert, ""); return err },
		"missing client CA":       func() error { _, err := ServerTLS(cert, key, filepath.Join(dir, "nope")); return err },
		"client CA not PEM":       func() error { _, err := ServerTLS(cert, key, notPEM); return err },
		"client cert without key": func() error { _, err := ClientTLS(ca.file, cert, "", ""); return err },
		"CA not PEM":              func() error { _, err := ClientTLS(notPEM, "", "", ""); return err },
	} {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestKeyPairFollowsItsFiles: a renewed certificate (new files) is served without a restart.
func TestKeyPairFollowsItsFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newTestCA(t, dir, "ca")
	cert, key := ca.issue(t, dir, "leaf", x509.ExtKeyUsageServerAuth, []string{"old"})
	kp, err := newKeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	name := func(c *tls.Certificate) string {
		x, _ := x509.ParseCertificate(c.Certificate[0])
		return x.DNSNames[0]
	}
	if got := name(kp.get()); got != "old" {
		t.Fatalf("got %s", got)
	}
	ca.issue(t, dir, "leaf", x509.ExtKeyUsageServerAuth, []string{"renewed"}) // same files
	kp.mu.Lock()
	kp.checked, kp.stamp = time.Time{}, "" // past the once-a-second throttle; mtimes may tie
	kp.mu.Unlock()
	if got := name(kp.get()); got != "renewed" {
		t.Fatalf("got %s after the renewal", got)
	}
	if err := os.WriteFile(key, []byte("half-written"), 0o600); err != nil {
		t.Fatal(err)
	}
	kp.mu.Lock()
	kp.checked, kp.stamp = time.Time{}, ""
	kp.mu.Unlock()
	if got := name(kp.get()); got != "renewed" {
		t.Fatalf("got %s after a broken renewal, want the last good one", got)
	}
}
