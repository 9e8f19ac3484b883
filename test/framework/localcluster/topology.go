// Package localcluster runs a simulated bare-metal OpenShift control plane on
// this machine, for the demo (make demo) and the end-to-end tests (make
// test-e2e):
//
//   - etcd, kube-apiserver, kube-controller-manager and kube-scheduler, built
//     from pinned sources by hack/build-tools.sh, listening on loopback;
//   - kwok, simulating three control-plane nodes and any number of workers;
//   - the OpenShift CRDs, fixtures for the Infrastructure (BareMetal, with
//     VIPs), Ingress and ClusterVersion singletons, and manifests/ applied in
//     the cluster-version operator's order;
//   - the operator, as a local process with the arguments and environment of
//     its Deployment in manifests/;
//   - a network: every control-plane node has a network namespace, one of
//     them holds the API VIP, a router namespace holds the ingress VIP, and an
//     "internet" namespace runs Pebble, Let's Encrypt's test CA. They share a
//     bridge, like hosts on one switch;
//   - a real containerd and kubelet on every node with a namespace: the
//     control-plane nodes run the proxy's DaemonSet, the first worker
//     cert-manager's solver pods, from images built locally.
//
// Everything runs detached: Up returns with the cluster running and its pid
// files, logs and state file under one directory, and Down removes it all.
// Only documentation addresses are used (192.0.2.0/24, 2001:db8::/32), and
// traffic only flows between the cluster's own namespaces and loopback.
package localcluster

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// The cluster's DNS names: cluster "cluster" in base domain "example.test", a
// reserved top-level domain (RFC 2606) no real resolver answers for.
const (
	ClusterName   = "cluster"
	BaseDomain    = "example.test"
	APIHost       = "api." + ClusterName + "." + BaseDomain
	IngressDomain = "apps." + ClusterName + "." + BaseDomain
)

const (
	// ControlPlaneNodeCount is fixed: an HA OpenShift control plane has three.
	ControlPlaneNodeCount = 3
	// DefaultWorkerCount is how many simulated workers Up creates by default.
	DefaultWorkerCount = 2
	// MaxWorkerCount bounds the worker count; worker addresses come from one
	// /64 and kwok simulates thousands of nodes without trouble.
	MaxWorkerCount = 10000

	// netnsPrefix starts every network namespace of a local cluster; the
	// instance name follows, so that instances never share one. It differs
	// from test/framework/netns' prefix, whose sweep of dead test binaries'
	// namespaces must never touch a running local cluster.
	netnsPrefix = "h01lc-"
	// interfaceName is the name of the veth end inside every namespace.
	interfaceName = "eth0"
	// bridgeName is the bridge inside the switch namespace.
	bridgeName = "br0"
)

// NodeRole is the role of a simulated node.
type NodeRole string

const (
	RoleControlPlane NodeRole = "control-plane"
	RoleWorker       NodeRole = "worker"
)

// Node is one simulated node.
type Node struct {
	Name string   `json:"name"`
	Role NodeRole `json:"role"`
	// Netns is the node's network namespace, its "host network". The
	// control-plane nodes have one, for the proxy, and so does the first
	// worker, where cert-manager's controller runs (see
	// CertManagerWorker); the other workers are kwok's alone.
	Netns string `json:"netns,omitempty"`
	// Addresses are the node's InternalIPs, IPv4 first. On a node with a
	// namespace they are the addresses of its interface.
	Addresses []netip.Addr `json:"addresses"`
}

// NodesWithKubelet are the nodes whose pods a real kubelet runs.
func (t Topology) NodesWithKubelet() []Node {
	var out []Node
	for _, n := range t.Nodes {
		if n.HasKubelet() {
			out = append(out, n)
		}
	}
	return out
}

// HasKubelet says whether a real kubelet, with containerd, runs the node's
// pods: every node with a namespace, that is the control-plane nodes, where
// the proxy's DaemonSet runs, and the first worker, where cert-manager's
// solver pods run. kwok simulates the others.
func (n Node) HasKubelet() bool { return n.Netns != "" }

// Host is a namespace that is not a node: the router and the internet.
type Host struct {
	Netns     string       `json:"netns"`
	Addresses []netip.Addr `json:"addresses"`
}

