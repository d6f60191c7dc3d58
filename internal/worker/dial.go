package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// errBlocked is a dial to an address --allow-hosts does not allow. The k6 engine's own message
// for it is "ip is blacklisted"; the native engine says which address and why.
var errBlocked = errors.New("blocked by the worker's --allow-hosts")

// hostResolver is the part of *net.Resolver a dialer needs.
type hostResolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// allowDialer returns the native engine's dial function: it resolves the host itself and connects
// only to an address outside blocked (the complement of --allow-hosts, as the k6 engine is given),
// so neither a name nor a DNS answer can take a test where the worker may not go. With no blocked
// prefixes it dials as net.Dialer does.
func allowDialer(blocked []netip.Prefix, r hostResolver) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	if len(blocked) == 0 {
		return d.DialContext
	}
	isBlocked := func(ip netip.Addr) bool {
		return slices.ContainsFunc(blocked, func(p netip.Prefix) bool { return p.Contains(ip) })
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		var ips []netip.Addr
		if ip, err := netip.ParseAddr(host); err == nil {
			ips = []netip.Addr{ip}
		} else if ips, err = r.LookupNetIP(ctx, "ip", host); err != nil {
			return nil, err
		}
		var lastErr error
		for _, ip := range ips {
			ip = ip.Unmap()
			if isBlocked(ip) {
				// The engine's error says "dial <addr>:" before it.
				lastErr = fmt.Errorf("%s: %w", ip, errBlocked)
				continue
			}
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
			if err == nil {
				return c, nil
			}
			lastErr = err
		}
		if lastErr == nil {
			lastErr = fmt.Errorf("dial %s: no address", addr)
		}
		return nil, lastErr
	}
}
