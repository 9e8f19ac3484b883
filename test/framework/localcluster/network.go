package localcluster

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// netnsDir is where `ip netns` keeps its named namespaces.
const netnsDir = "/run/netns"

// ip runs the ip command and returns its output, or an error that includes
// the command and what it printed.
func ip(args ...string) (string, error) {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// createNetwork builds the topology's namespaces: a switch with a bridge,
// and every other namespace plugged into it with a veth pair, its addresses
// on eth0. The API VIPs go to the first control-plane node, the ingress
// VIPs to the router.
func createNetwork(t Topology) error {
	if _, err := ip("netns", "add", t.Switch); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		// Multicast snooping off: IPv6 neighbour discovery is flooded as on
		// a dumb switch, with no querier needed.
		{"link", "add", bridgeName, "type", "bridge", "mcast_snooping", "0"},
		{"link", "set", bridgeName, "up"},
	} {
		if _, err := ip(append([]string{"-n", t.Switch}, args...)...); err != nil {
			return err
		}
	}

	type plug struct {
		netns     string
		port      string
		addresses []netip.Prefix
	}
	var plugs []plug
	for _, n := range t.NetworkNodes() {
		plugs = append(plugs, plug{n.Netns, "p-" + n.Name, t.prefixes(n.Addresses)})
	}
	plugs = append(plugs,
		plug{t.Router.Netns, "p-router", t.prefixes(t.Router.Addresses)},
		plug{t.Internet.Netns, "p-internet", t.prefixes(t.Internet.Addresses)})
	for _, p := range plugs {
		if err := attach(t.Switch, p.netns, p.port, p.addresses); err != nil {
			return err
		}
	}

	first := t.ControlPlane()[0]
	for _, vip := range t.APIVIPs {
		if err := addAddress(first.Netns, vipPrefix(vip)); err != nil {
			return err
		}
	}
	for _, vip := range t.IngressVIPs {
		if err := addAddress(t.Router.Netns, vipPrefix(vip)); err != nil {
			return err
		}
	}
	return nil
}

func (t Topology) prefixes(addrs []netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range addrs {
		out = append(out, t.prefixOf(a))
	}
	return out
}

// attach creates netns and plugs it into the switch's bridge: eth0 inside
// netns, port on the bridge. Both ends are created directly in their
// namespaces, so no interface name is ever taken in the host's namespace.
func attach(switchNetns, netns, port string, addresses []netip.Prefix) error {
	if _, err := ip("netns", "add", netns); err != nil {
		return err
	}
	steps := [][]string{
		{"-n", netns, "link", "set", "lo", "up"},
		{"link", "add", interfaceName, "netns", netns, "type", "veth", "peer", "name", port, "netns", switchNetns},
		{"-n", switchNetns, "link", "set", port, "master", bridgeName},
		{"-n", switchNetns, "link", "set", port, "up"},
	}
	for _, args := range steps {
		if _, err := ip(args...); err != nil {
			return err
		}
	}
	for _, a := range addresses {
		if err := addAddress(netns, a); err != nil {
			return err
		}
	}
	_, err := ip("-n", netns, "link", "set", interfaceName, "up")
	return err
}

// addAddress adds an address to eth0 of netns. IPv6 addresses skip
// duplicate address detection, so that they are usable at once.
func addAddress(netns string, p netip.Prefix) error {
	args := []string{"-n", netns, "address", "add", p.String(), "dev", interfaceName}
	if p.Addr().Is6() {
		args = append(args, "nodad")
	}
	_, err := ip(args...)
	return err
}

// namespaceAddresses returns the addresses on eth0 of netns.
func namespaceAddresses(netns string) ([]netip.Addr, error) {
	out, err := ip("-n", netns, "-o", "address", "show", "dev", interfaceName)
	if err != nil {
		return nil, err
	}
	return parseAddressLines(out), nil
}

// parseAddressLines extracts the addresses of `ip -o address show` output:
// the word after "inet" or "inet6" on each line.
func parseAddressLines(out string) []netip.Addr {
	var addrs []netip.Addr
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		for i := 0; i+1 < len(fields); i++ {
			if fields[i] != "inet" && fields[i] != "inet6" {
				continue
			}
			if p, err := netip.ParsePrefix(fields[i+1]); err == nil {
				addrs = append(addrs, p.Addr())
			}
			break
		}
	}
	return addrs
}

