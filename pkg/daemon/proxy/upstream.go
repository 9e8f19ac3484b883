package proxy

import (
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
	timeout time.Duration
}

func newGuardedDialer(ingressVIPs []netip.Addr, port uint16, timeout time.Duration) *guardedDialer {
	d := &guardedDialer{timeout: timeout}
	for _, vip := range ingressVIPs {
		d.allowed = append(d.allowed, netip.AddrPortFrom(vip, port))
	}
	return d
}

// errNotAnUpstream is what guardedDialer refuses with.
var errNotAnUpstream = errors.New("not an ingress VIP upstream")

// dialAndWrite connects to target, an ingress VIP upstream, and sends
// request. The socket has no TCP keep-alive probes: the connection carries
// one exchange, bounded by its deadlines.
func (d *guardedDialer) dialAndWrite(target netip.AddrPort, request []byte) (net.Conn, error) {
	if !slices.Contains(d.allowed, target) {
		return nil, fmt.Errorf("refusing to dial %s: %w", target, errNotAnUpstream)
	}
	return dialAndWrite(target, d.timeout, request)
}
