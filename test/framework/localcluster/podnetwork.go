package localcluster

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// PodNetwork is the local cluster's pod network, for the pods the local
// kubelet runs off the host network (cert-manager's HTTP-01 solvers): each
// pod gets a network namespace of its own, plugged into the switch with an
// address of PodNetworkCIDR, so that the router reaches it directly, as
// OVN-Kubernetes lets the router reach a pod. Only IPv4: nothing dials a
// pod over IPv6 here.
type PodNetwork struct {
	Topology Topology

	mu    sync.Mutex
	inUse map[netip.Addr]bool
}

// PodSandbox is one pod's place on the pod network.
type PodSandbox struct {
	Netns string
	IP    netip.Addr
}

// Add creates a sandbox at the first free address. A namespace of that
// name left by an earlier kubelet is replaced.
func (p *PodNetwork) Add() (PodSandbox, error) {
	addr, err := p.take()
	if err != nil {
		return PodSandbox{}, err
	}
	sb := PodSandbox{Netns: p.netnsFor(addr), IP: addr}
	if _, err := os.Stat(filepath.Join(netnsDir, sb.Netns)); err == nil {
		if _, err := ip("netns", "delete", sb.Netns); err != nil {
			p.release(addr)
			return PodSandbox{}, err
		}
	}
	if err := attach(p.Topology.Switch, sb.Netns, p.portFor(addr), []netip.Prefix{p.Topology.prefixOf(addr)}); err != nil {
		_, _ = ip("netns", "delete", sb.Netns)
		p.release(addr)
		return PodSandbox{}, fmt.Errorf("plugging pod namespace %s into the pod network: %w", sb.Netns, err)
	}
	return sb, nil
}

// Remove deletes the sandbox's namespace, which takes its veth pair along,
// and frees its address.
func (p *PodNetwork) Remove(sb PodSandbox) error {
	defer p.release(sb.IP)
	_, err := ip("netns", "delete", sb.Netns)
	return err
}

func (p *PodNetwork) take() (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inUse == nil {
		p.inUse = map[netip.Addr]bool{}
	}
	cidr := netip.MustParsePrefix(PodNetworkCIDR)
	// The first and last addresses of the range are left out, as a subnet's
	// network and broadcast addresses would be.
	for a := cidr.Addr().Next(); cidr.Contains(a.Next()); a = a.Next() {
		if !p.inUse[a] {
			p.inUse[a] = true
			return a, nil
		}
	}
	return netip.Addr{}, errors.New("the pod network " + PodNetworkCIDR + " has no free address")
}

func (p *PodNetwork) release(a netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.inUse, a)
}

// netnsFor names a sandbox's namespace after the last byte of its address,
// under the cluster's prefix, so that Down removes what a crash left.
func (p *PodNetwork) netnsFor(a netip.Addr) string {
	return p.Topology.namespace("pod-" + strconv.Itoa(int(a.As4()[3])))
}

// portFor names the sandbox's port on the switch's bridge.
func (p *PodNetwork) portFor(a netip.Addr) string {
	return "p-pod-" + strconv.Itoa(int(a.As4()[3]))
}