// Topology is the shape of one local cluster: its nodes, namespaces and
// addresses. It is pure data, computed from the instance name and the
// worker count.
type Topology struct {
	// Instance names the cluster ("demo", "e2e"); it is part of every
	// namespace name, so that instances can run side by side.
	Instance string `json:"instance"`
	Nodes    []Node `json:"nodes"`
	// Switch is the namespace holding the bridge everything is plugged into.
	Switch string `json:"switch"`
	// Router is where the ingress VIPs live, as on the worker that runs the
	// OpenShift router: the cert-manager solver's responder listens here.
	Router Host `json:"router"`
	// Internet is where Pebble and its DNS server run.
	Internet Host `json:"internet"`
	// APIVIPs and IngressVIPs are the Infrastructure's VIPs, IPv4 first.
	APIVIPs     []netip.Addr `json:"apiVIPs"`
	IngressVIPs []netip.Addr `json:"ingressVIPs"`
	// PrefixLengths of the shared segment, per family.
	PrefixLength4 int `json:"prefixLength4"`
	PrefixLength6 int `json:"prefixLength6"`
}

// Addresses of the segment. The API VIP starts on the first control-plane
// node; MoveAPIVIP moves it, as keepalived does on failover.
var (
	apiVIP4       = netip.MustParseAddr("192.0.2.10")
	apiVIP6       = netip.MustParseAddr("2001:db8::10")
	ingressVIP4   = netip.MustParseAddr("192.0.2.20")
	ingressVIP6   = netip.MustParseAddr("2001:db8::20")
	routerAddr4   = netip.MustParseAddr("192.0.2.21")
	routerAddr6   = netip.MustParseAddr("2001:db8::21")
	internetAddr4 = netip.MustParseAddr("192.0.2.100")
	internetAddr6 = netip.MustParseAddr("2001:db8::100")
	// The first worker has a namespace and these addresses; the others
	// have none, and their InternalIPs are only data, one per worker from
	// their own /64.
	worker0Addr4 = netip.MustParseAddr("192.0.2.31")
	worker0Addr6 = netip.MustParseAddr("2001:db8::31")
	workerBase6  = netip.MustParseAddr("2001:db8:0:1::")
)

const (
	// ServiceCIDR is kube-apiserver's --service-cluster-ip-range: a pool
	// to allocate ClusterIPs from, which nothing routes.
	ServiceCIDR = "192.0.2.128/26"
	// PodCIDR is where kwok takes the IPs of the pods it simulates.
	PodCIDR = "192.0.2.192/26"
	// PodNetworkCIDR is the pod network of the worker with a kubelet: a
	// bridge of that node, which routes it and answers ARP for it on the
	// switch, so the router reaches a pod directly, as OVN-Kubernetes' pod
	// network lets it.
	PodNetworkCIDR = "192.0.2.64/27"
)

var instanceName = regexp.MustCompile(`^[a-z][a-z0-9]{0,7}$`)

// NewTopology returns the topology of instance with the given number of
// workers. dir is the cluster's directory: network namespaces are global to
// the machine, so their names carry a hash of it, and the demos of two
// checkouts never touch each other's.
func NewTopology(instance, dir string, workers int) (Topology, error) {
	if !instanceName.MatchString(instance) {
		return Topology{}, fmt.Errorf("instance name %q: want 1-8 lower-case letters and digits, starting with a letter", instance)
	}
	if workers < 0 || workers > MaxWorkerCount {
		return Topology{}, fmt.Errorf("worker count %d: want 0-%d", workers, MaxWorkerCount)
	}
	prefix := NamespacePrefix(instance, dir)
	ns := func(role string) string { return prefix + role }
	t := Topology{
		Instance:      instance,
		Switch:        ns("switch"),
		Router:        Host{Netns: ns("router"), Addresses: []netip.Addr{routerAddr4, routerAddr6}},
		Internet:      Host{Netns: ns("internet"), Addresses: []netip.Addr{internetAddr4, internetAddr6}},
		APIVIPs:       []netip.Addr{apiVIP4, apiVIP6},
		IngressVIPs:   []netip.Addr{ingressVIP4, ingressVIP6},
		PrefixLength4: 24,
		PrefixLength6: 64,
	}
	for i := range ControlPlaneNodeCount {
		name := "master-" + strconv.Itoa(i)
		// 192.0.2.11, 2001:db8::11, ...: the same digits in both families.
		host := strconv.Itoa(11 + i)
		t.Nodes = append(t.Nodes, Node{
			Name:  name,
			Role:  RoleControlPlane,
			Netns: ns(name),
			Addresses: []netip.Addr{
				netip.MustParseAddr("192.0.2." + host),
				netip.MustParseAddr("2001:db8::" + host),
			},
		})
	}
	for i := range workers {
		node := Node{
			Name:      "worker-" + strconv.Itoa(i),
			Role:      RoleWorker,
			Addresses: []netip.Addr{addToAddr(workerBase6, uint64(i)+1)},
		}
		if i == 0 {
			node.Netns = ns(node.Name)
			node.Addresses = []netip.Addr{worker0Addr4, worker0Addr6}
		}
		t.Nodes = append(t.Nodes, node)
	}
	return t, nil
}

