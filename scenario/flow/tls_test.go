package flow

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestHTTPOptions: tls, maxRedirects and http2 as parsed, their defaults, and their errors with
// the file's line and column.
func TestHTTPOptions(t *testing.T) {
	t.Parallel()
	s, err := Parse("t.yaml", []byte(head+`classes: {a: {steps: [{get: /}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Classes[0].Steps[0].Request
	if s.TLS != nil || s.HTTP2 || s.MaxRedirects != -1 || r.MaxRedirects != -1 || r.Named {
		t.Errorf("defaults: tls %v, http2 %v, maxRedirects %d and %d, named %v", s.TLS, s.HTTP2, s.MaxRedirects, r.MaxRedirects, r.Named)
	}
	s, err = Parse("t.yaml", []byte(head+`tls: {ca: ./certs/../certs/ca.pem, serverName: shop.test, insecureSkipVerify: false}
maxRedirects: 3
http2: true
classes: {a: {steps: [{get: /, name: home, maxRedirects: 0}]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	r = s.Classes[0].Steps[0].Request
	if s.TLS.CA != "certs/ca.pem" || s.TLS.ServerName != "shop.test" || !s.HTTP2 || s.MaxRedirects != 3 || r.MaxRedirects != 0 || !r.Named {
		t.Errorf("got tls %+v, http2 %v, maxRedirects %d and %d, named %v", s.TLS, s.HTTP2, s.MaxRedirects, r.MaxRedirects, r.Named)
	}
	if got := s.Files(); !slices.Equal(got, []string{"certs/ca.pem"}) {
		t.Errorf("Files() = %v", got)
	}

	tests := []struct{ name, src, want string }{
		{"ca outside", "tls: {ca: ../ca.pem}\n",
			`t.yaml:3:11: tls.ca: "../ca.pem": want a path relative to the scenario's directory, with / and without .., so the run's bundle holds it`},
		{"ca absolute", "tls:\n  ca: /etc/ssl/ca.pem\n",
			`t.yaml:4:7: tls.ca: "/etc/ssl/ca.pem": want a path relative to the scenario's directory, with / and without .., so the run's bundle holds it`},
		{"unknown tls key", "tls: {cert: c.pem}\n", "t.yaml:3:7: tls.cert: unknown key; allowed: ca, serverName, insecureSkipVerify"},
		{"server name with port", "tls: {serverName: 'a:443'}\n", `t.yaml:3:19: tls.serverName: "a:443": want a host name, without scheme, port or path`},
		{"insecure not bool", "tls: {insecureSkipVerify: yes please}\n", `t.yaml:3:27: tls.insecureSkipVerify: want true or false, not the string "yes please"`},
		{"maxRedirects negative", "maxRedirects: -1\n", "t.yaml:3:15: maxRedirects: want a whole number from 0 to 100, not -1"},
		{"http2 not bool", "http2: 2\n", "t.yaml:3:8: http2: want true or false, not 2"},
		{"http2 with shared connections", "shareConnections: true\nhttp2: true\n",
			"t.yaml:4:8: http2: not with shareConnections: over HTTP/2 each user keeps its own transport, so that each request's bytes on the wire are its own"},
		{"request maxRedirects", "", "t.yaml:3:46: classes.a.steps[0].maxRedirects: want a whole number from 0 to 100, not 101"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cls := "classes: {a: {steps: [{get: /}]}}\n"
			if tt.name == "request maxRedirects" {
				cls = "classes: {a: {steps: [{get: /, maxRedirects: 101}]}}\n"
			}
			_, err := Parse("t.yaml", []byte(head+tt.src+cls))
			if err == nil || err.Error() != tt.want {
				t.Errorf("Parse: %v\nwant: %s", err, tt.want)
			}
		})
	}
}

func TestLoadCA(t *testing.T) {
	t.Parallel()
	s, err := Parse("dir/t.yaml", []byte(head+"tls:\n  ca: certs/ca.pem\nclasses: {a: {steps: [{get: /}]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	good := testCA(t)
	got, err := s.LoadCA(fstest.MapFS{"certs/ca.pem": {Data: good}})
	if err != nil || string(got) != string(good) {
		t.Fatalf("LoadCA = %d bytes, %v", len(got), err)
	}
	tests := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"missing", fstest.MapFS{}, "dir/t.yaml:4:7: tls.ca: certs/ca.pem: open certs/ca.pem: file does not exist"},
		{"not PEM", fstest.MapFS{"certs/ca.pem": {Data: []byte("hello")}},
			"dir/t.yaml:4:7: tls.ca: certs/ca.pem: no PEM certificate (-----BEGIN CERTIFICATE-----) in it"},
		{"bad certificate", fstest.MapFS{"certs/ca.pem": {Data: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})}},
			"dir/t.yaml:4:7: tls.ca: certs/ca.pem: certificate 1: x509: malformed certificate"},
		{"too big", fstest.MapFS{"certs/ca.pem": {Data: make([]byte, MaxCABytes+1)}},
			"dir/t.yaml:4:7: tls.ca: certs/ca.pem: over the limit of 1048576 bytes (MaxCABytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.LoadCA(tt.fs)
			if err == nil || err.Error() != tt.want {
				t.Errorf("LoadCA: %v\nwant: %s", err, tt.want)
			}
		})
	}
	if ca, err := (&Scenario{}).LoadCA(fstest.MapFS{}); ca != nil || err != nil {
		t.Errorf("no tls.ca: %v, %v; want nothing", ca, err)
	}
}

func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))) + "\n")
}
