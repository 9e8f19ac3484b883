package proxy

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

func TestSelectUpstream(t *testing.T) {
	v4a, v4b := netip.MustParseAddr("192.0.2.200"), netip.MustParseAddr("192.0.2.201")
	v6a, v6b := netip.MustParseAddr("2001:db8::200"), netip.MustParseAddr("2001:db8::201")
	tests := []struct {
		name   string
		client string
		vips   []netip.Addr
		expect netip.Addr // zero: none
	}{
		{name: "IPv4 client, dual stack", client: "198.51.100.7", vips: []netip.Addr{v6a, v4a}, expect: v4a},
		{name: "IPv6 client, dual stack", client: "2001:db8:1::7", vips: []netip.Addr{v4a, v6a}, expect: v6a},
		{name: "IPv4-mapped client counts as IPv4", client: "::ffff:198.51.100.7", vips: []netip.Addr{v6a, v4a}, expect: v4a},
		{name: "first VIP of the family wins", client: "198.51.100.7", vips: []netip.Addr{v4b, v6a, v4a}, expect: v4b},
		{name: "IPv6 client, IPv4-only cluster", client: "2001:db8:1::7", vips: []netip.Addr{v4a, v4b}, expect: v4a},
		{name: "IPv4 client, IPv6-only cluster", client: "198.51.100.7", vips: []netip.Addr{v6b, v6a}, expect: v6b},
		{name: "unparseable client falls back to the first VIP", client: "", vips: []netip.Addr{v6a, v4a}, expect: v6a},
		{name: "no VIPs", client: "198.51.100.7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, _ := netip.ParseAddr(tc.client)
			got, ok := SelectUpstream(client, tc.vips)
			if got != tc.expect || ok != tc.expect.IsValid() {
				t.Errorf("SelectUpstream(%s, %v) = %v, %v; want %v", tc.client, tc.vips, got, ok, tc.expect)
			}
		})
	}
}

func TestClientAddr(t *testing.T) {
	tests := map[string]string{
		"192.0.2.1:1234":        "192.0.2.1",
		"[2001:db8::1]:1234":    "2001:db8::1",
		"[::ffff:192.0.2.1]:80": "192.0.2.1",
		"garbage":               "invalid IP",
	}
	for remote, expect := range tests {
		if got := clientAddr(remote).String(); got != expect {
			t.Errorf("clientAddr(%q) = %s, want %s", remote, got, expect)
		}
	}
}

func TestGuardedDialerRefusesAnythingButIngressVIPs(t *testing.T) {
	// A listener that must never be dialled, on an address that is not an
	// ingress VIP upstream.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
			accepted <- struct{}{}
		}
	}()

	d := newGuardedDialer([]netip.Addr{netip.MustParseAddr("192.0.2.200")}, 80, time.Second)
	for _, target := range []netip.AddrPort{
		ln.Addr().(*net.TCPAddr).AddrPort(),                // another host
		netip.MustParseAddrPort("192.0.2.200:8080"),        // right VIP, wrong port
		netip.MustParseAddrPort("[::ffff:192.0.2.200]:80"), // the VIP, IPv4-mapped
	} {
		if conn, err := d.dialAndWrite(target, []byte("GET / HTTP/1.1\r\n\r\n")); err == nil {
			conn.Close()
			t.Errorf("dialAndWrite(%s) succeeded, want refusal", target)
		}
	}
	select {
	case <-accepted:
		t.Error("the guarded dialer connected to a refused address")
	case <-time.After(50 * time.Millisecond):
	}
}

// Both of a forward's connections, the client's accepted one and the one
// dialled to the router, are made without TCP keep-alive (listenTCP).
func TestConnectionsHaveNoKeepAlive(t *testing.T) {
	ln, err := listenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	d := newGuardedDialer([]netip.Addr{netip.MustParseAddr("127.0.0.1")}, port, time.Second)
	// The listener defers the accept until a request's first bytes are in.
	dialed, err := d.dialAndWrite(ln.Addr().(*net.TCPAddr).AddrPort(), []byte("G"))
	if err != nil {
		t.Fatal(err)
	}
	defer dialed.Close()
	server := <-accepted
	defer server.Close()
	for name, c := range map[string]net.Conn{"dialled": dialed, "accepted": server} {
		if on := keepAlive(t, c); on {
			t.Errorf("%s connection has SO_KEEPALIVE on", name)
		}
	}
}

func keepAlive(t *testing.T, c net.Conn) bool {
	t.Helper()
	var value int
	if err := c.(*socketConn).control(func(fd int) (err error) {
		value, err = syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return value != 0
}
