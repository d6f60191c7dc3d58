package worker

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
)

// fixedResolver answers every name with its addresses.
type fixedResolver map[string][]netip.Addr

func (f fixedResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if ips, ok := f[host]; ok {
		return ips, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// The native engine's dialer holds every address, given or resolved, to --allow-hosts: a name
// whose DNS answer is blocked is refused, as is a blocked IP; an allowed answer is dialled even
// when another answer is blocked.
func TestAllowDialer(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	blocked := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.2/32"), netip.MustParsePrefix("192.168.0.0/16")}
	r := fixedResolver{
		"target.test": {netip.MustParseAddr("127.0.0.1")},
		"rebind.test": {netip.MustParseAddr("10.1.2.3")},
		"mixed.test":  {netip.MustParseAddr("192.168.1.1"), netip.MustParseAddr("127.0.0.1")},
	}
	dial := allowDialer(blocked, r)
	for _, tc := range []struct {
		addr    string
		blocked bool
	}{
		{"127.0.0.1:" + port, false},
		{"target.test:" + port, false},
		{"mixed.test:" + port, false},
		{"127.0.0.2:" + port, true},
		{"rebind.test:" + port, true},
		{"[::ffff:10.0.0.1]:" + port, true},
	} {
		c, err := dial(t.Context(), "tcp", tc.addr)
		if c != nil {
			c.Close()
		}
		switch {
		case tc.blocked && !errors.Is(err, errBlocked):
			t.Errorf("%s: %v, want it blocked", tc.addr, err)
		case !tc.blocked && err != nil:
			t.Errorf("%s: %v, want a connection", tc.addr, err)
		}
	}
	if _, err := allowDialer(nil, r)(t.Context(), "tcp", "127.0.0.1:"+port); err != nil {
		t.Errorf("no allow-list: %v", err)
	}
}
