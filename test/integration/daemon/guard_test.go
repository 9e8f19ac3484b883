//go:build integration

package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/rules"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// TestProxyPortIsClosedToDirectConnections checks the guard chain: the proxy
// listens on every address of the node, yet only connections that our
// redirect sent there, from an API VIP's port 80, get through. Everything
// else is refused as if the port were closed, direct connections and those
// another table's DNAT sends to the port alike, while the redirect and the
// node's own probes keep working.
func TestProxyPortIsClosedToDirectConnections(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	p := c.startDaemon(t)

	nodeIP4, nodeIP6 := nodeAddrs[0].Addr(), nodeAddrs[1].Addr()
	addForeignDNAT(t, c.node, nodeIP4, nodeIP6)
	refused := []struct {
		name   string
		from   *netns.Namespace
		target netip.AddrPort
	}{
		{"node IPv4 address from a client", c.client, netip.AddrPortFrom(nodeIP4, 8888)},
		{"node IPv6 address from a client", c.client, netip.AddrPortFrom(nodeIP6, 8888)},
		{"API VIP on the proxy port from a client", c.client, netip.AddrPortFrom(apiVIP4, 8888)},
		{"router (upstream) side", c.router, netip.AddrPortFrom(nodeIP4, 8888)},
		{"loopback from the node itself", c.node, netip.MustParseAddrPort("127.0.0.1:8888")},
		{"IPv6 loopback from the node itself", c.node, netip.MustParseAddrPort("[::1]:8888")},
		{"IPv4 API VIP on another port, DNAT'd to the port", c.client, netip.AddrPortFrom(apiVIP4, 8080)},
		{"IPv6 API VIP on another port, DNAT'd to the port", c.client, netip.AddrPortFrom(apiVIP6, 8080)},
		{"node IPv4 address on port 80, DNAT'd to the port", c.client, netip.AddrPortFrom(nodeIP4, 80)},
		{"node IPv6 address on port 80, DNAT'd to the port", c.client, netip.AddrPortFrom(nodeIP6, 80)},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if err := dialRefused(tc.from, tc.target); err != nil {
				t.Error(err)
			}
		})
	}

	t.Run("the redirect still reaches the port", func(t *testing.T) {
		for _, from := range []*netns.Namespace{c.client, c.node} {
			for _, vip := range []netip.Addr{apiVIP4, apiVIP6} {
				if err := challengeServed(from, vip)(); err != nil {
					t.Errorf("challenge via %s from %s: %v", vip, from.Name, err)
				}
			}
		}
	})
	t.Run("the node's own probes still work", func(t *testing.T) {
		if err := readyz(c)(); err != nil {
			t.Errorf("readyz: %v", err)
		}
	})
	t.Run("nft shows the guard", func(t *testing.T) {
		input := c.node.Exec(t, "nft", "list", "chain", "inet", ourTable, "input")
		for _, expect := range []string{
			"type filter hook input priority filter",
			"tcp dport 8888 ct state new ct original ip daddr 192.0.2.100 ct original proto-dst 80 accept",
			"tcp dport 8888 ct state new ct original ip6 daddr 2001:db8::100 ct original proto-dst 80 accept",
			"tcp dport 8888 ct state new reject with tcp reset",
		} {
			if !strings.Contains(input, expect) {
				t.Errorf("input chain lacks %q:\n%s", expect, input)
			}
		}
	})

	// The control: the refusals above are the guard's doing, and the foreign
	// DNAT does reach the port. With the daemon and its table gone, a plain
	// listener on the proxy port accepts every one of those connections;
	// once the same guard is in the kernel again, written by a
	// rules.Kernel of the test's own, it refuses them.
	t.Run("without the guard the port is open", func(t *testing.T) {
		kill(t, p)
		ln, err := c.node.Listen("tcp", ":8888")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				conn.Close()
			}
		}()
		for _, tc := range refused {
			if err := dialRefused(tc.from, tc.target); err == nil {
				t.Fatalf("%s: refused without the guard: the refusals above prove nothing", tc.name)
			}
		}
		f, err := c.node.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		kernel := rules.NewKernel(nftables.WithNetNSFd(int(f.Fd())))
		defer kernel.Close()
		if err := kernel.Apply(rules.Desired([]netip.Addr{apiVIP4, apiVIP6}, 8888)); err != nil {
			t.Fatal(err)
		}
		for _, tc := range refused {
			if err := dialRefused(tc.from, tc.target); err != nil {
				t.Errorf("%s, with the guard back: %v", tc.name, err)
			}
		}
	})
}

// addForeignDNAT adds, in ns, another component's table that sends to the
// proxy port what our redirect never does: an API VIP's port 8080, and port
// 80 of the node's own addresses.
func addForeignDNAT(t *testing.T, ns *netns.Namespace, nodeIP4, nodeIP6 netip.Addr) {
	t.Helper()
	ns.Exec(t, "nft", fmt.Sprintf("add table inet someone_else; "+
		"add chain inet someone_else prerouting { type nat hook prerouting priority dstnat; }; "+
		"add rule inet someone_else prerouting ip daddr %s tcp dport 8080 redirect to :8888; "+
		"add rule inet someone_else prerouting ip6 daddr %s tcp dport 8080 redirect to :8888; "+
		"add rule inet someone_else prerouting ip daddr %s tcp dport 80 dnat ip to %s:8888; "+
		"add rule inet someone_else prerouting ip6 daddr %s tcp dport 80 dnat ip6 to [%s]:8888",
		apiVIP4, apiVIP6, nodeIP4, nodeIP4, nodeIP6, nodeIP6))
}

// dialRefused returns an error unless connecting from ns to target is
// refused (answered with a TCP reset).
func dialRefused(ns *netns.Namespace, target netip.AddrPort) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := ns.DialContext(ctx, "tcp", target.String())
	if err == nil {
		conn.Close()
		return errors.New("connected to " + target.String() + ", want it refused")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return errors.New("connecting to " + target.String() + ": " + err.Error() + ", want connection refused")
	}
	return nil
}
