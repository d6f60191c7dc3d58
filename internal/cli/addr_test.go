package cli

import (
	"net"
	"testing"
)

func TestDialAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		bound     net.Addr
		requested string
		want      string
	}{
		{"loopback", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}, "127.0.0.1:0", "127.0.0.1:4000"},
		{"any, dual stack", &net.TCPAddr{IP: net.IPv6unspecified, Port: 4000}, ":0", "127.0.0.1:4000"},
		{"ipv4 wildcard", &net.TCPAddr{IP: net.IPv4zero, Port: 4000}, "0.0.0.0:0", "127.0.0.1:4000"},
		{"ipv6 wildcard", &net.TCPAddr{IP: net.IPv6unspecified, Port: 4000}, "[::]:0", "[::1]:4000"},
		{"ipv6 loopback", &net.TCPAddr{IP: net.IPv6loopback, Port: 4000}, "[::1]:0", "[::1]:4000"},
		{"a host's address", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 5557}, "192.0.2.7:5557", "192.0.2.7:5557"},
		{"a unix socket", &net.UnixAddr{Name: "/run/x.sock", Net: "unix"}, "/run/x.sock", "/run/x.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := DialAddr(tt.bound, tt.requested); got != tt.want {
				t.Errorf("DialAddr = %q, want %q", got, tt.want)
			}
		})
	}
}
