//go:build integration

package daemon

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// faultIngressVIP is an ingress VIP of its own for the upstream fault tests,
// served by a router process the test can stop, restart and cut off, apart
// from the cluster's recording router.
var faultIngressVIP = netip.MustParseAddr("192.0.2.202")

// TestUpstreamFaults takes the router away in the ways it can go away, and
// checks that each is answered with the right gateway error within the
// proxy's upstream timeouts, that the proxy serves again as soon as the
// router is back, and how long each took.
func TestUpstreamFaults(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	c.router.IP(t, "address", "add", faultIngressVIP.String()+"/24", "dev", "eth0")
	router := startFaultRouter(t, c.router)
	c.startDaemonWith(t, "--api-vips="+apiVIP4.String(), "--ingress-vips="+faultIngressVIP.String(), noPathProbe, "-v=4")
	// The node always knows the router's MAC address, as it does after any
	// recent exchange: with the address gone, the outcome must not depend
	// on when the neighbour cache gives up on it (then the kernel answers
	// "no route to host", a 502, instead of dropping silently).
	c.node.IP(t, "neighbor", "replace", faultIngressVIP.String(), "lladdr", macAddress(t, c.router, "eth0"), "dev", "eth0", "nud", "permanent")
	eventually(t, 5*time.Second, "challenge served", challengeServed(c.client, apiVIP4))

	faults := []struct {
		name string
		// expectStatus is what a challenge gets while the fault lasts.
		expectStatus int
		// expectError is the proxy error type in Proxy-Status, and
		// expectProblem the end of the body.
		expectError, expectProblem string
		// why says which limit produces expectStatus.
		why            string
		inject, repair func(t *testing.T)
	}{
		{
			name:          "router's HTTP server stopped",
			expectStatus:  http.StatusBadGateway,
			expectError:   "connection_refused",
			expectProblem: "connection refused",
			why:           "connection refused",
			inject:        func(t *testing.T) { router.stop(t) },
			repair:        func(t *testing.T) { router.start(t) },
		},
		{
			name:          "router blackholed by a DROP rule",
			expectStatus:  http.StatusGatewayTimeout,
			expectError:   "connection_timeout",
			expectProblem: "no connection within the dial timeout",
			why:           "dial timeout",
			inject: func(t *testing.T) {
				c.router.Exec(t, "nft", "add table inet blackhole; add chain inet blackhole input { type filter hook input priority -10; }; "+
					"add rule inet blackhole input ip daddr "+faultIngressVIP.String()+" tcp dport 80 drop")
			},
			repair: func(t *testing.T) { c.router.Exec(t, "nft", "delete table inet blackhole") },
		},
		{
			name:          "router's address removed",
			expectStatus:  http.StatusGatewayTimeout,
			expectError:   "connection_timeout",
			expectProblem: "no connection within the dial timeout",
			why:           "dial timeout",
			inject:        func(t *testing.T) { c.router.IP(t, "address", "del", faultIngressVIP.String()+"/24", "dev", "eth0") },
			repair:        func(t *testing.T) { c.router.IP(t, "address", "add", faultIngressVIP.String()+"/24", "dev", "eth0") },
		},
	}
	for _, fault := range faults {
		t.Run(fault.name, func(t *testing.T) {
			fault.inject(t)
			start := time.Now()
			// The client waits longer than any of the proxy's limits, so that
			// what it gets is the proxy's answer.
			resp, err := getResponse(c.client, netip.AddrPortFrom(apiVIP4, 80), "/.well-known/acme-challenge/"+token, 30*time.Second)
			answered := time.Since(start)
			if err != nil || resp.status != fault.expectStatus {
				t.Errorf("during the fault: %d %q, %v; want %d (%s)", resp.status, resp.body, err, fault.expectStatus, fault.why)
			}
			// The answer names the ingress VIP it tried, for a human in
			// the body and for diagnose in Proxy-Status, and nothing of
			// the node.
			expectProxyStatus := `http01-challenge-proxy; error=` + fault.expectError + `; next-hop="` + faultIngressVIP.String() + `"`
			if got := resp.header.Get("Proxy-Status"); got != expectProxyStatus {
				t.Errorf("Proxy-Status %q, want %q", got, expectProxyStatus)
			}
			if !strings.HasSuffix(strings.TrimSpace(resp.body), "ingress VIP "+faultIngressVIP.String()+":80: "+fault.expectProblem) {
				t.Errorf("body %q does not name the ingress VIP and %q", resp.body, fault.expectProblem)
			}
			if strings.Contains(resp.body, nodeAddrs[0].Addr().String()) {
				t.Errorf("body %q names the node's address", resp.body)
			}
			t.Logf("%s: answered %d after %v", fault.name, resp.status, answered.Round(time.Millisecond))

			fault.repair(t)
			start = time.Now()
			eventually(t, 10*time.Second, "challenge served after the repair", challengeServed(c.client, apiVIP4))
			t.Logf("recovery from %s: challenge served %v after the repair", fault.name, time.Since(start).Round(time.Millisecond))
		})
	}

	t.Run("gateway errors are counted", func(t *testing.T) {
		for _, code := range []int{http.StatusBadGateway, http.StatusGatewayTimeout} {
			sample := `http01_challenge_proxy_requests_total{code="` + strconv.Itoa(code) + `",outcome="upstream_error"}`
			if got := metric(t, c.node, sample); got == "" || got == "0" {
				t.Errorf("%s = %q, want at least 1", sample, got)
			}
		}
	})
}

// faultRouter is a router that answers the challenge on faultIngressVIP:80
// and can be stopped and started again, as when its pod restarts.
type faultRouter struct {
	ns     *netns.Namespace
	server *http.Server
}

func startFaultRouter(t *testing.T, ns *netns.Namespace) *faultRouter {
	t.Helper()
	r := &faultRouter{ns: ns}
	r.start(t)
	t.Cleanup(func() {
		if r.server != nil {
			r.server.Close()
		}
	})
	return r
}

func (r *faultRouter) start(t *testing.T) {
	t.Helper()
	ln, err := r.ns.Listen("tcp", netip.AddrPortFrom(faultIngressVIP, 80).String())
	if err != nil {
		t.Fatal(err)
	}
	r.server = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, keyAuth)
	})}
	go r.server.Serve(ln)
}

// stop closes the listener and every connection, so that the port refuses.
func (r *faultRouter) stop(t *testing.T) {
	t.Helper()
	if err := r.server.Close(); err != nil {
		t.Fatal(err)
	}
	r.server = nil
}

// macAddress returns the MAC address of ifname in ns.
func macAddress(t *testing.T, ns *netns.Namespace, ifname string) string {
	t.Helper()
	var mac string
	if _, err := fmt.Sscanf(ns.Exec(t, "cat", "/sys/class/net/"+ifname+"/address"), "%s", &mac); err != nil {
		t.Fatal(err)
	}
	return mac
}
