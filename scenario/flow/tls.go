package flow

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
)

// Files are the files besides the scenario that a run reads, slash-separated and relative to
// the scenario's directory: the data files, then the TLS CA. The master bundles them.
func (s *Scenario) Files() []string {
	var out []string
	for _, d := range s.Data {
		out = append(out, d.File)
	}
	if s.TLS != nil && s.TLS.CA != "" {
		out = append(out, s.TLS.CA)
	}
	return out
}

// LoadCA reads the tls.ca file from fsys (the scenario's directory or the run's bundle), holds
// it to MaxCABytes and checks that it holds PEM certificates that parse. It returns nil when the
// scenario names no CA. Errors name tls.ca's line.
func (s *Scenario) LoadCA(fsys fs.FS) ([]byte, error) {
	if s.TLS == nil || s.TLS.CA == "" {
		return nil, nil
	}
	t := s.TLS
	at := func(msg string, args ...any) error {
		return &Error{File: s.File, Line: t.Line, Col: t.Col, Path: t.Path, Msg: t.CA + ": " + fmt.Sprintf(msg, args...)}
	}
	f, err := fsys.Open(t.CA)
	if err != nil {
		return nil, at("%v", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxCABytes+1))
	if err != nil {
		return nil, at("%v", err)
	}
	if len(src) > MaxCABytes {
		return nil, at("over the limit of %d bytes (MaxCABytes)", MaxCABytes)
	}
	n := 0
	for rest := src; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return nil, at("certificate %d: %v", n+1, err)
		}
		n++
	}
	if n == 0 {
		return nil, at("no PEM certificate (-----BEGIN CERTIFICATE-----) in it")
	}
	return src, nil
}
