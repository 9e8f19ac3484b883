//go:build integration

package daemon

import (
	"fmt"
	"net/http"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// logDuration logs how long the test took (visible with -v).
func logDuration(t *testing.T) {
	start := time.Now()
	t.Cleanup(func() { t.Logf("%s took %v", t.Name(), time.Since(start).Round(time.Millisecond)) })
}

func TestChallengeRequestsReachTheRouter(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	c.startDaemon(t)

	forwarded := []struct {
		name      string
		vip       netip.Addr
		expectVIP netip.Addr
	}{
		{name: "IPv4 from another host", vip: apiVIP4, expectVIP: ingressVIP4},
		{name: "IPv6 from another host", vip: apiVIP6, expectVIP: ingressVIP6},
	}
	for _, tc := range forwarded {
		t.Run(tc.name, func(t *testing.T) {
			before := c.routerLog.count()
			status, body, err := challenge(c.client, tc.vip)
			if err != nil || status != http.StatusOK || body != keyAuth {
				t.Fatalf("challenge via %s: %d %q %v", tc.vip, status, body, err)
			}
			if got := c.routerLog.count() - before; got != 1 {
				t.Fatalf("router saw %d requests, want 1", got)
			}
			seen := c.routerLog.last()
			expectClient := clientAddrs[0].Addr()
			if tc.vip.Is6() {
				expectClient = clientAddrs[1].Addr()
			}
			expect := seenRequest{
				local: netip.AddrPortFrom(tc.expectVIP, 80).String(), host: apiHost,
				path: "/.well-known/acme-challenge/" + token, xff: expectClient.String(),
			}
			if seen != expect {
				t.Errorf("router saw %+v, want %+v", seen, expect)
			}
		})
	}

	t.Run("from the node itself", func(t *testing.T) {
		for _, vip := range []netip.Addr{apiVIP4, apiVIP6} {
			before := c.routerLog.count()
			status, body, err := challenge(c.node, vip)
			if err != nil || status != http.StatusOK || body != keyAuth {
				t.Fatalf("challenge via %s from the node: %d %q %v", vip, status, body, err)
			}
			if got := c.routerLog.count() - before; got != 1 {
				t.Errorf("router saw %d requests, want 1", got)
			}
		}
	})

	t.Run("non-challenge requests are rejected before the router", func(t *testing.T) {
		before := c.routerLog.count()
		for _, tc := range []struct {
			path   string
			expect int
		}{
			{"/", http.StatusNotFound},
			{"/api/v1/namespaces/kube-system/secrets", http.StatusNotFound},
			{"/.well-known/acme-challenge/short", http.StatusNotFound},
			{"/.well-known/acme-challenge/%2e%2e/%2e%2e/etc/passwd", http.StatusBadRequest},
			{"/.well-known/acme-challenge/" + token + "?x=1", http.StatusBadRequest},
		} {
			for _, vip := range []netip.Addr{apiVIP4, apiVIP6} {
				status, _, err := get(c.client, netip.AddrPortFrom(vip, 80), tc.path)
				if err != nil || status != tc.expect {
					t.Errorf("GET %s via %s: %d %v, want %d", tc.path, vip, status, err, tc.expect)
				}
			}
		}
		if got := c.routerLog.count() - before; got != 0 {
			t.Errorf("router saw %d requests, want none", got)
		}
	})

	t.Run("other ports on the API VIP are untouched", func(t *testing.T) {
		direct := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "served directly on the node") })
		before := c.routerLog.count()
		for _, vip := range []netip.Addr{apiVIP4, apiVIP6} {
			address := netip.AddrPortFrom(vip, 8080)
			serve(t, c.node, address, direct)
			status, body, err := get(c.client, address, "/.well-known/acme-challenge/"+token)
			if err != nil || status != http.StatusOK || body != "served directly on the node" {
				t.Errorf("GET via %s: %d %q %v", address, status, body, err)
			}
		}
		if got := c.routerLog.count() - before; got != 0 {
			t.Errorf("router saw %d requests, want none", got)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		// Eventually: the server counts a connection closed only after the
		// client has its response.
		eventually(t, 5*time.Second, "metrics", func() error {
			for sample, expect := range map[string]string{
				"http01_challenge_proxy_rules_present":                                  "1",
				`http01_challenge_proxy_requests_total{code="200",outcome="forwarded"}`: "4",
				`http01_challenge_proxy_requests_total{code="404",outcome="rejected"}`:  "6",
				`http01_challenge_proxy_requests_total{code="400",outcome="rejected"}`:  "4",
				"http01_challenge_proxy_upstream_response_seconds_count":                "4",
				`http01_challenge_proxy_rule_repairs_total{reason="table_missing"}`:     "",
				"http01_challenge_proxy_active_connections":                             "0",
			} {
				if got := metric(t, c.node, sample); got != expect {
					return fmt.Errorf("%s = %q, want %q", sample, got, expect)
				}
			}
			return nil
		})
	})
}

