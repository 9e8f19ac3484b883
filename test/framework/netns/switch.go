package netns

import (
	"fmt"
	"net/netip"
	"testing"
)

// Switch is a namespace holding one Linux bridge: the layer-2 segment that
// the namespaces attached to it share, like hosts plugged into one switch.
type Switch struct {
	*Namespace
	ports int
}

// bridgeName is the bridge inside the switch namespace.
const bridgeName = "br0"

// NewSwitch creates a switch namespace with its bridge up. Multicast
// snooping is off so that IPv6 neighbour discovery is flooded like on a dumb
// switch, with no querier needed.
func NewSwitch(t testing.TB) *Switch {
	t.Helper()
	s := &Switch{Namespace: New(t, "switch")}
	s.IP(t, "link", "add", bridgeName, "type", "bridge", "mcast_snooping", "0")
	s.IP(t, "link", "set", bridgeName, "up")
	return s
}

// Attach plugs ns into the switch with a veth pair: ifname inside ns, a port
// of the bridge on the other end. Each prefix is added to ifname, the first
// one as the primary address; IPv6 addresses skip duplicate address
// detection so they are usable at once.
func (s *Switch) Attach(t testing.TB, ns *Namespace, ifname string, prefixes ...netip.Prefix) {
	t.Helper()
	s.ports++
	port := fmt.Sprintf("port%d", s.ports)
	// Both ends are created directly in their namespaces, so no name is
	// ever taken in the host namespace that other tests share.
	run(t, "ip", "link", "add", ifname, "netns", ns.Name, "type", "veth", "peer", "name", port, "netns", s.Name)
	s.IP(t, "link", "set", port, "master", bridgeName)
	s.IP(t, "link", "set", port, "up")
	for _, prefix := range prefixes {
		args := []string{"address", "add", prefix.String(), "dev", ifname}
		if prefix.Addr().Is6() {
			args = append(args, "nodad")
		}
		ns.IP(t, args...)
	}
	ns.IP(t, "link", "set", ifname, "up")
}

// Prefixes parses address/prefix literals for Attach, such as
// "192.0.2.11/24"; a malformed literal is a bug in the test and panics.
func Prefixes(values ...string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(values))
	for _, v := range values {
		out = append(out, netip.MustParsePrefix(v))
	}
	return out
}
