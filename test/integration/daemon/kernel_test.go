//go:build integration

package daemon

import (
	"context"
	"errors"
	"net/netip"
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
		if err := kernel.Apply(rules.Draining(8888)); err != nil {
			t.Fatal(err)
		}
		got, err := kernel.Read()
		if err != nil {
			t.Fatal(err)
		}
		if diffs := rules.Diff(rules.Draining(8888), got); len(diffs) != 0 {
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

	ns.Exec(t, "nft", "flush chain inet http01_challenge_proxy output")
	eventually(t, 5*time.Second, "our chain flushed reported", func() error {
		if changes.Load() == 0 {
			return errNoChange
		}
		return nil
	})
}

var errNoChange = errors.New("no change reported yet")