// TestRulesAreRepaired tampers with the rules the way an admin or another
// agent could, each time on a fresh node, so that every repair is a first one
// and not slowed down by the daemon's backoff against repeated tampering.
func TestRulesAreRepaired(t *testing.T) {
	logDuration(t)
	tampers := []struct {
		name      string
		nft       string
		logDetail string
		metric    string
	}{
		{name: "ruleset flushed", nft: "flush ruleset", logDetail: "table missing", metric: "table_missing"},
		{name: "our table deleted", nft: "delete table inet " + ourTable, logDetail: "table missing", metric: "table_missing"},
		{name: "output chain flushed", nft: "flush chain inet " + ourTable + " output", logDetail: "chain output: 0 rules, want 2", metric: "rule_count"},
		{name: "output chain deleted", nft: "delete chain inet " + ourTable + " output", logDetail: "chain output missing", metric: "chain_missing"},
		{name: "rule inserted", nft: "insert rule inet " + ourTable + " prerouting tcp dport 80 accept", logDetail: "chain prerouting: 3 rules, want 2", metric: "rule_count"},
		{name: "rule replaced", nft: "replace rule inet " + ourTable + " prerouting handle %s ip daddr 192.0.2.100 tcp dport 80 redirect to :9", logDetail: "chain prerouting: rule 1 differs", metric: "rule_differs"},
		{name: "table made dormant", nft: "add table inet " + ourTable + " { flags dormant; }", logDetail: "table flags are 0x1, want 0x0", metric: "table_flags"},
	}
	for _, tc := range tampers {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t)
			p := c.startDaemon(t)
			nft := tc.nft
			if strings.Contains(nft, "%s") {
				nft = fmt.Sprintf(nft, firstRuleHandle(t, c, "prerouting"))
			}

			start := time.Now()
			c.node.Exec(t, "nft", nft)
			// Someone else's table, created right after the tamper, must
			// survive the repair.
			c.node.Exec(t, "nft", "add table ip someone_else")
			eventually(t, 5*time.Second, "rules and service back", func() error {
				if err := checkRuleCounts(t, c.node); err != nil {
					return err
				}
				for _, probe := range []func() error{
					challengeServed(c.client, apiVIP4), challengeServed(c.client, apiVIP6), // prerouting
					challengeServed(c.node, apiVIP4), challengeServed(c.node, apiVIP6), // output
				} {
					if err := probe(); err != nil {
						return err
					}
				}
				return nil
			})
			t.Logf("recovery from %s: rules and service back %v after the tamper", tc.name, time.Since(start).Round(time.Millisecond))

			if !strings.Contains(c.node.Exec(t, "nft", "list", "tables"), "table ip someone_else") {
				t.Error("the daemon removed someone else's table")
			}
			eventually(t, 5*time.Second, "ready again", readyz(c))
			eventually(t, 5*time.Second, "repair logged", func() error {
				if !strings.Contains(p.Output(), `"Repaired nftables rules"`) || !strings.Contains(p.Output(), tc.logDetail) {
					return fmt.Errorf("no repair logged with %q", tc.logDetail)
				}
				return nil
			})
			// The daemon's own write triggers monitor events too; they must
			// not cause repairs of their own.
			time.Sleep(300 * time.Millisecond)
			if n := strings.Count(p.Output(), `"Repaired nftables rules"`); n != 1 {
				t.Errorf("%d repairs logged, want 1; log:\n%s", n, p.Output())
			}
			if got := metric(t, c.node, `http01_challenge_proxy_rule_repairs_total{reason="`+tc.metric+`"}`); got != "1" {
				t.Errorf("repairs with reason %s = %q, want 1", tc.metric, got)
			}
		})
	}
}

