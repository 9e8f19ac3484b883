//go:build integration

package daemon

import (
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

const (
	// fastPathProbe probes often enough for a test to see each change.
	fastPathProbe = "--path-probe-interval=1s"
	// pathProbeWithinDeadline bounds waiting for a probe to notice a change:
	// a few intervals plus the probe's own timeout. It keeps a broken daemon
	// from hanging the test; nothing is asserted about how fast it is.
	pathProbeWithinDeadline = 30 * time.Second
)

func pathOK(vip netip.Addr) string {
	return `http01_challenge_proxy_path_ok{api_vip="` + vip.String() + `"}`
}

// metricIs is a condition for eventually: sample in ns's daemon metrics
// has the value expect.
func metricIs(ns *netns.Namespace, sample, expect string) func() error {
	return func() error {
		got, err := scrapeMetric(ns, sample)
		if err != nil {
			return err
		}
		if got != expect {
			return fmt.Errorf("%s = %q, want %q", sample, got, expect)
		}
		return nil
	}
}

// logHas is a condition for eventually: p's output has every one of parts
// on one line.
func logHas(p *netns.Process, parts ...string) func() error {
	return func() error {
		for _, line := range strings.Split(p.Output(), "\n") {
			if containsAll(line, parts) {
				return nil
			}
		}
		return fmt.Errorf("no log line with %q in:\n%s", parts, p.Output())
	}
}

func containsAll(s string, parts []string) bool {
	for _, part := range parts {
		if !strings.Contains(s, part) {
			return false
		}
	}
	return true
}

// TestPathProbeFollowsTheRouter stops and starts the router behind the
// ingress VIP and checks that the node's path probe sees both, logs each
// change, and never makes the daemon unready: the router's outage is not
// the proxy's to fix.
func TestPathProbeFollowsTheRouter(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	c.router.IP(t, "address", "add", faultIngressVIP.String()+"/24", "dev", "eth0")
	router := startFaultRouter(t, c.router)
	p := c.startDaemonWith(t, "--api-vips="+apiVIP4.String(), "--ingress-vips="+faultIngressVIP.String(), fastPathProbe, "-v=2")

	eventually(t, pathProbeWithinDeadline, "path OK", metricIs(c.node, pathOK(apiVIP4), "1"))
	if got := metric(t, c.node, `http01_challenge_proxy_path_probe_duration_seconds{api_vip="`+apiVIP4.String()+`"}`); got == "" {
		t.Error("no probe duration exported")
	}

	router.stop(t)
	eventually(t, pathProbeWithinDeadline, "path broken", metricIs(c.node, pathOK(apiVIP4), "0"))
	eventually(t, 5*time.Second, "broken path logged", logHas(p, `"Challenge path broken"`, `apiVIP="192.0.2.100"`,
		`detail="the proxy answered 502: it could not reach ingress VIP 192.0.2.202 (connection_refused)"`))
	if err := readyz(c)(); err != nil {
		t.Errorf("the daemon is unready while the router is down: %v", err)
	}

	router.start(t)
	eventually(t, pathProbeWithinDeadline, "path OK again", metricIs(c.node, pathOK(apiVIP4), "1"))
	eventually(t, 5*time.Second, "restored path logged", logHas(p, `"Challenge path works"`, `detail="the router answered 200 through the proxy"`))
	if n := strings.Count(p.Output(), `"Challenge path broken"`); n != 1 {
		t.Errorf("%d broken-path lines logged, want one for the one transition; log:\n%s", n, p.Output())
	}
}

// TestPathProbeRunsAfterEveryInstall sets an interval no test waits for, so
// that only the daemon's own trigger, when its rules are (back) in place, can
// cause a probe. A flush of the ruleset cannot touch our owned table, so it
// causes neither a repair nor a probe.
func TestPathProbeRunsAfterEveryInstall(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	p := c.startDaemon(t, "--path-probe-interval=1h")
	afterRepair := func(n int) func() error {
		return func() error {
			if got := strings.Count(p.Output(), `cause="rules restored"`); got != n {
				return fmt.Errorf("%d probes caused by the rules coming back, want %d", got, n)
			}
			return nil
		}
	}
	// Installed at start: one probe per API VIP.
	eventually(t, pathProbeWithinDeadline, "probes after the install", afterRepair(2))
	for _, vip := range []netip.Addr{apiVIP4, apiVIP6} {
		if got := metric(t, c.node, pathOK(vip)); got != "1" {
			t.Errorf("%s = %q, want 1", pathOK(vip), got)
		}
	}

	c.node.Exec(t, "nft", "flush ruleset")
	time.Sleep(time.Second)
	if err := afterRepair(2)(); err != nil {
		t.Error(err)
	}
}

// TestPathProbeFromANodeWithoutTheVIP runs a second control-plane node that
// does not hold the API VIP. Its probe leaves the node for the VIP holder
// and goes through the holder's redirect and proxy (the router sees the
// second node as the client), and breaks when the holder's proxy stops.
func TestPathProbeFromANodeWithoutTheVIP(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	holder := c.startDaemon(t)
	node2 := netns.New(t, "node2")
	c.sw.Attach(t, node2, "eth0", netns.Prefixes("192.0.2.12/24", "2001:db8::12/64")...)
	before := c.routerLog.count()
	node2.Start(t, c.binary, "--api-vips="+apiVIP4.String(), "--ingress-vips="+ingressVIP4.String(), fastPathProbe, "-v=2")

	eventually(t, pathProbeWithinDeadline, "path OK from the second node", metricIs(node2, pathOK(apiVIP4), "1"))
	if c.routerLog.count() == before {
		t.Fatal("the router saw no probe")
	}
	if seen := c.routerLog.last(); seen.xff != "192.0.2.12" || !strings.HasPrefix(seen.path, "/.well-known/acme-challenge/") {
		t.Errorf("the router saw %+v, want a challenge request forwarded for the second node, 192.0.2.12", seen)
	}

	if err := holder.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, pathProbeWithinDeadline, "path broken once the holder's proxy stopped", metricIs(node2, pathOK(apiVIP4), "0"))
}
