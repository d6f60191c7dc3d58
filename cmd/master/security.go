package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/stampede-load/stampede/internal/cli"
	"github.com/stampede-load/stampede/internal/rpc"
	"github.com/stampede-load/stampede/web"
)

// securityConfig is who may use the master: the UI and API's credentials, the workers' join token,
// and the workers' TLS (docs/security.md).
type securityConfig struct {
	webToken, webTokenFile         string
	webBasicAuth, webBasicAuthFile string
	joinToken, joinTokenFile       string
	tlsCert, tlsKey, tlsClientCA   string
	webAllowedHosts                string
	webAuth                        web.Auth
	// checkHost and allowedHosts are the web server's guard against DNS rebinding (web.Options).
	checkHost    bool
	allowedHosts []string
	join         string
	tls          *tls.Config
}

func (s *securityConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.webToken, "web-token", "", "bearer token the web UI, API and /metrics require (prefer --web-token-file; see docs/security.md)")
	fs.StringVar(&s.webTokenFile, "web-token-file", "", "file holding --web-token")
	fs.StringVar(&s.webBasicAuth, "web-basic-auth", "", "USER:PASSWORD the web UI, API and /metrics accept as HTTP basic auth (prefer --web-basic-auth-file)")
	fs.StringVar(&s.webBasicAuthFile, "web-basic-auth-file", "", "file holding --web-basic-auth's USER:PASSWORD")
	fs.StringVar(&s.webAllowedHosts, "web-allowed-hosts", "", "comma-separated host names the web UI answers to besides IP addresses and localhost "+
		"(checked on a loopback --web-listen always, elsewhere when given; see docs/security.md)")
	fs.StringVar(&s.joinToken, "join-token", "", "token every worker must present (its --join-token) to be admitted (prefer --join-token-file)")
	fs.StringVar(&s.joinTokenFile, "join-token-file", "", "file holding --join-token")
	fs.StringVar(&s.tlsCert, "tls-cert", "", "PEM certificate (chain) the master presents to workers: serve gRPC over TLS (with --tls-key)")
	fs.StringVar(&s.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&s.tlsClientCA, "tls-client-ca", "", "PEM CA bundle workers' client certificates must chain to: require mutual TLS")
}

// load reads the secrets and certificates. A web address reachable from other machines without
// credentials is refused: anyone who reaches it could point the fleet at any host.
func (s *securityConfig) load(webListen string, localWorkers int) error {
	var err error
	if s.webAuth.Token, err = cli.Secret(s.webToken, s.webTokenFile, "web-token"); err != nil {
		return err
	}
	basic, err := cli.Secret(s.webBasicAuth, s.webBasicAuthFile, "web-basic-auth")
	if err != nil {
		return err
	}
	if basic != "" {
		user, pass, ok := strings.Cut(basic, ":")
		if !ok || user == "" || pass == "" {
			return errors.New("--web-basic-auth: want USER:PASSWORD")
		}
		s.webAuth.User, s.webAuth.Password = user, pass
	}
	if webListen != "" && !web.IsLoopback(webListen) && !s.webAuth.Enabled() {
		return fmt.Errorf("--web-listen %s is reachable from other machines, and the web UI and API start runs against any host: "+
			"give them credentials with --web-token-file (or --web-token, --web-basic-auth[-file]), or listen on 127.0.0.1 (see docs/security.md)", webListen)
	}
	for _, h := range strings.Split(s.webAllowedHosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			s.allowedHosts = append(s.allowedHosts, h)
		}
	}
	// Without credentials a page that rebinds its name to 127.0.0.1 could drive the master, so a
	// loopback listener checks the Host header; elsewhere credentials are required, and the check is
	// the operator's choice.
	s.checkHost = webListen != "" && (web.IsLoopback(webListen) || len(s.allowedHosts) > 0)
	if s.join, err = cli.Secret(s.joinToken, s.joinTokenFile, "join-token"); err != nil {
		return err
	}
	switch {
	case s.tlsCert == "" && s.tlsKey == "" && s.tlsClientCA == "":
		return nil
	case s.tlsCert == "" || s.tlsKey == "":
		return errors.New("--tls-cert and --tls-key go together (and --tls-client-ca needs them)")
	case localWorkers > 0:
		return errors.New("--local-workers run inside the master and do not use TLS: drop --tls-cert, or start the workers as processes (stampede-worker --tls-ca)")
	}
	s.tls, err = rpc.ServerTLS(s.tlsCert, s.tlsKey, s.tlsClientCA)
	return err
}

func (s *securityConfig) serverOptions() []rpc.ServerOption {
	return []rpc.ServerOption{rpc.WithJoinToken(s.join), rpc.WithServerTLS(s.tls)}
}

// localDialOptions: workers inside the master share its join token (TLS and local workers do not mix).
func (s *securityConfig) localDialOptions() []rpc.DialOption {
	return []rpc.DialOption{rpc.DialJoinToken(s.join)}
}