// firstRuleHandle returns the handle of the first rule of one of our chains,
// from `nft -a`, which ends each rule with "# handle N".
func firstRuleHandle(t *testing.T, c *cluster, chain string) string {
	t.Helper()
	for _, line := range strings.Split(c.node.Exec(t, "nft", "-a", "list", "chain", "inet", ourTable, chain), "\n") {
		if _, handle, ok := strings.Cut(line, "redirect to :8888"); ok {
			if _, n, ok := strings.Cut(handle, "# handle "); ok {
				return strings.TrimSpace(n)
			}
		}
	}
	t.Fatalf("no redirect rule with a handle in chain %s", chain)
	return ""
}

func readyz(c *cluster) func() error {
	return func() error {
		return statusOK(c.node.HTTPClient(time.Second).Get("http://" + healthAddress + "/readyz"))
	}
}

func TestShutdownRemovesRulesThenDrains(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	// A second router address that answers slowly keeps a request in flight
	// while the daemon is told to stop.
	slowIngressVIP := netip.MustParseAddr("192.0.2.201")
	c.router.IP(t, "address", "add", slowIngressVIP.String()+"/24", "dev", "eth0")
	slowStarted := make(chan struct{})
	serve(t, c.router, netip.AddrPortFrom(slowIngressVIP, 80), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(slowStarted)
		time.Sleep(time.Second)
		fmt.Fprint(w, keyAuth)
	}))
	p := c.startDaemonWith(t, "--api-vips="+apiVIP4.String(), "--ingress-vips="+slowIngressVIP.String(), noPathProbe, "-v=4")

	inFlight := make(chan string, 1)
	go func() {
		status, body, err := challenge(c.client, apiVIP4)
		inFlight <- fmt.Sprintf("%d %s %v", status, body, err)
	}()
	<-slowStarted
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait(15 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("daemon exit code %d, %v; want 0\n%s", code, err, p.Output())
	}
	if got, expect := <-inFlight, "200 "+keyAuth+" <nil>"; got != expect {
		t.Errorf("request in flight during shutdown got %q, want %q", got, expect)
	}

	if ourTablePresent(t, c.node) {
		t.Error("our table is still in the kernel after SIGTERM (netlink)")
	}
	if ruleset := c.node.Exec(t, "nft", "list", "ruleset"); strings.Contains(ruleset, ourTable) || strings.Contains(ruleset, "http01") {
		t.Errorf("nft list ruleset after SIGTERM still shows our rules:\n%s", ruleset)
	}
	out := p.Output()
	removed, drained, deleted := strings.Index(out, `"Removed nftables rules"`), strings.Index(out, `"Drained proxy connections"`), strings.Index(out, `"Deleted nftables table"`)
	if removed < 0 || drained < 0 || deleted < 0 || removed > drained || drained > deleted {
		t.Errorf("want rules removed, then connections drained, then the table deleted; log:\n%s", out)
	}
	if _, _, err := challenge(c.client, apiVIP4); err == nil {
		t.Error("API_VIP:80 still answers after shutdown")
	}
}

