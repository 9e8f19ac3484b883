//go:build integration

package netns

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

func TestTwoNamespacesOnASwitch(t *testing.T) {
	RequireRoot(t)
	RequireCommands(t, "ip")

	var names []string
	t.Run("topology", func(t *testing.T) {
		sw := NewSwitch(t)
		a, b := New(t, "a"), New(t, "b")
		sw.Attach(t, a, "eth0", netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("2001:db8::1/64"))
		sw.Attach(t, b, "eth0", netip.MustParsePrefix("192.0.2.2/24"), netip.MustParsePrefix("2001:db8::2/64"))
		names = []string{sw.Name, a.Name, b.Name}

		for _, address := range []string{"192.0.2.1:7000", "[2001:db8::1]:7000"} {
			ln, err := a.Listen("tcp", address)
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				if c, err := ln.Accept(); err == nil {
					io.WriteString(c, "hello from a")
					c.Close()
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			conn, err := b.DialContext(ctx, "tcp", address)
			cancel()
			if err != nil {
				t.Fatalf("dialling %s from b: %v", address, err)
			}
			got, _ := io.ReadAll(conn)
			conn.Close()
			ln.Close()
			if string(got) != "hello from a" {
				t.Errorf("read %q from %s", got, address)
			}
		}

		// The test process itself stayed in its own namespace: the
		// switch's addresses are not reachable from here.
		if conn, err := net.DialTimeout("tcp", "192.0.2.1:7000", 200*time.Millisecond); err == nil {
			conn.Close()
			t.Error("reached a namespace address from the host namespace")
		}

		p := a.Start(t, "sleep", "60")
		if p.Exited() {
			t.Error("process exited early")
		}
		if out := a.Exec(t, "ip", "-o", "address", "show", "dev", "eth0"); !strings.Contains(out, "192.0.2.1/24") {
			t.Errorf("Exec ran outside the namespace: %s", out)
		}
	})
	if len(names) == 0 {
		t.Fatal("topology subtest did not run")
	}
	for _, name := range names {
		if _, err := os.Stat(netnsDir + "/" + name); !os.IsNotExist(err) {
			t.Errorf("namespace %s still exists after its test: %v", name, err)
		}
	}
}
