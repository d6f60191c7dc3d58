package allowlist

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// ErrInvalid means an entry of the list is neither an IP address, a CIDR range nor a hostname.
var ErrInvalid = errors.New("invalid allow-list entry")

// List is a parsed allow-list. The zero List (or nil) allows everything.
type List struct {
	entries  []string       // as given, for display
	prefixes []netip.Prefix // allowed ranges, masked
	hosts    []string       // hostnames, resolved per run
}

// Resolver looks up a hostname's addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)

// Parse reads entries: IP addresses ("127.0.0.1", "::1"), CIDR ranges ("10.0.0.0/8", "fd00::/8") and
// hostnames ("api.example.com"). Empty entries are skipped; an empty list allows everything.
func Parse(entries []string) (*List, error) {
	l := &List{}
	for _, raw := range entries {
		e := strings.TrimSpace(raw)
		if e == "" {
			continue
		}
		switch {
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("%w %q: %v", ErrInvalid, e, err)
			}
			l.prefixes = append(l.prefixes, unmap(p))
		case strings.Contains(e, "*"):
			return nil, fmt.Errorf("%w %q: wildcards cannot be enforced, since k6 checks the address it dials and a wildcard "+
				"names no fixed set of addresses; list each hostname, or the CIDR ranges the names resolve to", ErrInvalid, e)
		default:
			if a, err := netip.ParseAddr(e); err == nil {
				if a.Zone() != "" {
					return nil, fmt.Errorf("%w %q: zoned addresses are not supported", ErrInvalid, e)
				}
				l.prefixes = append(l.prefixes, unmap(netip.PrefixFrom(a, a.BitLen())))
				break
			}
			if !validHostname(e) {
				return nil, fmt.Errorf("%w %q: not an IP address, CIDR range or hostname", ErrInvalid, e)
			}
			l.hosts = append(l.hosts, strings.ToLower(strings.TrimSuffix(e, ".")))
		}
		l.entries = append(l.entries, e)
	}
	return l, nil
}

// unmap writes an IPv4-mapped IPv6 range (::ffff:10.0.0.0/104) as the IPv4 range it is: k6 compares
// IPv4 addresses with IPv4 ranges only.
func unmap(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
	}
	return p.Masked()
}

func validHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Empty reports whether the list allows everything (nothing was listed).
func (l *List) Empty() bool { return l == nil || len(l.entries) == 0 }

// Entries returns the list as given (normalised spacing), for display.
func (l *List) Entries() []string {
	if l == nil {
		return nil
	}
	return slices.Clone(l.entries)
}

func (l *List) String() string { return strings.Join(l.Entries(), ",") }

// Blocked returns the ranges k6 must refuse to dial: the complement of the listed ranges and of the
// addresses the listed hostnames resolve to now. It returns nil for an empty list. A hostname that
// does not resolve is an error: a run would otherwise fail every request with a blocked-IP error.
func (l *List) Blocked(ctx context.Context, r Resolver) ([]netip.Prefix, error) {
	if l.Empty() {
		return nil, nil
	}
	allowed := slices.Clone(l.prefixes)
	for _, h := range l.hosts {
		addrs, err := r.LookupNetIP(ctx, "ip", h)
		if err != nil {
			return nil, fmt.Errorf("allow-list: resolving %s: %w", h, err)
		}
		for _, a := range addrs {
			a = a.Unmap()
			allowed = append(allowed, netip.PrefixFrom(a.WithZone(""), a.BitLen()))
		}
	}
	return Complement(allowed), nil
}

// Complement returns the fewest CIDR ranges, IPv4 and IPv6, that cover exactly the addresses in no
// allowed range: an address is in one of the result's ranges if and only if it is in none of allowed.
// IPv4 ranges and IPv6 ranges are separate universes (0.0.0.0/0 and ::/0). The result is sorted.
func Complement(allowed []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, bits := range []int{32, 128} {
		var fam []netip.Prefix
		for _, p := range allowed {
			if p.IsValid() && p.Addr().BitLen() == bits {
				fam = append(fam, p.Masked())
			}
		}
		slices.SortFunc(fam, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
		first := netip.IPv4Unspecified()
		if bits == 128 {
			first = netip.IPv6Unspecified()
		}
		next, done := first, false // next: the lowest address not yet allowed or covered
		for _, p := range fam {
			if done {
				break
			}
			lo, hi := p.Addr(), last(p)
			if lo.Compare(next) > 0 {
				out = append(out, rangePrefixes(next, lo.Prev())...)
			}
			if hi.Compare(next) >= 0 {
				if n := hi.Next(); n.IsValid() {
					next = n
				} else {
					done = true // the range reaches the top of the family
				}
			}
		}
		if !done {
			out = append(out, rangePrefixes(next, last(netip.PrefixFrom(first, 0)))...)
		}
	}
	return out
}

// last is the highest address of p.
func last(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	b := a.As16()
	off := 128 - a.BitLen() // IPv4 sits in the last 4 bytes of As16
	for i := off + p.Bits(); i < 128; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	r := netip.AddrFrom16(b)
	if a.Is4() {
		return r.Unmap()
	}
	return r
}

// rangePrefixes covers lo..hi (inclusive, same family, lo <= hi) with the fewest prefixes.
func rangePrefixes(lo, hi netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for {
		// The largest block that starts at lo and ends at or before hi.
		var p netip.Prefix
		for bits := 0; bits <= lo.BitLen(); bits++ {
			c := netip.PrefixFrom(lo, bits)
			if c.Masked().Addr() == lo && last(c).Compare(hi) <= 0 {
				p = c
				break
			}
		}
		out = append(out, p)
		end := last(p)
		if end == hi {
			return out
		}
		lo = end.Next()
	}
}

// Strings formats prefixes for k6's --blacklist-ip flag.
func Strings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
