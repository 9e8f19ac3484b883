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

// TestOtherProcessesCannotChangeTheRules tampers with the rules the way an
// admin or another agent could. The kernel refuses every change to a table
// owned by another netlink socket (EPERM), and a flush of the ruleset skips
// it, so the rules stay exactly as they were and there is nothing to repair.
// Repair (rules.Reconciler, TestKernelOwnsItsTable) remains for what can
// still happen: the loss of the owning socket.
func TestOtherProcessesCannotChangeTheRules(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	p := c.startDaemon(t)
	for _, tamper := range []string{
		"delete table inet " + ourTable,
		"flush table inet " + ourTable,
		"flush chain inet " + ourTable + " output",
		"delete chain inet " + ourTable + " output",
		"insert rule inet " + ourTable + " prerouting tcp dport 80 accept",
		"replace rule inet " + ourTable + " prerouting handle " + firstRuleHandle(t, c, "prerouting") + " ip daddr 192.0.2.100 tcp dport 80 redirect to :9",
		"add table inet " + ourTable + " { flags dormant; }",
	} {
		out, err := c.node.Command("nft", tamper).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Operation not permitted") {
			t.Errorf("nft %s: %v %s; want Operation not permitted", tamper, err, out)
		}
	}
	// Someone else's table goes with a flush of the ruleset; ours stays.
	c.node.Exec(t, "nft", "add table ip someone_else")
	c.node.Exec(t, "nft", "flush ruleset")
	if strings.Contains(c.node.Exec(t, "nft", "list", "tables"), "someone_else") {
		t.Error("flush ruleset left someone else's table: the flush proves nothing")
	}

	if err := checkRuleCounts(t, c.node); err != nil {
		t.Error(err)
	}
	for _, probe := range []func() error{
		challengeServed(c.client, apiVIP4), challengeServed(c.client, apiVIP6), // prerouting
		challengeServed(c.node, apiVIP4), challengeServed(c.node, apiVIP6), // output
		readyz(c),
	} {
		if err := probe(); err != nil {
			t.Error(err)
		}
	}
	// Give a repair, if one were wrongly made, the time to be logged.
	time.Sleep(300 * time.Millisecond)
	if strings.Contains(p.Output(), `"Repaired nftables rules"`) {
		t.Errorf("a repair was logged; log:\n%s", p.Output())
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

// TestSIGKILLLeavesNothing is the fault of a daemon killed without a chance
// to clean up (OOM kill, node agent crash). The kernel deletes our table with
// the netlink socket that owns it, so neither the redirect of API_VIP:80 to a
// dead port nor the guard of the proxy port outlives the daemon, and the
// next daemon (the DaemonSet's restart) simply installs its own.
func TestSIGKILLLeavesNothing(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	killed := c.startDaemon(t)
	if err := killed.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	for ourTablePresent(t, c.node) {
		if time.Since(killedAt) > 5*time.Second {
			t.Fatal("our table is still in the kernel 5s after SIGKILL")
		}
		time.Sleep(time.Millisecond)
	}
	gone := time.Since(killedAt)
	if _, err := killed.Wait(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("table gone %v after SIGKILL (polled every 1ms)", gone.Round(100*time.Microsecond))
	if ruleset := c.node.Exec(t, "nft", "list", "ruleset"); strings.Contains(ruleset, ourTable) {
		t.Errorf("nft list ruleset after SIGKILL still shows our table:\n%s", ruleset)
	}

	t.Run("restart with the same configuration", func(t *testing.T) {
		p := c.restartDaemon(t, "table gone with its owner", apiVIP4)
		if err := checkRuleCounts(t, c.node); err != nil {
			t.Error(err)
		}
		kill(t, p)
	})

	t.Run("restart with a new configuration", func(t *testing.T) {
		c.restartDaemon(t, "table gone with its owner", apiVIP6, "--listen-port=9999")
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

// TestWithoutNetAdminItSaysSo: a pod whose securityContext lost NET_ADMIN
// gets one clear line and a failed container, not a loop of EPERMs.
func TestWithoutNetAdminItSaysSo(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	p := c.node.Start(t, "setpriv", append([]string{"--bounding-set=-net_admin", "--", c.binary}, c.defaultDaemonArguments...)...)
	code, err := p.Wait(10 * time.Second)
	if err != nil || code == 0 {
		t.Fatalf("daemon without CAP_NET_ADMIN: exit %d, %v; want a failure\n%s", code, err, p.Output())
	}
	if !strings.Contains(p.Output(), "lacks CAP_NET_ADMIN") || !strings.Contains(p.Output(), "securityContext.capabilities") {
		t.Errorf("want the missing capability and its fix named, got:\n%s", p.Output())
	}
	if out := c.node.Exec(t, "nft", "list", "tables"); strings.Contains(out, "http01") {
		t.Errorf("a table was left: %s", out)
	}
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
