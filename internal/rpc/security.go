package rpc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	pb "github.com/stampede-load/stampede/proto/stampede/v1"
)

// joinTokenKey is the metadata key a worker's join token travels in, on every call.
const joinTokenKey = "authorization"

// ServerOption configures NewServer.
type ServerOption func(*serverConfig)

type serverConfig struct {
	joinToken        string
	tls              *tls.Config
	handshakeTimeout time.Duration
}

// WithJoinToken makes the server admit only workers that present token (see DialJoinToken); the
// health service stays open for probes. An empty token admits everyone.
func WithJoinToken(token string) ServerOption { return func(c *serverConfig) { c.joinToken = token } }

// WithServerTLS serves TLS (mutual TLS when cfg requires client certificates); see ServerTLS.
func WithServerTLS(cfg *tls.Config) ServerOption { return func(c *serverConfig) { c.tls = cfg } }

func serverOptions(log *slog.Logger, opts []ServerOption) []grpc.ServerOption {
	var c serverConfig
	for _, o := range opts {
		o(&c)
	}
	if c.handshakeTimeout <= 0 {
		c.handshakeTimeout = handshakeTimeout
	}
	out := []grpc.ServerOption{grpc.ConnectionTimeout(c.handshakeTimeout)}
	if c.tls != nil {
		out = append(out, grpc.Creds(credentials.NewTLS(c.tls)))
	}
	if c.joinToken != "" {
		check := tokenChecker(c.joinToken, log)
		out = append(out,
			grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				if err := check(ss.Context(), info.FullMethod); err != nil {
					return err
				}
				return h(srv, ss)
			}),
			grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				if err := check(ctx, info.FullMethod); err != nil {
					return nil, err
				}
				return h(ctx, req)
			}))
	}
	return out
}

// tokenChecker refuses calls to the Coordinator service without the join token. The comparison
// takes the same time whatever the given token is (hashing hides its length).
func tokenChecker(token string, log *slog.Logger) func(ctx context.Context, method string) error {
	want := hashToken(token)
	prefix := "/" + pb.Coordinator_ServiceDesc.ServiceName + "/"
	return func(ctx context.Context, method string) error {
		if !strings.HasPrefix(method, prefix) {
			return nil
		}
		var given []string
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			given = md.Get(joinTokenKey)
		}
		from := "unknown"
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			from = p.Addr.String()
		}
		if len(given) == 0 {
			log.Warn("refused a worker: it sent no join token (start it with --join-token or --join-token-file)", "peer", from)
			return status.Error(codes.Unauthenticated, "the master requires a join token: start the worker with --join-token or --join-token-file")
		}
		tok, _ := strings.CutPrefix(given[0], "Bearer ")
		if !tokenEqual(hashToken(tok), want) {
			log.Warn("refused a worker: wrong join token", "peer", from)
			return status.Error(codes.Unauthenticated, "wrong join token: the worker's --join-token does not match the master's")
		}
		return nil
	}
}

// DialOption configures NewDialer.
type DialOption func(*dialConfig)

type dialConfig struct {
	joinToken string
	tls       *tls.Config
}

// DialJoinToken sends token to the master with every call (see WithJoinToken).
func DialJoinToken(token string) DialOption { return func(c *dialConfig) { c.joinToken = token } }

// DialTLS connects over TLS (see ClientTLS); without it the connection is plaintext.
func DialTLS(cfg *tls.Config) DialOption { return func(c *dialConfig) { c.tls = cfg } }

func (c dialConfig) options() []grpc.DialOption {
	out := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if c.tls != nil {
		out[0] = grpc.WithTransportCredentials(credentials.NewTLS(c.tls))
	}
	if c.joinToken != "" {
		out = append(out, grpc.WithPerRPCCredentials(joinToken{token: c.joinToken, secure: c.tls != nil}))
	}
	return out
}

// joinToken is the worker's per-call credential. It is sent over plaintext too when TLS is off: the
// token then only keeps out workers that were not given it, not an eavesdropper (docs/security.md).
type joinToken struct {
	token  string
	secure bool
}

func (t joinToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{joinTokenKey: "Bearer " + t.token}, nil
}

func (t joinToken) RequireTransportSecurity() bool { return t.secure }

// ServerTLS returns the master's TLS configuration from PEM files: its certificate (chain) and key,
// and, when clientCAFile is given, the CA bundle every worker's client certificate must chain to
// (mutual TLS). The certificate and key are read again when their files change, so a renewed
// certificate (cert-manager rewrites the mounted Secret) is served without a restart; the CA bundle
// is read once.
func ServerTLS(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	kp, err := newKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return kp.get(), nil }}
	if clientCAFile != "" {
		if cfg.ClientCAs, err = readPool(clientCAFile, "--tls-client-ca"); err != nil {
			return nil, err
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ClientTLS returns a worker's TLS configuration: caFile verifies the master (empty: the system's
// roots), certFile and keyFile (both or neither) are its client certificate for mutual TLS, and
// serverName (optional) is the name the master's certificate must carry when it differs from the
// host in the master's address.
func ClientTLS(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	var err error
	if caFile != "" {
		if cfg.RootCAs, err = readPool(caFile, "--tls-ca"); err != nil {
			return nil, err
		}
	}
	switch {
	case certFile != "" && keyFile != "":
		kp, err := newKeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return kp.get(), nil }
	case certFile != "" || keyFile != "":
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	return cfg, nil
}

func readPool(file, flag string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s %s: no PEM certificate in it", flag, file)
	}
	return pool, nil
}

// keyPair is a certificate and key that follow their files: get rereads them, at most once a
// second, when a file's modification time changed. A pair that fails to load (a half-written
// renewal) leaves the last good one in use.
type keyPair struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

func newKeyPair(certFile, keyFile string) (*keyPair, error) {
	kp := &keyPair{certFile: certFile, keyFile: keyFile}
	stamp, err := kp.modStamp()
	if err == nil {
		err = kp.load(stamp)
	}
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", certFile, keyFile, err)
	}
	return kp, nil
}

func (kp *keyPair) modStamp() (string, error) {
	var b strings.Builder
	for _, f := range []string{kp.certFile, kp.keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%d/%d;", st.ModTime().UnixNano(), st.Size())
	}
	return b.String(), nil
}

func (kp *keyPair) load(stamp string) error {
	c, err := tls.LoadX509KeyPair(kp.certFile, kp.keyFile)
	if err != nil {
		return err
	}
	kp.cert, kp.stamp = &c, stamp
	return nil
}

func (kp *keyPair) get() *tls.Certificate {
	kp.mu.Lock()
	defer kp.mu.Unlock()
	if now := time.Now(); now.Sub(kp.checked) >= time.Second {
		kp.checked = now
		if stamp, err := kp.modStamp(); err == nil && stamp != kp.stamp {
			_ = kp.load(stamp)
		}
	}
	return kp.cert
}

func hashToken(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func tokenEqual(a, b [32]byte) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }
