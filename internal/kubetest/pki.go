//go:build linux

package kubetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is what the API server needs: a serving certificate (self-signed, so it is its own CA), the
// key that signs ServiceAccount tokens, a CA for client certificates (kubelets, and the API server's
// own client certificate towards kubelets) and a front-proxy CA, whose client certificate the API
// server presents to extension API servers (metrics-server) behind the aggregator.
type pki struct {
	CertFile, KeyFile    string // serving certificate and key; CertFile is also the CA clients trust
	SAKeyFile, SAPubFile string // ServiceAccount token signing key and its public half
	CACert               []byte // PEM of CertFile

	ClientCA                   *certKey // signs client certificates; its certificate is ClientCAFile
	ClientCAFile               string
	KubeletClientCertFile      string // the API server's identity towards kubelets (system:masters)
	KubeletClientKeyFile       string
	FrontProxyCAFile           string
	FrontProxyClientCertFile   string // CN front-proxy-client, signed by the front-proxy CA
	FrontProxyClientKeyFile    string
	frontProxyClientCommonName string
}

// certKey is a certificate with its key.
type certKey struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// certValidity is how long every certificate is valid: longer than any test.
const certValidity = 24 * time.Hour

// writePKI generates the keys into dir; the serving certificate also names ips. ECDSA P-256
// throughout: quick to generate, and the API server signs tokens with ES256.
func writePKI(dir string, ips []net.IP) (pki, error) {
	p := pki{
		CertFile:                   filepath.Join(dir, "apiserver.crt"),
		KeyFile:                    filepath.Join(dir, "apiserver.key"),
		SAKeyFile:                  filepath.Join(dir, "sa.key"),
		SAPubFile:                  filepath.Join(dir, "sa.pub"),
		ClientCAFile:               filepath.Join(dir, "client-ca.crt"),
		KubeletClientCertFile:      filepath.Join(dir, "apiserver-kubelet-client.crt"),
		KubeletClientKeyFile:       filepath.Join(dir, "apiserver-kubelet-client.key"),
		FrontProxyCAFile:           filepath.Join(dir, "front-proxy-ca.crt"),
		FrontProxyClientCertFile:   filepath.Join(dir, "front-proxy-client.crt"),
		FrontProxyClientKeyFile:    filepath.Join(dir, "front-proxy-client.key"),
		frontProxyClientCommonName: "front-proxy-client",
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return p, err
	}
	serial, err := randomSerial()
	if err != nil {
		return p, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "kubetest-apiserver"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		IsCA:                  true, // self-signed: clients trust it as the root of its own chain
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           append([]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.ParseIP(serviceIP)}, ips...),
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return p, err
	}
	p.CACert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(p.CertFile, p.CACert, 0o600); err != nil {
		return p, err
	}
	if err := writeECKey(p.KeyFile, "", key); err != nil {
		return p, err
	}

	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return p, err
	}
	if err := writeECKey(p.SAKeyFile, p.SAPubFile, saKey); err != nil {
		return p, err
	}

	if p.ClientCA, err = newCA("kubetest-client-ca", p.ClientCAFile); err != nil {
		return p, err
	}
	kc, err := p.ClientCA.signClient("kubetest-apiserver-kubelet-client", []string{"system:masters"})
	if err != nil {
		return p, err
	}
	if err := kc.write(p.KubeletClientCertFile, p.KubeletClientKeyFile); err != nil {
		return p, err
	}
	fp, err := newCA("kubetest-front-proxy-ca", p.FrontProxyCAFile)
	if err != nil {
		return p, err
	}
	fc, err := fp.signClient(p.frontProxyClientCommonName, nil)
	if err != nil {
		return p, err
	}
	return p, fc.write(p.FrontProxyClientCertFile, p.FrontProxyClientKeyFile)
}

// newCA makes a self-signed CA and writes its certificate to certFile.
func newCA(name, certFile string) (*certKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca := &certKey{cert: cert, key: key}
	return ca, os.WriteFile(certFile, ca.certPEM(), 0o600)
}

// signClient issues a client certificate for user in groups: the API server reads the user from
// the common name and the groups from the organizations.
func (ca *certKey) signClient(user string, groups []string) (*certKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: user, Organization: groups},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &certKey{cert: cert, key: key}, nil
}

func (c *certKey) certPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
}

func (c *certKey) keyPEM() ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(c.key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func (c *certKey) write(certFile, keyFile string) error {
	if err := os.WriteFile(certFile, c.certPEM(), 0o600); err != nil {
		return err
	}
	return writeECKey(keyFile, "", c.key)
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
}

// writeECKey writes key as an EC PRIVATE KEY PEM to keyFile and, if pubFile is set, its public
// half as a PUBLIC KEY PEM.
func writeECKey(keyFile, pubFile string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	if pubFile == "" {
		return nil
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	return os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
}
