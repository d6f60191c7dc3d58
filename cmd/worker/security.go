package main

import (
	"flag"

	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/rpc"
)

// securityConfig is how the worker proves itself to the master and checks the master
// (docs/security.md).
type securityConfig struct {
	joinToken, joinTokenFile        string
	useTLS                          bool
	tlsCA, tlsCert, tlsKey, tlsName string
}

func (s *securityConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.joinToken, "join-token", "", "the master's join token (prefer --join-token-file)")
	fs.StringVar(&s.joinTokenFile, "join-token-file", "", "file holding --join-token")
	fs.BoolVar(&s.useTLS, "tls", false, "connect to the master over TLS, verified with the system's roots unless --tls-ca (implied by --tls-ca and --tls-cert)")
	fs.StringVar(&s.tlsCA, "tls-ca", "", "PEM CA bundle the master's certificate must chain to (implies --tls)")
	fs.StringVar(&s.tlsCert, "tls-cert", "", "PEM client certificate for a master that requires mutual TLS (with --tls-key)")
	fs.StringVar(&s.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&s.tlsName, "tls-server-name", "", "the name the master's certificate must carry (default: the host of --master)")
}

// dialOptions reads the join token and the certificates the flags name.
func (s *securityConfig) dialOptions() ([]rpc.DialOption, error) {
	tok, err := cli.Secret(s.joinToken, s.joinTokenFile, "join-token")
	if err != nil {
		return nil, err
	}
	opts := []rpc.DialOption{rpc.DialJoinToken(tok)}
	if s.useTLS || s.tlsCA != "" || s.tlsCert != "" || s.tlsKey != "" || s.tlsName != "" {
		cfg, err := rpc.ClientTLS(s.tlsCA, s.tlsCert, s.tlsKey, s.tlsName)
		if err != nil {
			return nil, err
		}
		opts = append(opts, rpc.DialTLS(cfg))
	}
	return opts, nil
}