// APIVIPHolder returns the control-plane node whose namespace holds the API
// VIPs right now, read from the kernel. It fails unless exactly one does.
func APIVIPHolder(t Topology) (Node, error) {
	var holders []Node
	for _, n := range t.ControlPlane() {
		addrs, err := namespaceAddresses(n.Netns)
		if err != nil {
			return Node{}, err
		}
		if slices.Contains(addrs, t.APIVIPs[0]) {
			holders = append(holders, n)
		}
	}
	if len(holders) != 1 {
		return Node{}, fmt.Errorf("the API VIP %s is held by %d control-plane nodes, want 1", t.APIVIPs[0], len(holders))
	}
	return holders[0], nil
}

// MoveAPIVIP moves the API VIPs to the named control-plane node, as
// keepalived does when the node holding them fails: the addresses leave the
// old holder, appear on the new one, and every neighbour cache forgets the
// old holder's MAC address for them. keepalived announces the move with
// gratuitous ARP and unsolicited neighbour advertisements; flushing the
// caches of every namespace on the segment has the same effect, and cannot
// be missed.
func MoveAPIVIP(t Topology, to string) error {
	target, ok := t.Node(to)
	if !ok || target.Role != RoleControlPlane {
		return fmt.Errorf("%q is not a control-plane node of this cluster", to)
	}
	from, err := APIVIPHolder(t)
	if err != nil {
		return err
	}
	if from.Name == target.Name {
		return nil
	}
	for _, vip := range t.APIVIPs {
		if _, err := ip("-n", from.Netns, "address", "del", vipPrefix(vip).String(), "dev", interfaceName); err != nil {
			return err
		}
	}
	for _, vip := range t.APIVIPs {
		if err := addAddress(target.Netns, vipPrefix(vip)); err != nil {
			return err
		}
	}
	for _, netns := range t.Namespaces() {
		if netns == t.Switch {
			continue
		}
		for _, vip := range t.APIVIPs {
			// Fails when there is no entry, which is fine.
			_, _ = ip("-n", netns, "neigh", "flush", "to", vip.String(), "dev", interfaceName)
		}
	}
	return nil
}

// existingNamespaces returns the named namespaces that start with prefix.
func existingNamespaces(prefix string) ([]string, error) {
	entries, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// NamespacePIDs returns the pids of the processes in netns.
func NamespacePIDs(netns string) ([]int, error) {
	out, err := ip("netns", "pids", netns)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// DaemonPIDs returns the pids of the proxy daemons running in netns: the
// processes of the daemon's binary. Other processes may
// show up in `ip netns pids` without running there: a Go program whose main
// thread once entered the namespace (netns.Namespace.Do locks a thread that
// the runtime cannot end if it is the main one) is listed too.
func DaemonPIDs(netns string) ([]int, error) {
	pids, err := NamespacePIDs(netns)
	if err != nil {
		return nil, err
	}
	var daemons []int
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue // exited meanwhile
		}
		argv := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		if filepath.Base(argv[0]) == DaemonBinary {
			daemons = append(daemons, pid)
		}
	}
	return daemons, nil
}

// otherPIDs is NamespacePIDs without this process.
func otherPIDs(netns string) ([]int, error) {
	pids, err := NamespacePIDs(netns)
	return slices.DeleteFunc(pids, func(pid int) bool { return pid == os.Getpid() }), err
}

// deleteNamespace kills whatever still runs in netns and deletes it. It
// returns the pids it had to kill: everything should have been stopped
// gracefully before. It never kills this process, whose main thread may
// have been left in the namespace (see DaemonPIDs).
func deleteNamespace(netns string) ([]int, error) {
	pids, err := otherPIDs(netns)
	if err != nil {
		return nil, err
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := otherPIDs(netns)
		if err != nil {
			return pids, err
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return pids, fmt.Errorf("processes %v in %s survived SIGKILL", left, netns)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, err = ip("netns", "del", netns)
	return pids, err
}
