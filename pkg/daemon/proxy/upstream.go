package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"
)

// SelectUpstream picks the ingress VIP to forward a client's request to: the
// first one of the client's address family, so that a dual-stack path stays
// in one family end to end, or else the first one of the other family (an
// IPv6 validator still reaches a single-stack IPv4 router).
func SelectUpstream(client netip.Addr, ingressVIPs []netip.Addr) (netip.Addr, bool) {
	wantV4 := client.Unmap().Is4()
	for _, vip := range ingressVIPs {
		if vip.Is4() == wantV4 {
			return vip, true
		}
	}
	if len(ingressVIPs) > 0 {
		return ingressVIPs[0], true
	}
	return netip.Addr{}, false
}

// clientAddr parses http.Request.RemoteAddr. REDIRECT keeps the source
// address, so this is the real client (the CA, or a process on the node).
func clientAddr(remoteAddr string) netip.Addr {
	addrPort, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return addrPort.Addr().Unmap()
}

// guardedDialer dials only the given addresses. The handler already chooses
// the upstream from the ingress VIPs; this makes "the proxy dials nothing
// else" hold even if a future change got that wrong.
type guardedDialer struct {
	allowed []netip.AddrPort
	dialer  net.Dialer
}

func newGuardedDialer(ingressVIPs []netip.Addr, port uint16, timeout time.Duration) *guardedDialer {
	// No keep-alive probes: the connection carries one exchange, bounded
	// by the transport's deadlines (see listenTCP).
	d := &guardedDialer{dialer: net.Dialer{Timeout: timeout, KeepAlive: -1}}
	for _, vip := range ingressVIPs {
		d.allowed = append(d.allowed, netip.AddrPortFrom(vip, port))
	}
	return d
}

// errNotAnUpstream is what guardedDialer refuses with.
var errNotAnUpstream = errors.New("not an ingress VIP upstream")

func (d *guardedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	target, err := netip.ParseAddrPort(address)
	if err != nil || !slices.Contains(d.allowed, target) {
		return nil, fmt.Errorf("refusing to dial %q: %w", address, errNotAnUpstream)
	}
	return d.dialer.DialContext(ctx, network, address)
}
