package localcluster

import (
	"net/netip"
	"strings"
	"testing"
)

// documentation ranges are the only addresses the local cluster may use.
var documentation = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}

func inDocumentationRanges(a netip.Addr) bool {
	for _, p := range documentation {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func TestNewTopology(t *testing.T) {
	topo, err := NewTopology("demo", "/repo/_output/local-cluster/demo", 300)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(topo.ControlPlane()); got != ControlPlaneNodeCount {
		t.Errorf("%d control-plane nodes, want %d", got, ControlPlaneNodeCount)
	}
	if got := len(topo.Workers()); got != 300 {
		t.Errorf("%d workers, want 300", got)
	}

	seen := map[netip.Addr]string{}
	check := func(owner string, addrs ...netip.Addr) {
		for _, a := range addrs {
			if !inDocumentationRanges(a) {
				t.Errorf("%s: %s is outside 192.0.2.0/24 and 2001:db8::/32", owner, a)
			}
			if other, dup := seen[a]; dup {
				t.Errorf("%s: %s is also %s's", owner, a, other)
			}
			seen[a] = owner
		}
	}
	for _, n := range topo.Nodes {
		check(n.Name, n.Addresses...)
	}
	check("router", topo.Router.Addresses...)
	check("internet", topo.Internet.Addresses...)
	check("API VIPs", topo.APIVIPs...)
	check("ingress VIPs", topo.IngressVIPs...)
	// The service and pod ranges are only allocated from: no namespace
	// address may fall into them.
	for _, cidr := range []string{ServiceCIDR, PodCIDR, PodNetworkCIDR} {
		p := netip.MustParsePrefix(cidr)
		if !inDocumentationRanges(p.Addr()) {
			t.Errorf("%s is outside the documentation ranges", cidr)
		}
		for a, owner := range seen {
			if p.Contains(a) {
				t.Errorf("%s overlaps %s's %s", cidr, owner, a)
			}
		}
	}

	names := map[string]bool{}
	for _, ns := range topo.Namespaces() {
		if !strings.HasPrefix(ns, NamespacePrefix("demo", "/repo/_output/local-cluster/demo")) {
			t.Errorf("namespace %s lacks the instance prefix", ns)
		}
		if names[ns] {
			t.Errorf("namespace %s twice", ns)
		}
		names[ns] = true
	}
	if last := topo.Namespaces()[len(topo.Namespaces())-1]; last != topo.Switch {
		t.Errorf("the switch must be deleted last, got %s last", last)
	}
	for _, n := range topo.ControlPlane() {
		// The veth peer in the switch is named after the node.
		if port := "p-" + n.Name; len(port) > 15 {
			t.Errorf("interface name %s is longer than IFNAMSIZ-1", port)
		}
		if n.Netns == "" || len(n.Addresses) != 2 || !n.Addresses[0].Is4() || !n.Addresses[1].Is6() {
			t.Errorf("control-plane node %+v: want a namespace, an IPv4 and an IPv6 address", n)
		}
	}
	// cert-manager runs on the first worker, which alone of the workers
	// has a namespace on the switch.
	cm, ok := topo.CertManagerWorker()
	if !ok || cm.Name != "worker-0" || cm.Netns == "" || !cm.Addresses[0].Is4() {
		t.Errorf("CertManagerWorker() = %+v, %v; want worker-0 with a namespace and an IPv4 address", cm, ok)
	}
	if got := len(topo.NetworkNodes()); got != ControlPlaneNodeCount+1 {
		t.Errorf("%d nodes on the switch, want the control plane and worker-0", got)
	}
	if w, _ := topo.Node("worker-255"); w.Addresses[0] != netip.MustParseAddr("2001:db8:0:1::100") {
		t.Errorf("worker-255 has %v, want 2001:db8:0:1::100 (worker addresses count up across bytes)", w.Addresses)
	}
}

func TestNamespacePrefixSeparatesCheckouts(t *testing.T) {
	a, b := NamespacePrefix("demo", "/src/one/_output/local-cluster/demo"), NamespacePrefix("demo", "/src/two/_output/local-cluster/demo")
	if a == b || strings.HasPrefix(a, b) || strings.HasPrefix(b, a) {
		t.Errorf("two checkouts' demos share namespace prefixes: %s, %s", a, b)
	}
	if NamespacePrefix("demo", "/src/one/_output/local-cluster/demo/") != a {
		t.Error("the prefix depends on a trailing slash")
	}
}

func TestNewTopologyRejects(t *testing.T) {
	for _, tc := range []struct {
		instance string
		workers  int
	}{
		{"", 1}, {"Demo", 1}, {"1demo", 1}, {"toolongname", 1}, {"demo-1", 1}, {"demo", -1}, {"demo", MaxWorkerCount + 1},
	} {
		if _, err := NewTopology(tc.instance, "/d", tc.workers); err == nil {
			t.Errorf("NewTopology(%q, %d) accepted", tc.instance, tc.workers)
		}
	}
}

func TestFirstOfFamily(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("192.0.2.1")}
	if a, ok := FirstOfFamily(addrs, true); !ok || a.String() != "192.0.2.1" {
		t.Errorf("IPv4: got %v %v", a, ok)
	}
	if a, ok := FirstOfFamily(addrs, false); !ok || a.String() != "2001:db8::1" {
		t.Errorf("IPv6: got %v %v", a, ok)
	}
	if _, ok := FirstOfFamily(addrs[:1], true); ok {
		t.Error("found an IPv4 address in an IPv6-only list")
	}
}

func TestParseAddressLines(t *testing.T) {
	out := `2: eth0    inet 192.0.2.11/24 scope global eth0\       valid_lft forever preferred_lft forever
2: eth0    inet 192.0.2.10/32 scope global eth0\       valid_lft forever preferred_lft forever
2: eth0    inet6 2001:db8::10/128 scope global nodad \       valid_lft forever preferred_lft forever
2: eth0    inet6 fe80::1/64 scope link \       valid_lft forever preferred_lft forever
`
	got := parseAddressLines(out)
	want := []string{"192.0.2.11", "192.0.2.10", "2001:db8::10", "fe80::1"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("address %d: got %s, want %s", i, got[i], want[i])
		}
	}
}

func TestNoCertManagerWorkerWithoutWorkers(t *testing.T) {
	topo, err := NewTopology("demo", "/d", 0)
	if err != nil {
		t.Fatal(err)
	}
	if w, ok := topo.CertManagerWorker(); ok {
		t.Errorf("CertManagerWorker() = %+v on a cluster without workers", w)
	}
}