// CertManagerWorker is the worker whose host network cert-manager's
// controller runs in, as a pod of the pod network would reach the API VIP:
// the first worker. A cluster without workers has none.
func (t Topology) CertManagerWorker() (Node, bool) {
	for _, n := range t.Workers() {
		return n, n.Netns != ""
	}
	return Node{}, false
}

// NetworkNodes are the nodes with a namespace on the switch.
func (t Topology) NetworkNodes() []Node {
	var nodes []Node
	for _, n := range t.Nodes {
		if n.Netns != "" {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// addToAddr returns base + n for an IPv6 base whose low 64 bits are zero.
func addToAddr(base netip.Addr, n uint64) netip.Addr {
	b := base.As16()
	binary.BigEndian.PutUint64(b[8:], binary.BigEndian.Uint64(b[8:])+n)
	return netip.AddrFrom16(b)
}

// ControlPlane returns the control-plane nodes.
func (t Topology) ControlPlane() []Node {
	var nodes []Node
	for _, n := range t.Nodes {
		if n.Role == RoleControlPlane {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// Workers returns the worker nodes.
func (t Topology) Workers() []Node {
	var nodes []Node
	for _, n := range t.Nodes {
		if n.Role == RoleWorker {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// Node returns the node of that name.
func (t Topology) Node(name string) (Node, bool) {
	for _, n := range t.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// Namespaces returns every network namespace of the cluster, the switch
// last: deleting it last keeps the other namespaces' links until they go.
func (t Topology) Namespaces() []string {
	var names []string
	for _, n := range t.NetworkNodes() {
		names = append(names, n.Netns)
	}
	return append(names, t.Router.Netns, t.Internet.Netns, t.Switch)
}

// NamespacePrefix is the prefix of every namespace of the instance whose
// directory is dir; Down uses it to find namespaces a failed Up created
// before it could record them.
func NamespacePrefix(instance, dir string) string {
	sum := sha256.Sum256([]byte(filepath.Clean(dir)))
	return netnsPrefix + instance + "-" + hex.EncodeToString(sum[:3]) + "-"
}

// namespace names a namespace of the cluster: its prefix, then role.
func (t Topology) namespace(role string) string {
	return strings.TrimSuffix(t.Switch, "switch") + role
}

// prefixOf returns addr with the segment's prefix length for its family.
func (t Topology) prefixOf(addr netip.Addr) netip.Prefix {
	if addr.Is4() {
		return netip.PrefixFrom(addr, t.PrefixLength4)
	}
	return netip.PrefixFrom(addr, t.PrefixLength6)
}

// vipPrefix returns a VIP as a host prefix (/32, /128), as keepalived adds
// it: the node already has a route to the segment through its own address.
func vipPrefix(addr netip.Addr) netip.Prefix {
	return netip.PrefixFrom(addr, addr.BitLen())
}

// FirstOfFamily returns the first address of addrs in the family of want
// (IPv4 when want4 is true).
func FirstOfFamily(addrs []netip.Addr, want4 bool) (netip.Addr, bool) {
	for _, a := range addrs {
		if a.Is4() == want4 {
			return a, true
		}
	}
	return netip.Addr{}, false
}
