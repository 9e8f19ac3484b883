package rules

// Benchmarks of the pure halves of the reconciler: building the desired
// table (once at start-up, and again only if the configuration changed)
// and comparing it with a read-back (on every netlink event and resync).
// They print figures; docs/performance.md has the results:
//
//	go test -run '^$' -bench . -benchmem ./pkg/daemon/rules

import (
	"fmt"
	"net/netip"
	"testing"
)

var (
	benchTable Table
	benchDiffs []Difference
)

// benchVIPs returns n API VIPs, alternately IPv4 and IPv6 (a dual-stack
// cluster has one of each; more only with several API VIPs per family).
func benchVIPs(n int) []netip.Addr {
	var vips []netip.Addr
	for i := range n {
		if i%2 == 0 {
			vips = append(vips, netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", 100+i)))
		} else {
			vips = append(vips, netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", 0x100+i)))
		}
	}
	return vips
}

func BenchmarkDesired(b *testing.B) {
	for _, n := range []int{1, 2, 8} {
		vips := benchVIPs(n)
		b.Run(fmt.Sprintf("vips=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchTable = Desired(vips, 8888)
			}
		})
	}
}

// BenchmarkDiff compares the desired table with an equal one built
// separately, as a read-back that matches: the common case, and the most
// work (every rule is encoded and compared).
func BenchmarkDiff(b *testing.B) {
	for _, n := range []int{1, 2, 8} {
		vips := benchVIPs(n)
		want, got := Desired(vips, 8888), Desired(vips, 8888)
		if diffs := Diff(want, got); len(diffs) != 0 {
			b.Fatalf("equal tables differ: %v", Details(diffs))
		}
		b.Run(fmt.Sprintf("vips=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchDiffs = Diff(want, got)
			}
		})
	}
}
