//go:build integration

package daemon

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/rules"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// kernelIn returns a rules.Kernel working on the nftables of a fresh
// namespace.
func kernelIn(t *testing.T) (*rules.Kernel, *netns.Namespace) {
	t.Helper()
	netns.RequireRoot(t)
	netns.RequireCommands(t, "ip", "nft")
	ns := netns.New(t, "kernel")
	f, err := ns.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return rules.NewKernel(nftables.WithNetNSFd(int(f.Fd()))), ns
}

// TestKernelRoundTrip checks that what the daemon writes reads back equal to
// what it wanted, with the kernel's own encoding, for every shape of
// configuration: a mismatch here would make the daemon repair forever.
func TestKernelRoundTrip(t *testing.T) {
	kernel, ns := kernelIn(t)
	for _, tc := range []struct {
		name string
		vips []string
		port uint16
	}{
		{"IPv4", []string{"192.0.2.100"}, 8888},
		{"IPv6", []string{"2001:db8::100"}, 8888},
		{"dual stack, several VIPs", []string{"192.0.2.100", "2001:db8::100", "192.0.2.101", "2001:db8::101"}, 65535},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var vips []netip.Addr
			for _, v := range tc.vips {
				vips = append(vips, netip.MustParseAddr(v))
			}
			want := rules.Desired(vips, tc.port)
			if err := kernel.Apply(want); err != nil {
				t.Fatal(err)
			}
			got, err := kernel.Read()
			if err != nil {
				t.Fatal(err)
			}
			if diffs := rules.Diff(want, got); len(diffs) != 0 {
				t.Errorf("read back differs: %v\n%s", rules.Details(diffs), ns.Exec(t, "nft", "list", "ruleset"))
			}
		})
	}

	t.Run("draining table", func(t *testing.T) {
		draining := rules.Draining([]netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("2001:db8::100")}, 8888)
		if err := kernel.Apply(draining); err != nil {
			t.Fatal(err)
		}
		got, err := kernel.Read()
		if err != nil {
			t.Fatal(err)
		}
		if diffs := rules.Diff(draining, got); len(diffs) != 0 {
			t.Errorf("read back differs: %v", rules.Details(diffs))
		}
	})

	t.Run("remove is idempotent", func(t *testing.T) {
		for range 2 {
			if err := kernel.Remove(); err != nil {
				t.Fatal(err)
			}
			got, err := kernel.Read()
			if err != nil {
				t.Fatal(err)
			}
			if got.Present {
				t.Fatalf("table still present after Remove: %+v", got)
			}
		}
	})
}

func TestWatchReportsChangesToOurTableOnly(t *testing.T) {
	kernel, ns := kernelIn(t)
	var changes atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { kernel.Watch(ctx, func() { changes.Add(1) }); close(done) }()
	defer func() { cancel(); <-done }()
	// The monitor subscribes asynchronously; a write of ours tells when.
	want := rules.Desired([]netip.Addr{netip.MustParseAddr("192.0.2.100")}, 8888)
	eventually(t, 5*time.Second, "monitor running", func() error {
		if err := kernel.Apply(want); err != nil {
			return err
		}
		if changes.Load() == 0 {
			return errNoChange
		}
		return nil
	})

	time.Sleep(100 * time.Millisecond)
	changes.Store(0)
	ns.Exec(t, "nft", "add table ip someone_else; add chain ip someone_else c; add rule ip someone_else c counter")
	ns.Exec(t, "nft", "delete table ip someone_else")
	time.Sleep(200 * time.Millisecond)
	if n := changes.Load(); n != 0 {
		t.Errorf("%d changes reported for someone else's table", n)
	}

	// Only the owner socket can change our table now, so our own writes are
	// the changes left to report. (The kernel deletes an owned table with
	// its socket without a notification: resyncs cover that.)
	if err := kernel.Apply(rules.Draining([]netip.Addr{netip.MustParseAddr("192.0.2.100")}, 8888)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "our change reported", func() error {
		if changes.Load() == 0 {
			return errNoChange
		}
		return nil
	})
}

// TestKernelOwnsItsTable checks NFT_TABLE_F_OWNER against the real kernel:
// no other process can change or delete our table, and the kernel deletes it
// the moment the owning socket closes, after which Apply creates it again.
func TestKernelOwnsItsTable(t *testing.T) {
	kernel, ns := kernelIn(t)
	want := rules.Desired([]netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("2001:db8::100")}, 8888)

	t.Run("a table an earlier version left unowned is replaced", func(t *testing.T) {
		ns.Exec(t, "nft", "add table inet "+ourTable+"; add chain inet "+ourTable+" prerouting { type nat hook prerouting priority dstnat; }; "+
			"add rule inet "+ourTable+" prerouting ip daddr 192.0.2.100 tcp dport 80 redirect to :9")
		if err := kernel.Apply(want); err != nil {
			t.Fatal(err)
		}
		checkKernelHolds(t, kernel, ns, want)
	})

	t.Run("other processes can neither change nor delete it", func(t *testing.T) {
		for _, tamper := range []string{
			"delete table inet " + ourTable,
			"flush table inet " + ourTable,
			"flush chain inet " + ourTable + " prerouting",
			"delete chain inet " + ourTable + " input",
			"insert rule inet " + ourTable + " input accept",
			"add chain inet " + ourTable + " extra",
			"add table inet " + ourTable + " { flags dormant; }",
		} {
			out, err := ns.Command("nft", tamper).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "Operation not permitted") {
				t.Errorf("nft %s: %v %s; want Operation not permitted", tamper, err, out)
			}
		}
		// A flush of the ruleset skips tables owned by another socket.
		ns.Exec(t, "nft", "flush ruleset")
		checkKernelHolds(t, kernel, ns, want)
	})

	t.Run("another Kernel cannot take it over", func(t *testing.T) {
		f, err := ns.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		other := rules.NewKernel(nftables.WithNetNSFd(int(f.Fd())))
		if err := other.Apply(rules.Draining(nil, 9999)); err == nil || !strings.Contains(err.Error(), "another process owns it") {
			t.Errorf("second owner's Apply = %v, want refused", err)
		}
		checkKernelHolds(t, kernel, ns, want)
	})

	t.Run("the table goes with its socket, and Apply brings it back", func(t *testing.T) {
		kernel.Close()
		if got, err := kernel.Read(); err != nil || got.Present {
			t.Fatalf("after the owner socket closed: present %v, %v; want the table gone at once", got.Present, err)
		}
		if err := kernel.Apply(want); err != nil {
			t.Fatal(err)
		}
		checkKernelHolds(t, kernel, ns, want)
	})

	t.Run("remove deletes it", func(t *testing.T) {
		if err := kernel.Remove(); err != nil {
			t.Fatal(err)
		}
		if got, err := kernel.Read(); err != nil || got.Present {
			t.Fatalf("after Remove: present %v, %v", got.Present, err)
		}
	})
}

// checkKernelHolds fails unless our table in ns reads back as want, owned.
func checkKernelHolds(t *testing.T, kernel *rules.Kernel, ns *netns.Namespace, want rules.Table) {
	t.Helper()
	got, err := kernel.Read()
	if err != nil {
		t.Fatal(err)
	}
	if diffs := rules.Diff(want, got); len(diffs) != 0 {
		t.Fatalf("table differs: %v\n%s", rules.Details(diffs), ns.Exec(t, "nft", "list", "ruleset"))
	}
	if got.Flags != rules.TableFlagOwner {
		t.Fatalf("table flags %#x, want owner", got.Flags)
	}
}

var errNoChange = errors.New("no change reported yet")
