package h1

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
)

// TLSOptions are what a scenario may say about TLS.
type TLSOptions struct {
	CAPEM              []byte // extra root CAs (PEM), added to the system roots
	ServerName         string // empty: the host of Options.Addr
	InsecureSkipVerify bool
}

// TLSConfig builds a client config: the system roots, plus CAPEM if given.
func TLSConfig(o TLSOptions) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         o.ServerName,
		InsecureSkipVerify: o.InsecureSkipVerify, //nolint:gosec // the user's explicit choice
		NextProtos:         []string{"http/1.1"},
	}
	if len(o.CAPEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(o.CAPEM) {
			return nil, fmt.Errorf("h1: no PEM certificate found in the CA given")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
