package allowlist

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func prefixes(t *testing.T, ss ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestComplement(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		allowed []string
		want    []string
	}{
		{name: "nothing allowed", want: []string{"0.0.0.0/0", "::/0"}},
		{name: "everything allowed", allowed: []string{"0.0.0.0/0", "::/0"}},
		{name: "one IPv4 address", allowed: []string{"127.0.0.1/32"}, want: []string{
			"0.0.0.0/2", "64.0.0.0/3", "96.0.0.0/4", "112.0.0.0/5", "120.0.0.0/6", "124.0.0.0/7", "126.0.0.0/8",
			"127.0.0.0/32", "127.0.0.2/31", "127.0.0.4/30", "127.0.0.8/29", "127.0.0.16/28", "127.0.0.32/27",
			"127.0.0.64/26", "127.0.0.128/25", "127.0.1.0/24", "127.0.2.0/23", "127.0.4.0/22", "127.0.8.0/21",
			"127.0.16.0/20", "127.0.32.0/19", "127.0.64.0/18", "127.0.128.0/17", "127.1.0.0/16", "127.2.0.0/15",
			"127.4.0.0/14", "127.8.0.0/13", "127.16.0.0/12", "127.32.0.0/11", "127.64.0.0/10", "127.128.0.0/9",
			"128.0.0.0/1", "::/0"}},
		{name: "lower half", allowed: []string{"0.0.0.0/1"}, want: []string{"128.0.0.0/1", "::/0"}},
		{name: "upper half and overlapping", allowed: []string{"128.0.0.0/1", "192.168.0.0/16"}, want: []string{"0.0.0.0/1", "::/0"}},
		{name: "adjacent ranges merge", allowed: []string{"0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2"}, want: []string{"::/0"}},
		{name: "IPv6 only", allowed: []string{"8000::/1"}, want: []string{"0.0.0.0/0", "::/1"}},
		{name: "top address", allowed: []string{"255.255.255.255/32"}, want: []string{
			"0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4", "240.0.0.0/5", "248.0.0.0/6", "252.0.0.0/7",
			"254.0.0.0/8", "255.0.0.0/9", "255.128.0.0/10", "255.192.0.0/11", "255.224.0.0/12", "255.240.0.0/13",
			"255.248.0.0/14", "255.252.0.0/15", "255.254.0.0/16", "255.255.0.0/17", "255.255.128.0/18",
			"255.255.192.0/19", "255.255.224.0/20", "255.255.240.0/21", "255.255.248.0/22", "255.255.252.0/23",
			"255.255.254.0/24", "255.255.255.0/25", "255.255.255.128/26", "255.255.255.192/27", "255.255.255.224/28",
			"255.255.255.240/29", "255.255.255.248/30", "255.255.255.252/31", "255.255.255.254/32", "::/0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Strings(Complement(prefixes(t, tt.allowed...)))
			if !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("Complement(%v) =\n%v\nwant\n%v", tt.allowed, got, tt.want)
			}
		})
	}
}

// TestComplementProperty checks, for random allow-lists, that an address is blocked if and only if no
// allowed range contains it, probing random addresses and every range's edges and their neighbours.
func TestComplementProperty(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	randAddr := func(v6 bool) netip.Addr {
		if v6 {
			var b [16]byte
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			if rng.IntN(2) == 0 { // cluster near the bottom so ranges meet
				clear(b[2:12])
			}
			return netip.AddrFrom16(b)
		}
		var b [4]byte
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		if rng.IntN(2) == 0 {
			b[0] = 10
		}
		return netip.AddrFrom4(b)
	}
	for round := range 300 {
		var allowed []netip.Prefix
		for range rng.IntN(6) {
			v6 := rng.IntN(3) == 0
			a := randAddr(v6)
			allowed = append(allowed, netip.PrefixFrom(a, rng.IntN(a.BitLen()+1)).Masked())
		}
		blocked := Complement(allowed)
		for i := 1; i < len(blocked); i++ {
			if blocked[i-1].Overlaps(blocked[i]) {
				t.Fatalf("round %d: blocked ranges overlap: %v %v", round, blocked[i-1], blocked[i])
			}
		}
		var probes []netip.Addr
		for _, p := range append(slices.Clone(allowed), blocked...) {
			for _, a := range []netip.Addr{p.Addr(), p.Addr().Prev(), last(p), last(p).Next()} {
				if a.IsValid() {
					probes = append(probes, a)
				}
			}
		}
		for range 50 {
			probes = append(probes, randAddr(rng.IntN(2) == 0))
		}
		for _, a := range probes {
			in := func(ps []netip.Prefix) bool {
				return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(a) })
			}
			if in(allowed) == in(blocked) {
				t.Fatalf("round %d: %v allowed=%v blocked=%v; allow-list %v, blocked %v", round, a, in(allowed), in(blocked), allowed, blocked)
			}
		}
	}
}

type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func TestParseAndBlocked(t *testing.T) {
	t.Parallel()
	res := fakeResolver{"target.example": {netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::7")}}
	tests := []struct {
		name           string
		entries        []string
		wantErr        string
		allow, block   []string
		wantBlockedNil bool
	}{
		{name: "empty allows everything", entries: []string{"", " "}, wantBlockedNil: true},
		{name: "CIDR", entries: []string{"10.0.0.0/8"}, allow: []string{"10.1.2.3"}, block: []string{"127.0.0.1", "11.0.0.0", "::1"}},
		{name: "address and IPv6 range", entries: []string{"127.0.0.1", "fd00::/8"},
			allow: []string{"127.0.0.1", "fd12::1"}, block: []string{"127.0.0.2", "fe80::1", "::1"}},
		{name: "IPv4-mapped range is IPv4", entries: []string{"::ffff:10.0.0.0/104"}, allow: []string{"10.9.9.9"}, block: []string{"11.0.0.1"}},
		{name: "hostname resolved", entries: []string{"Target.Example."}, allow: []string{"192.0.2.7", "2001:db8::7"}, block: []string{"192.0.2.8"}},
		{name: "wildcard refused", entries: []string{"*.example.com"}, wantErr: "wildcards cannot be enforced"},
		{name: "bad CIDR", entries: []string{"10.0.0.0/33"}, wantErr: "invalid allow-list entry"},
		{name: "bad name", entries: []string{"a b"}, wantErr: "not an IP address, CIDR range or hostname"},
		{name: "unresolvable name", entries: []string{"nowhere.example"}, wantErr: "resolving nowhere.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := Parse(tt.entries)
			var blocked []netip.Prefix
			if err == nil {
				blocked, err = l.Blocked(context.Background(), res)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantBlockedNil != (blocked == nil) {
				t.Fatalf("blocked = %v", blocked)
			}
			contains := func(s string) bool {
				a := netip.MustParseAddr(s)
				return slices.ContainsFunc(blocked, func(p netip.Prefix) bool { return p.Contains(a) })
			}
			for _, a := range tt.allow {
				if contains(a) {
					t.Errorf("%s is blocked, want allowed", a)
				}
			}
			for _, a := range tt.block {
				if !contains(a) {
					t.Errorf("%s is allowed, want blocked", a)
				}
			}
		})
	}
}