// TestRestartAfterSIGKILL is the fault of a daemon killed without a chance
// to clean up (OOM kill, node agent crash): its table stays behind, still
// redirecting API_VIP:80 to a closed port, until the next daemon (the
// DaemonSet's restart) adopts or replaces it. It logs how long service takes
// to come back once the new daemon starts.
func TestRestartAfterSIGKILL(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	killed := c.startDaemon(t)
	kill(t, killed)
	if !ourTablePresent(t, c.node) {
		t.Fatal("a SIGKILLed daemon cannot clean up; its table should still be there")
	}
	t.Run("while no daemon runs the stale redirect is refused", func(t *testing.T) {
		if err := dialRefused(c.client, netip.AddrPortFrom(apiVIP4, 80)); err != nil {
			t.Error(err)
		}
	})

	t.Run("same configuration adopts the stale table without duplicates", func(t *testing.T) {
		p := c.restartDaemon(t, "stale table of the same configuration", apiVIP4)
		if err := checkRuleCounts(t, c.node); err != nil {
			t.Error(err)
		}
		kill(t, p)
	})

	t.Run("new configuration replaces the stale table", func(t *testing.T) {
		p := c.restartDaemon(t, "stale table of another configuration", apiVIP6, "--listen-port=9999")
		eventually(t, 5*time.Second, "replacement of the stale table logged", func() error {
			if !strings.Contains(p.Output(), `"Installed nftables rules"`) || !strings.Contains(p.Output(), "chain prerouting: rule 1 differs") {
				return fmt.Errorf("log:\n%s", p.Output())
			}
			return nil
		})
		if err := checkRuleCounts(t, c.node); err != nil {
			t.Error(err)
		}
		ruleset := c.node.Exec(t, "nft", "list", "table", "inet", ourTable)
		if strings.Contains(ruleset, "8888") || strings.Count(ruleset, "redirect to :9999") != 4 {
			t.Errorf("table after restart on port 9999:\n%s", ruleset)
		}
	})
}

// kill SIGKILLs a daemon and waits for it to die.
func kill(t *testing.T, p *netns.Process) {
	t.Helper()
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// restartDaemon starts a daemon after a fault, and logs how long after its
// start the challenge via vip was served again and the daemon was ready.
func (c *cluster) restartDaemon(t *testing.T, fault string, vip netip.Addr, extraArgs ...string) *netns.Process {
	t.Helper()
	start := time.Now()
	p := c.node.Start(t, c.binary, append(append([]string{}, c.defaultDaemonArguments...), extraArgs...)...)
	eventually(t, 15*time.Second, "challenge served after the restart", challengeServed(c.client, vip))
	served := time.Since(start)
	c.waitReady(t, p)
	t.Logf("recovery from a SIGKILL with a %s: challenge served %v after the restart, ready after %v",
		fault, served.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return p
}

func TestSecondDaemonDoesNotTouchTheRules(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	c.startDaemon(t)
	second := c.node.Start(t, c.binary, append(append([]string{}, c.defaultDaemonArguments...),
		"--health-listen-address=127.0.0.1:19448", "--metrics-listen-address=127.0.0.1:19449", "--listen-port=8888")...)
	code, err := second.Wait(10 * time.Second)
	if err != nil || code == 0 {
		t.Fatalf("second daemon on the same port: exit %d, %v; want a failure\n%s", code, err, second.Output())
	}
	if !strings.Contains(second.Output(), "address already in use") || strings.Contains(second.Output(), "nftables") {
		t.Errorf("second daemon output:\n%s", second.Output())
	}
	eventually(t, 5*time.Second, "first daemon still serves", challengeServed(c.client, apiVIP4))
}

func TestBadFlagsExitNonZero(t *testing.T) {
	binary := apiserver.DaemonBinaryUnderTest(t)
	for _, tc := range []struct {
		args   []string
		expect string
	}{
		{nil, "--api-vips: at least one address is required"},
		{[]string{"--api-vips=192.0.2.100", "--ingress-vips=192.0.2.100"}, "192.0.2.100 is also an API VIP"},
		{[]string{"--api-vips=not-an-ip", "--ingress-vips=192.0.2.200"}, "is not an IP address"},
		{[]string{"--listen-port=eighty"}, `invalid argument "eighty"`},
		{[]string{"--no-such-flag"}, "unknown flag: --no-such-flag"},
	} {
		out, err := exec.Command(binary, tc.args...).CombinedOutput()
		exitErr, ok := err.(*exec.ExitError)
		if !ok || exitErr.ExitCode() == 0 {
			t.Errorf("%v: %v, want a non-zero exit\n%s", tc.args, err, out)
		}
		if strings.Contains(string(out), "panic") || !strings.Contains(string(out), tc.expect) {
			t.Errorf("%v: want an error saying %s, got:\n%s", tc.args, tc.expect, out)
		}
	}
}
