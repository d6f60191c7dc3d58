package cli

import (
	"net"
	"strconv"
)

// DialAddr is the address a client on this host dials to reach a listener bound at bound, which
// was asked for as requested (the flag's value): the bound address itself, or for a wildcard
// listener the loopback of its family — ::1 only when IPv6 was asked for explicitly ("[::]:0"),
// 127.0.0.1 otherwise, which a dual-stack wildcard (":0") also accepts. Other kinds of address
// (a Unix socket) are returned as they are.
func DialAddr(bound net.Addr, requested string) string {
	tcp, ok := bound.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return bound.String()
	}
	host := "127.0.0.1"
	if reqHost, _, err := net.SplitHostPort(requested); err == nil && tcp.IP.To4() == nil && reqHost != "" {
		host = "::1"
	}
	return net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}
