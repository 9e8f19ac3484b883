//go:build integration

package diagnose

import (
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Lines diagnose prints, exactly. A case's own line is the test's
// assertion; seeing the whole lines here is also the review of what an
// admin reads.
const (
	lineAllGoodIPv4Port80 = "✓ port 80         192.0.2.100: answered through the proxy (Via: 1.1 http01-challenge-proxy)"

	lineNoRedirect = "✗ port 80         192.0.2.100: connection refused → nothing redirects port 80 of 192.0.2.100 to the proxy: " +
		"check the proxy pod on the node that holds it (oc -n openshift-http01-challenge-proxy get pods -o wide), its log, " +
		"and nft list table inet http01_challenge_proxy there; is spec.mode of the config set?"
	lineNoRedirectChallengeSkipped = "– challenge path  192.0.2.100: not checked: port 80 did not answer"

	lineRouterDown4 = "✗ challenge path  192.0.2.100: the proxy answered 502: it could not reach ingress VIP 192.0.2.200 (connection_refused) → " +
		"check the router behind ingress VIP 192.0.2.200: oc -n openshift-ingress get pods -o wide; keepalived must hold the VIP on a node that runs a router; " +
		"from a control-plane node, curl -sv http://192.0.2.200/ must get an answer"
	lineRouterDown6 = "✗ challenge path  2001:db8::100: the proxy answered 502: it could not reach ingress VIP 2001:db8::200 (connection_refused) → " +
		"check the router behind ingress VIP 2001:db8::200: oc -n openshift-ingress get pods -o wide; keepalived must hold the VIP on a node that runs a router; " +
		"from a control-plane node, curl -sv http://[2001:db8::200]/ must get an answer"

	lineBypassPort80 = "✗ port 80         192.0.2.100: answered 503 without the proxy's Via header (Server: haproxy) → " +
		"another server answers port 80 of 192.0.2.100: on the node that holds it, ss -ltnp 'sport = :80' shows which, " +
		"and nft list table inet http01_challenge_proxy whether the proxy's redirect is there; if 192.0.2.100 is no API VIP, fix DNS"
	lineBypassFilter = "✗ filter          192.0.2.100: GET / was not refused by the proxy: answered 503 by a server other than the proxy (Server: haproxy) → " +
		"something forwards every path, not only challenges, so the proxy's filter is not on the path: " +
		"on the node that holds 192.0.2.100, ss -ltnp 'sport = :80' and nft list ruleset show what takes port 80"
	lineSpoofedViaFilter = "✗ filter          192.0.2.100: GET / was not refused by the proxy: answered 503 with the proxy's Via header but without its refusal (Proxy-Status) → " +
		"something forwards every path, not only challenges, so the proxy's filter is not on the path: " +
		"on the node that holds 192.0.2.100, ss -ltnp 'sport = :80' and nft list ruleset show what takes port 80"

	lineDNSWrong = "✗ DNS             api.cluster.example.test: resolves to 192.0.2.200, but Infrastructure lists the API VIPs 192.0.2.100, 2001:db8::100 → " +
		"point the A/AAAA records of api.cluster.example.test at the API VIPs (unless a NAT in front of the cluster forwards 192.0.2.200 to them); " +
		`see the troubleshooting guide, "DNS for the API name points elsewhere"`
	lineDNSMissing = "✗ DNS             api.cluster.example.test: does not resolve: 192.0.2.53:53 has no A or AAAA record for it → " +
		"create A (and, for IPv6, AAAA) records for api.cluster.example.test pointing at the API VIPs 192.0.2.100, 2001:db8::100; " +
		`see the troubleshooting guide, "DNS for the API name points elsewhere"`

	lineSolverServed = "✓ solver          192.0.2.100 Challenge cert-manager-test/api-self-check-blocked: " +
		"the solver served the key authorization for its token, through the proxy"
	// The router has no solver for the token because its pod cannot pull
	// its image: the solver line names the pod and the fix.
	lineSolverPodNotRunning = "✗ solver          192.0.2.100 Challenge cert-manager-test/api-solver-not-exposed: " +
		"the router answered 503 for the Challenge's token: its solver pod cert-manager-test/cm-acme-http-solver-x7k2p does not run (ImagePullBackOff) → " +
		solverImagePullFix
	solverImagePullFix = "give the issuer's HTTP-01 solver a podTemplate whose ServiceAccount in cert-manager-test has an image pull secret for registry.example.test/image:1 " +
		"(spec.acme.solvers[].http01.ingress.podTemplate.spec.serviceAccountName, that ServiceAccount's imagePullSecrets); " +
		`see the troubleshooting guide, "The solver pod cannot pull its image"`
	lineChallengeSelfCheckBlocked = "✗ cert-manager    Challenge cert-manager-test/api-self-check-blocked: state pending, presented: " + selfCheckTimeout + " → " +
		"cert-manager's self-check cannot reach port 80 of api.cluster.example.test: if the port 80 lines above pass from here, " +
		"a NetworkPolicy (or firewall) keeps cert-manager's pods from TCP/80 of the API VIPs; " +
		`see the troubleshooting guide, "cert-manager's self-check cannot reach port 80"`
	lineChallengeNotExposed = "✗ cert-manager    Challenge cert-manager-test/api-solver-not-exposed: state pending, presented: " + wrongStatus503 + " → " +
		`the router has no route to the solver for this token: see the solver lines above, and the troubleshooting guide, "The solver is not exposed on the router"`
	lineSolverImagePull = "✗ cert-manager    pod cert-manager-test/cm-acme-http-solver-x7k2p: HTTP-01 solver pod waits: ImagePullBackOff: " +
		`Back-off pulling image "registry.example.test/image:1" → ` + solverImagePullFix
)

// cert-manager's reasons, as its challenges controller writes them.
const (
	selfCheckTimeout = "Waiting for HTTP-01 challenge propagation: failed to perform self check GET request " +
		"'http://api.cluster.example.test/.well-known/acme-challenge/selfCheckBlocked0123456789abcdefghijklmnopq': " +
		`Get "http://api.cluster.example.test/.well-known/acme-challenge/selfCheckBlocked0123456789abcdefghijklmnopq": ` +
		"dial tcp 192.0.2.100:80: i/o timeout (Client.Timeout exceeded while awaiting headers)"
	wrongStatus503 = "Waiting for HTTP-01 challenge propagation: wrong status code '503', expected '200'"
)

// TestDiagnose runs every case against one kube-apiserver (starting one
// takes longer than all the cases together) and a fresh network each.
func TestDiagnose(t *testing.T) {
	// kube-apiserver and etcd are started with Pdeathsig, which the kernel
	// sends when the *thread* that forked them exits. netns.Namespace.Do
	// ends the threads it runs on, and any thread may be the next one it
	// takes. Pinning this goroutine to its thread, to the end, keeps the
	// thread that forks them out of that pool until the cleanups have
	// stopped them.
	runtime.LockOSThread()
	start := time.Now()
	t.Cleanup(func() { t.Logf("TestDiagnose took %v", time.Since(start).Round(time.Millisecond)) })
	cluster := startAPICluster(t)
	kubeconfig := "--kubeconfig=" + cluster.kubeconfig
	// newCase is a testbed whose client namespace reaches the API.
	newCase := func(t *testing.T) *testbed {
		tb := newTestbed(t)
		cluster.reachableFrom(t, tb.client)
		return tb
	}

	t.Run("all good", func(t *testing.T) {
		tb := newCase(t)
		tb.startDaemon(t)
		r := tb.diagnose(t, kubeconfig)
		expectExit(t, r, 0)
		expectOnlyPassesAndInfo(t, r)
		expectLines(t, r,
			"✓ DNS             api.cluster.example.test: resolves to 192.0.2.100, 2001:db8::100, the API VIPs",
			lineAllGoodIPv4Port80,
			"✓ challenge path  192.0.2.100: the router answered 503 for a random token, through the proxy",
			"✓ filter          192.0.2.100: GET / refused by the proxy (404)",
			"✓ port 80         2001:db8::100: answered through the proxy (Via: 1.1 http01-challenge-proxy)",
			"✓ challenge path  2001:db8::100: the router answered 503 for a random token, through the proxy",
			"✓ filter          2001:db8::100: GET / refused by the proxy (404)",
			"✓ cluster         Infrastructure/cluster: platform BareMetal, API VIPs 192.0.2.100, 2001:db8::100, ingress VIPs 192.0.2.200, 2001:db8::200",
			"✓ config          HTTP01ChallengeProxy/cluster: mode DefaultDeployment, Ready=True (AsExpected)",
			"✓ ClusterOperator ClusterOperator/http01-challenge-proxy: Available=True, Degraded=False, Disabled=False",
			"✓ DaemonSet       master-0: pod http01-challenge-proxy-x7k2p ready",
			"· cert-manager    challenges: this cluster serves no acme.cert-manager.io/v1 Challenges: cert-manager is not installed, nothing to check",
			"every hop to api.cluster.example.test passes",
		)

		t.Run("as JSON", func(t *testing.T) {
			r := tb.diagnose(t, kubeconfig, "-o", "json")
			expectExit(t, r, 0)
			var report struct {
				Domain string `json:"domain"`
				Passed bool   `json:"passed"`
				Checks []struct {
					Hop, Target, Status, Message, Action string
				} `json:"checks"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
				t.Fatalf("output is not JSON: %v", err)
			}
			if report.Domain != apiHost || !report.Passed || len(report.Checks) != 12 {
				t.Errorf("domain %q, passed %v, %d checks; want %s, true, 12", report.Domain, report.Passed, len(report.Checks), apiHost)
			}
			if c := report.Checks[1]; c.Hop != "port80" || c.Target != "192.0.2.100" || c.Status != "pass" {
				t.Errorf("second check %+v, want port80 of 192.0.2.100 passing", c)
			}
		})

		t.Run("without a kubeconfig", func(t *testing.T) {
			r := tb.diagnose(t)
			expectExit(t, r, 0)
			expectLines(t, r,
				"✓ DNS             api.cluster.example.test: resolves to 192.0.2.100, 2001:db8::100 (not compared with the API VIPs: no kubeconfig)",
				lineAllGoodIPv4Port80,
				"· cluster         kubeconfig: none given: DNS is not compared with the API VIPs, and the configuration, the operator, "+
					"the proxy's pods and cert-manager are not checked (pass --kubeconfig)",
			)
		})
	})

	t.Run("no daemon: nothing redirects port 80", func(t *testing.T) {
		tb := newCase(t)
		r := tb.diagnose(t, kubeconfig)
		expectExit(t, r, 1)
		expectLines(t, r, lineNoRedirect, lineNoRedirectChallengeSkipped)
	})

	t.Run("router down: the proxy's 502 names the ingress VIP", func(t *testing.T) {
		tb := newCase(t)
		tb.startDaemon(t)
		tb.stopRouter()
		r := tb.diagnose(t, kubeconfig)
		expectExit(t, r, 1)
		expectLines(t, r, lineAllGoodIPv4Port80, lineRouterDown4, lineRouterDown6)
	})

	t.Run("filter bypassed by a plain reverse proxy", func(t *testing.T) {
		tb := newCase(t)
		tb.serveOnAPIVIPs(t, forwardEverything(tb, nil))
		r := tb.diagnose(t, kubeconfig)
		expectExit(t, r, 1)
		expectLines(t, r, lineBypassPort80, lineBypassFilter, "– challenge path  192.0.2.100: not checked: the answer did not come through the proxy")
	})

	t.Run("filter bypassed by a reverse proxy that claims to be ours", func(t *testing.T) {
		tb := newCase(t)
		tb.serveOnAPIVIPs(t, forwardEverything(tb, func(resp *http.Response) error {
			resp.Header.Set("Via", "1.1 http01-challenge-proxy")
			return nil
		}))
		r := tb.diagnose(t, kubeconfig)
		expectExit(t, r, 1)
		expectLines(t, r, lineAllGoodIPv4Port80, lineSpoofedViaFilter)
	})

	t.Run("DNS points at the ingress VIP", func(t *testing.T) {
		tb := newCase(t)
		tb.startDaemon(t)
		tb.dnsServer.set(apiHost, ingressVIP4)
		r := tb.diagnose(t, kubeconfig)
		expectExit(t, r, 1)
		expectLines(t, r, lineDNSWrong)
	})

	t.Run("DNS has no record", func(t *testing.T) {
		tb := newCase(t)
		tb.dnsServer.set(apiHost)
		r := tb.diagnose(t, kubeconfig)
		expectExit(t, r, 1)
		expectLines(t, r, lineDNSMissing)
	})

	// Last: the other cases see a cluster without cert-manager.
	t.Run("cert-manager: self-check blocked, solver not exposed, solver image not pulled", func(t *testing.T) {
		cluster.installCertManager(t)
		blocked := pendingChallenge{name: "api-self-check-blocked", token: "selfCheckBlocked0123456789abcdefghijklmnopq", reason: selfCheckTimeout}
		blocked.key = blocked.token + ".thumbprint"
		notExposed := pendingChallenge{name: "api-solver-not-exposed", token: "notExposed0123456789abcdefghijklmnopqrstuvw", reason: wrongStatus503}
		notExposed.key = notExposed.token + ".thumbprint"
		cluster.createChallenge(t, blocked)
		cluster.createChallenge(t, notExposed)
		cluster.createStuckSolverPod(t, "cm-acme-http-solver-x7k2p")

		tb := newCase(t)
		tb.startDaemon(t)
		// From here the blocked Challenge's solver answers: only
		// cert-manager's own pods cannot get there.
		tb.exposeSolver(blocked.token, blocked.key)
		r := tb.diagnose(t, kubeconfig)
		expectExit(t, r, 1)
		expectLines(t, r, lineSolverServed, lineSolverPodNotRunning, lineChallengeSelfCheckBlocked, lineChallengeNotExposed, lineSolverImagePull)
	})
}

// forwardEverything is a plain reverse proxy to the router, run on the
// node: what an admin's own workaround, or a stale config of another load
// balancer, looks like. It keeps the Host, filters nothing, and adds no
// Via unless modify does.
func forwardEverything(tb *testbed, modify func(*http.Response) error) http.Handler {
	router := &url.URL{Scheme: "http", Host: ingressVIP4.String() + ":80"}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(router)
			pr.Out.Host = pr.In.Host
		},
		// Its connections to the router leave from the node.
		Transport:      &http.Transport{Proxy: nil, DialContext: tb.node.DialContext, DisableKeepAlives: true},
		ModifyResponse: modify,
	}
}

// expectOnlyPassesAndInfo fails the test if a line is neither ✓ nor ·, but
// for the summary.
func expectOnlyPassesAndInfo(t *testing.T, r result) {
	t.Helper()
	for _, line := range r.lines() {
		if !strings.HasPrefix(line, "✓ ") && !strings.HasPrefix(line, "· ") && !strings.HasPrefix(line, "every hop ") {
			t.Errorf("a line that neither passes nor informs: %s", line)
		}
	}
}
