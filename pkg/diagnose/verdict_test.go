package diagnose

import (
	"net/netip"
	"strings"
	"testing"
)

// Recorded answers of port 80, as the proxy, the router and others give
// them.
var (
	addr4 = netip.MustParseAddr("192.0.2.100")
	addr6 = netip.MustParseAddr("2001:db8::100")

	routerViaProxy = HTTPObservation{Status: 404, Via: "1.1 http01-challenge-proxy", Body: "404 page not found\n"}
	proxyRefusal   = HTTPObservation{Status: 404, Via: "1.1 http01-challenge-proxy", ProxyStatus: "http01-challenge-proxy; error=http_request_denied",
		Body: "only /.well-known/acme-challenge/<token> is served here\n"}
	proxy502 = HTTPObservation{Status: 502, Via: "1.1 http01-challenge-proxy",
		ProxyStatus: `http01-challenge-proxy; error=connection_refused; next-hop="192.0.2.200"`,
		Body:        "upstream unavailable: ingress VIP 192.0.2.200:80: connection refused\n"}
	proxy504v6 = HTTPObservation{Status: 504, Via: "1.1 http01-challenge-proxy",
		ProxyStatus: `http01-challenge-proxy; error=connection_timeout; next-hop="2001:db8::200"`}
	routerDirect      = HTTPObservation{Status: 404, Server: "haproxy"}
	nginx             = HTTPObservation{Status: 200, Server: "nginx"}
	viaButNoRefusal   = HTTPObservation{Status: 404, Via: "1.1 http01-challenge-proxy"}
	refused           = HTTPObservation{Failure: failureRefused}
	timedOut          = HTTPObservation{Failure: "no answer within 10s"}
	unreachable       = HTTPObservation{Failure: failureUnreachable}
	otherFailure      = HTTPObservation{Failure: "connection reset"}
	pendingChallenge  = ChallengeObservation{Namespace: "openshift-config", Name: "api-cert-1-2-3", Type: "HTTP-01", State: "pending", Presented: true, Token: "tok", Key: "tok.thumb"}
	solverKey         = HTTPObservation{Status: 200, Via: "1.1 http01-challenge-proxy", Body: "tok.thumb"}
	solverNotExposed  = HTTPObservation{Status: 503, Via: "1.1 http01-challenge-proxy", Body: "Application is not available"}
	validChallenge    = ChallengeObservation{Namespace: "openshift-config", Name: "old", Type: "HTTP-01", State: "valid"}
	infraBareMetal    = InfrastructureObservation{APIServerURL: "https://api.cluster.example.test:6443", Platform: "BareMetal", APIVIPs: []netip.Addr{addr4, addr6}, IngressVIPs: []netip.Addr{netip.MustParseAddr("192.0.2.200")}}
	readyConfig       = ConfigObservation{Mode: "DefaultDeployment", Ready: &Condition{Type: "Ready", Status: "True", Reason: "AsExpected"}}
	healthyOperator   = ClusterOperatorObservation{Conditions: []Condition{{Type: "Available", Status: "True"}, {Type: "Degraded", Status: "False"}, {Type: "Disabled", Status: "False"}}}
	threeReadyNodes   = DaemonSetObservation{ControlPlaneNodes: []string{"master-0", "master-1"}, Pods: []PodObservation{{Name: "p0", Node: "master-0", Ready: true}, {Name: "p1", Node: "master-1", Ready: true}}}
	certManagerAbsent = CertManagerObservation{}
)

// expectCheck is what a test expects of a check: everything but the
// action's exact prose, of which it names the parts that matter.
type expectCheck struct {
	hop, target string
	status      Status
	message     string
	actionHas   []string
}

func checkIs(t *testing.T, got Check, expect expectCheck) {
	t.Helper()
	if got.Hop != expect.hop || got.Target != expect.target || got.Status != expect.status || got.Message != expect.message {
		t.Errorf("got  %s %q %s %q\nwant %s %q %s %q", got.Hop, got.Target, got.Status, got.Message, expect.hop, expect.target, expect.status, expect.message)
	}
	if (got.Status == Fail) != (got.Action != "") {
		t.Errorf("status %s with action %q: a failed check, and only a failed one, says what to do", got.Status, got.Action)
	}
	for _, part := range expect.actionHas {
		if !strings.Contains(got.Action, part) {
			t.Errorf("action %q does not mention %q", got.Action, part)
		}
	}
}

func TestJudgeDNS(t *testing.T) {
	const domain = "api.cluster.example.test"
	withCluster := &ClusterObservation{Infrastructure: infraBareMetal}
	tests := []struct {
		name    string
		dns     DNSObservation
		cluster *ClusterObservation
		expect  expectCheck
	}{
		{
			name: "the API VIPs", dns: DNSObservation{Addresses: []netip.Addr{addr4, addr6}}, cluster: withCluster,
			expect: expectCheck{HopDNS, domain, Pass, "resolves to 192.0.2.100, 2001:db8::100, the API VIPs", nil},
		},
		{
			name: "one of the API VIPs: IPv4 only in DNS", dns: DNSObservation{Addresses: []netip.Addr{addr4}}, cluster: withCluster,
			expect: expectCheck{HopDNS, domain, Pass, "resolves to 192.0.2.100, the API VIPs", nil},
		},
		{
			name: "the ingress VIP", dns: DNSObservation{Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.200")}}, cluster: withCluster,
			expect: expectCheck{HopDNS, domain, Fail, "resolves to 192.0.2.200, but Infrastructure lists the API VIPs 192.0.2.100, 2001:db8::100",
				[]string{"point the A/AAAA records of api.cluster.example.test at the API VIPs", "NAT in front of the cluster forwards 192.0.2.200", "DNS for the API name points elsewhere"}},
		},
		{
			name: "an API VIP and a stranger", dns: DNSObservation{Addresses: []netip.Addr{addr4, netip.MustParseAddr("2001:db8::99")}}, cluster: withCluster,
			expect: expectCheck{HopDNS, domain, Fail, "resolves to 192.0.2.100, 2001:db8::99, but Infrastructure lists the API VIPs 192.0.2.100, 2001:db8::100",
				[]string{"forwards 2001:db8::99 to them"}},
		},
		{
			name: "no kubeconfig", dns: DNSObservation{Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.200")}},
			expect: expectCheck{HopDNS, domain, Pass, "resolves to 192.0.2.200 (not compared with the API VIPs: no kubeconfig)", nil},
		},
		{
			name: "Infrastructure unreadable", dns: DNSObservation{Addresses: []netip.Addr{addr4}},
			cluster: &ClusterObservation{Infrastructure: InfrastructureObservation{Failure: "forbidden"}},
			expect:  expectCheck{HopDNS, domain, Pass, "resolves to 192.0.2.100 (not compared with the API VIPs: the Infrastructure could not be read)", nil},
		},
		{
			name: "no such name", dns: DNSObservation{Server: "192.0.2.53:53", NotFound: true}, cluster: withCluster,
			expect: expectCheck{HopDNS, domain, Fail, "does not resolve: 192.0.2.53:53 has no A or AAAA record for it",
				[]string{"create A (and, for IPv6, AAAA) records for api.cluster.example.test pointing at the API VIPs 192.0.2.100, 2001:db8::100"}},
		},
		{
			name: "resolver silent", dns: DNSObservation{Failure: "no answer within 10s"},
			expect: expectCheck{HopDNS, domain, Fail, "lookup failed: no answer within 10s", []string{"the system resolver answers", "--dns-server"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkIs(t, judgeDNS(Observations{Domain: domain, DNS: tc.dns, Cluster: tc.cluster}), tc.expect)
		})
	}
}

func TestJudgePort80(t *testing.T) {
	tests := []struct {
		name   string
		addr   netip.Addr
		answer HTTPObservation
		expect expectCheck
	}{
		{"the router through the proxy", addr4, routerViaProxy,
			expectCheck{HopPort80, "192.0.2.100", Pass, "answered through the proxy (Via: 1.1 http01-challenge-proxy)", nil}},
		{"the proxy's own 502 still came through the proxy", addr6, proxy502,
			expectCheck{HopPort80, "2001:db8::100", Pass, "answered through the proxy (Via: 1.1 http01-challenge-proxy)", nil}},
		{"refused: no redirect", addr4, refused,
			expectCheck{HopPort80, "192.0.2.100", Fail, "connection refused", []string{"nothing redirects port 80 of 192.0.2.100", "oc -n openshift-http01-challenge-proxy get pods -o wide", "nft list table inet http01_challenge_proxy"}}},
		{"timed out", addr4, timedOut,
			expectCheck{HopPort80, "192.0.2.100", Fail, "no answer within 10s", []string{"firewall", "keepalived"}}},
		{"unreachable", addr4, unreachable,
			expectCheck{HopPort80, "192.0.2.100", Fail, "no route to host", []string{"no route from here to 192.0.2.100"}}},
		{"reset", addr4, otherFailure,
			expectCheck{HopPort80, "192.0.2.100", Fail, "connection reset", []string{"network path from here to 192.0.2.100"}}},
		{"another server", addr4, nginx,
			expectCheck{HopPort80, "192.0.2.100", Fail, "answered 200 without the proxy's Via header (Server: nginx)", []string{"another server answers port 80 of 192.0.2.100", "ss -ltnp 'sport = :80'"}}},
		{"the router without the proxy", addr4, HTTPObservation{Status: 404},
			expectCheck{HopPort80, "192.0.2.100", Fail, "answered 404 without the proxy's Via header (no Server header)", nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkIs(t, judgePort80(tc.addr, tc.answer), tc.expect) })
	}
}

func TestJudgeChallenge(t *testing.T) {
	tests := []struct {
		name   string
		answer HTTPObservation
		expect expectCheck
	}{
		{"the router's 404", routerViaProxy,
			expectCheck{HopChallenge, "192.0.2.100", Pass, "the router answered 404 for a random token, through the proxy", nil}},
		{"the router's 503 for a host without a route", HTTPObservation{Status: 503, Via: "1.1 http01-challenge-proxy"},
			expectCheck{HopChallenge, "192.0.2.100", Pass, "the router answered 503 for a random token, through the proxy", nil}},
		{"router down: the proxy's 502", proxy502,
			expectCheck{HopChallenge, "192.0.2.100", Fail, "the proxy answered 502: it could not reach ingress VIP 192.0.2.200 (connection_refused)",
				[]string{"router behind ingress VIP 192.0.2.200", "oc -n openshift-ingress get pods", "curl -sv http://192.0.2.200/"}}},
		{"router silent: the proxy's 504 over IPv6", proxy504v6,
			expectCheck{HopChallenge, "192.0.2.100", Fail, "the proxy answered 504: it could not reach ingress VIP 2001:db8::200 (connection_timeout)",
				[]string{"curl -sv http://[2001:db8::200]/"}}},
		{"refused by the filter", proxyRefusal,
			expectCheck{HopChallenge, "192.0.2.100", Fail, "the proxy refused a well-formed challenge request with 404", []string{"bug"}}},
		{"no answer", refused,
			expectCheck{HopChallenge, "192.0.2.100", Skip, "not checked: port 80 did not answer", nil}},
		{"not through the proxy", routerDirect,
			expectCheck{HopChallenge, "192.0.2.100", Skip, "not checked: the answer did not come through the proxy", nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkIs(t, judgeChallenge(addr4, tc.answer), tc.expect) })
	}
}

func TestJudgeFilter(t *testing.T) {
	tests := []struct {
		name   string
		answer HTTPObservation
		expect expectCheck
	}{
		{"refused by the proxy", proxyRefusal,
			expectCheck{HopFilter, "192.0.2.100", Pass, "GET / refused by the proxy (404)", nil}},
		{"forwarded to the router by something else", routerDirect,
			expectCheck{HopFilter, "192.0.2.100", Fail, "GET / was not refused by the proxy: answered 404 by a server other than the proxy (Server: haproxy)",
				[]string{"something forwards every path", "on the node that holds 192.0.2.100", "ss -ltnp"}}},
		{"forwarded by something that claims to be the proxy", viaButNoRefusal,
			expectCheck{HopFilter, "192.0.2.100", Fail, "GET / was not refused by the proxy: answered 404 with the proxy's Via header but without its refusal (Proxy-Status)", nil}},
		{"another proxy's refusal", HTTPObservation{Status: 403, Via: "1.1 squid", ProxyStatus: "squid; error=http_request_denied"},
			expectCheck{HopFilter, "192.0.2.100", Fail, "GET / was not refused by the proxy: answered 403 by a server other than the proxy (no Server header)", nil}},
		{"no answer", timedOut,
			expectCheck{HopFilter, "192.0.2.100", Skip, "not checked: port 80 did not answer", nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkIs(t, judgeFilter(addr4, tc.answer), tc.expect) })
	}
}

func TestJudgeSolver(t *testing.T) {
	target := "192.0.2.100 Challenge openshift-config/api-cert-1-2-3"
	pullFailure := []SolverPodObservation{{Namespace: "openshift-config", Name: "cm-acme-http-solver-x", Waiting: "ErrImagePull",
		Message: "failed to pull image", Image: "registry.example.test/acmesolver:v1"}}
	otherNamespace := []SolverPodObservation{{Namespace: "tenant", Name: "cm-acme-http-solver-y", Waiting: "ErrImagePull"}}
	tests := []struct {
		name    string
		answer  HTTPObservation
		waiting []SolverPodObservation
		expect  expectCheck
	}{
		{"the key authorization", solverKey, nil,
			expectCheck{HopSolver, target, Pass, "the solver served the key authorization for its token, through the proxy", nil}},
		{"the router has no route for the token", solverNotExposed, otherNamespace,
			expectCheck{HopSolver, target, Fail, "the router answered 503 for the Challenge's token, not its key authorization",
				[]string{"oc -n openshift-config get ingress,route,service,pods -l acme.cert-manager.io/http01-solver=true", "ingress class", "The solver is not exposed on the router"}}},
		{"its solver pod cannot pull its image", solverNotExposed, pullFailure,
			expectCheck{HopSolver, target, Fail, "the router answered 503 for the Challenge's token: its solver pod openshift-config/cm-acme-http-solver-x does not run (ErrImagePull)",
				[]string{"ServiceAccount in openshift-config has an image pull secret for registry.example.test/acmesolver:v1", "podTemplate.spec.serviceAccountName", "imagePullSecrets", "The solver pod cannot pull its image"}}},
		{"another token's answer", HTTPObservation{Status: 200, Via: "1.1 http01-challenge-proxy", Body: "other.thumb"}, nil,
			expectCheck{HopSolver, target, Fail, "the router answered 200 for the Challenge's token, not its key authorization", nil}},
		{"router down", proxy502, pullFailure, expectCheck{HopSolver, target, Skip, "not checked: the challenge path does not reach the router (see above)", nil}},
		{"no answer", refused, nil, expectCheck{HopSolver, target, Skip, "not checked: the challenge path does not reach the router (see above)", nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkIs(t, judgeSolver(addr4, SolverObservation{Challenge: pendingChallenge, Answer: tc.answer}, tc.waiting), tc.expect)
		})
	}
}

func TestJudgeInfrastructure(t *testing.T) {
	const domain = "api.cluster.example.test"
	other := infraBareMetal
	other.APIServerURL = "https://api.other.example.test:6443"
	tests := []struct {
		name   string
		infra  InfrastructureObservation
		expect expectCheck
	}{
		{"this cluster", infraBareMetal,
			expectCheck{HopCluster, "Infrastructure/cluster", Pass, "platform BareMetal, API VIPs 192.0.2.100, 2001:db8::100, ingress VIPs 192.0.2.200", nil}},
		{"another cluster, or another name for it", other,
			expectCheck{HopCluster, "Infrastructure/cluster", Info, "this cluster's API is https://api.other.example.test:6443, not api.cluster.example.test: unless that is another name for it, the kubeconfig is for another cluster; platform BareMetal, API VIPs 192.0.2.100, 2001:db8::100, ingress VIPs 192.0.2.200", nil}},
		{"not bare metal", InfrastructureObservation{APIServerURL: "https://API.cluster.example.test:6443", Platform: "AWS"},
			expectCheck{HopCluster, "Infrastructure/cluster", Pass, "platform AWS, API VIPs (none), ingress VIPs (none)", nil}},
		{"unreachable API", InfrastructureObservation{Failure: `Get "https://api.cluster.example.test:6443/apis/config.openshift.io/v1/infrastructures/cluster": dial tcp: connect: connection refused`},
			expectCheck{HopCluster, "Infrastructure/cluster", Fail, `cannot read it: Get "https://api.cluster.example.test:6443/apis/config.openshift.io/v1/infrastructures/cluster": dial tcp: connect: connection refused`,
				[]string{"--kubeconfig"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkIs(t, judgeInfrastructure(domain, tc.infra), tc.expect) })
	}
}

func TestJudgeConfig(t *testing.T) {
	const target = "HTTP01ChallengeProxy/cluster"
	tests := []struct {
		name   string
		config ConfigObservation
		expect expectCheck
	}{
		{"ready", readyConfig, expectCheck{HopConfig, target, Pass, "mode DefaultDeployment, Ready=True (AsExpected)", nil}},
		{"off", ConfigObservation{Ready: &Condition{Status: "False", Reason: "DisabledByConfiguration"}},
			expectCheck{HopConfig, target, Fail, "spec.mode is empty: the proxy is off", []string{`oc patch http01challengeproxies.config.openshift.io cluster --type=merge -p '{"spec":{"mode":"DefaultDeployment"}}'`}}},
		{"not ready: the operator's message is the action", ConfigObservation{Mode: "CustomDeployment", Ready: &Condition{Status: "False", Reason: "PodsNotReady", Message: "2/3 control-plane nodes ready. Check the pods."}},
			expectCheck{HopConfig, target, Fail, "mode CustomDeployment, Ready=False (PodsNotReady)", []string{"2/3 control-plane nodes ready. Check the pods."}}},
		{"not acted on yet", ConfigObservation{Mode: "DefaultDeployment"},
			expectCheck{HopConfig, target, Fail, "mode DefaultDeployment, no Ready condition yet", []string{"oc -n openshift-http01-challenge-proxy-operator get pods"}}},
		{"absent", ConfigObservation{NotFound: true}, expectCheck{HopConfig, target, Fail, "not found", []string{"not installed"}}},
		{"unreadable", ConfigObservation{Failure: "forbidden"}, expectCheck{HopConfig, target, Fail, "cannot read it: forbidden", []string{"get http01challengeproxies.config.openshift.io"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkIs(t, judgeConfig(tc.config), tc.expect) })
	}
}

func TestJudgeClusterOperator(t *testing.T) {
	const target = "ClusterOperator/http01-challenge-proxy"
	tests := []struct {
		name   string
		co     ClusterOperatorObservation
		expect expectCheck
	}{
		{"healthy", healthyOperator, expectCheck{HopClusterOperator, target, Pass, "Available=True, Degraded=False, Disabled=False", nil}},
		{"no Disabled condition means enabled", ClusterOperatorObservation{Conditions: []Condition{{Type: "Available", Status: "True"}, {Type: "Degraded", Status: "False"}}},
			expectCheck{HopClusterOperator, target, Pass, "Available=True, Degraded=False", nil}},
		{"disabled off bare metal", ClusterOperatorObservation{Conditions: []Condition{
			{Type: "Available", Status: "True"}, {Type: "Degraded", Status: "False"},
			{Type: "Disabled", Status: "True", Reason: "UnsupportedPlatform", Message: "The platform is AWS."}}},
			expectCheck{HopClusterOperator, target, Fail, "Available=True, Degraded=False, Disabled=True (UnsupportedPlatform)", []string{"The platform is AWS."}}},
		{"degraded: the first bad condition gives the action", ClusterOperatorObservation{Conditions: []Condition{
			{Type: "Available", Status: "False", Reason: "NoPods", Message: "first"}, {Type: "Degraded", Status: "True", Reason: "X", Message: "second"}}},
			expectCheck{HopClusterOperator, target, Fail, "Available=False (NoPods), Degraded=True (X)", []string{"first"}}},
		{"no conditions yet", ClusterOperatorObservation{},
			expectCheck{HopClusterOperator, target, Fail, "Available=Unknown (Missing), Degraded=Unknown (Missing)", []string{"oc get clusteroperator http01-challenge-proxy -o yaml"}}},
		{"absent", ClusterOperatorObservation{NotFound: true}, expectCheck{HopClusterOperator, target, Fail, "not found", []string{"get pods"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkIs(t, judgeClusterOperator(tc.co), tc.expect) })
	}
}

func TestJudgeDaemonSet(t *testing.T) {
	ds := "openshift-http01-challenge-proxy/http01-challenge-proxy"
	tests := []struct {
		name   string
		ds     DaemonSetObservation
		config ConfigObservation
		expect []expectCheck
	}{
		{"a ready pod on every control-plane node", threeReadyNodes, readyConfig, []expectCheck{
			{HopDaemonSet, "master-0", Pass, "pod p0 ready", nil},
			{HopDaemonSet, "master-1", Pass, "pod p1 ready", nil},
		}},
		{"a node without a pod, a pod not ready, a rollout", DaemonSetObservation{
			ControlPlaneNodes: []string{"master-0", "master-1", "master-2"},
			Pods: []PodObservation{
				{Name: "old", Node: "master-0", Phase: "Running"}, {Name: "new", Node: "master-0", Ready: true},
				{Name: "p2", Node: "master-2", Phase: "Running", Waiting: "CrashLoopBackOff"},
				{Name: "worker", Node: "worker-0", Ready: true},
			}}, readyConfig, []expectCheck{
			{HopDaemonSet, "master-0", Pass, "pod new ready", nil},
			{HopDaemonSet, "master-1", Fail, "no proxy pod on this control-plane node", []string{"describe daemonset http01-challenge-proxy"}},
			{HopDaemonSet, "master-2", Fail, "pod p2 not ready (CrashLoopBackOff)", []string{"oc -n openshift-http01-challenge-proxy logs p2"}},
		}},
		{"pending pod", DaemonSetObservation{ControlPlaneNodes: []string{"m"}, Pods: []PodObservation{{Name: "p", Node: "m", Phase: "Pending"}}}, readyConfig,
			[]expectCheck{{HopDaemonSet, "m", Fail, "pod p not ready (Pending)", nil}}},
		{"the proxy is off", DaemonSetObservation{ControlPlaneNodes: []string{"m"}}, ConfigObservation{},
			[]expectCheck{{HopDaemonSet, ds, Skip, "not checked: the proxy is off (see config)", nil}}},
		{"no control-plane node", DaemonSetObservation{}, readyConfig,
			[]expectCheck{{HopDaemonSet, ds, Fail, "no node has the node-role.kubernetes.io/master label", []string{"oc get nodes --show-labels"}}}},
		{"nodes not readable", DaemonSetObservation{NodesFailure: "forbidden", Pods: []PodObservation{{Name: "p0", Node: "m0", Ready: true}}}, readyConfig, []expectCheck{
			{HopDaemonSet, "nodes", Info, "cannot list nodes (forbidden): a control-plane node without a proxy pod would not show here", nil},
			{HopDaemonSet, "m0", Pass, "pod p0 ready", nil},
		}},
		{"pods not readable", DaemonSetObservation{Failure: "forbidden"}, readyConfig,
			[]expectCheck{{HopDaemonSet, ds, Fail, "cannot list its pods: forbidden", []string{"list pods in openshift-http01-challenge-proxy"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := judgeDaemonSet(tc.ds, tc.config)
			if len(got) != len(tc.expect) {
				t.Fatalf("%d checks %+v, want %d", len(got), got, len(tc.expect))
			}
			for i := range got {
				checkIs(t, got[i], tc.expect[i])
			}
		})
	}
}

func TestJudgeCertManager(t *testing.T) {
	const domain = "api.cluster.example.test"
	selfCheck := func(err string) ChallengeObservation {
		c := pendingChallenge
		c.Reason = "Waiting for HTTP-01 challenge propagation: failed to perform self check GET request 'http://api.cluster.example.test/.well-known/acme-challenge/tok': " + err
		return c
	}
	wrongStatus := func(code string) ChallengeObservation {
		c := pendingChallenge
		c.Reason = "Waiting for HTTP-01 challenge propagation: wrong status code '" + code + "', expected '200'"
		return c
	}
	notPresented := pendingChallenge
	notPresented.Presented, notPresented.Reason = false, ""
	challengeTarget := "Challenge openshift-config/api-cert-1-2-3"
	tests := []struct {
		name   string
		cm     CertManagerObservation
		expect []expectCheck
	}{
		{"not installed", certManagerAbsent, []expectCheck{
			{HopCertManager, "challenges", Info, "this cluster serves no acme.cert-manager.io/v1 Challenges: cert-manager is not installed, nothing to check", nil}}},
		{"nothing pending", CertManagerObservation{Installed: true}, []expectCheck{
			{HopCertManager, "challenges", Pass, "no Challenge for api.cluster.example.test: none pending", nil}}},
		{"a valid one", CertManagerObservation{Installed: true, Challenges: []ChallengeObservation{validChallenge}}, []expectCheck{
			{HopCertManager, "Challenge openshift-config/old", Pass, "valid", nil}}},
		{"self-check blocked by a NetworkPolicy", CertManagerObservation{Installed: true, Challenges: []ChallengeObservation{
			selfCheck(`Get "http://api.cluster.example.test/.well-known/acme-challenge/tok": dial tcp 192.0.2.100:80: i/o timeout`)}}, []expectCheck{
			{HopCertManager, challengeTarget, Fail, "state pending, presented: Waiting for HTTP-01 challenge propagation: failed to perform self check GET request 'http://api.cluster.example.test/.well-known/acme-challenge/tok': Get \"http://api.cluster.example.test/.well-known/acme-challenge/tok\": dial tcp 192.0.2.100:80: i/o timeout",
				[]string{"self-check cannot reach port 80 of api.cluster.example.test", "NetworkPolicy", "cert-manager's self-check cannot reach port 80"}}}},
		{"self-check refused", CertManagerObservation{Installed: true, Challenges: []ChallengeObservation{selfCheck("connect: connection refused")}}, []expectCheck{
			{HopCertManager, challengeTarget, Fail, "state pending, presented: Waiting for HTTP-01 challenge propagation: failed to perform self check GET request 'http://api.cluster.example.test/.well-known/acme-challenge/tok': connect: connection refused",
				[]string{"NetworkPolicy"}}}},
		{"the solver not exposed", CertManagerObservation{Installed: true, Challenges: []ChallengeObservation{wrongStatus("503")}}, []expectCheck{
			{HopCertManager, challengeTarget, Fail, "state pending, presented: Waiting for HTTP-01 challenge propagation: wrong status code '503', expected '200'",
				[]string{"no route to the solver", "The solver is not exposed on the router"}}}},
		{"the router unreachable from the proxy", CertManagerObservation{Installed: true, Challenges: []ChallengeObservation{wrongStatus("502")}}, []expectCheck{
			{HopCertManager, challengeTarget, Fail, "state pending, presented: Waiting for HTTP-01 challenge propagation: wrong status code '502', expected '200'",
				[]string{"challenge path lines"}}}},
		{"cert-manager cannot resolve the name", CertManagerObservation{Installed: true, Challenges: []ChallengeObservation{selfCheck("dial tcp: lookup api.cluster.example.test: no such host")}}, []expectCheck{
			{HopCertManager, challengeTarget, Fail, "state pending, presented: Waiting for HTTP-01 challenge propagation: failed to perform self check GET request 'http://api.cluster.example.test/.well-known/acme-challenge/tok': dial tcp: lookup api.cluster.example.test: no such host",
				[]string{"cannot resolve", "DNS for the API name points elsewhere"}}}},
		{"not presented, solver pod cannot pull", CertManagerObservation{Installed: true, Challenges: []ChallengeObservation{notPresented},
			SolverPods: []SolverPodObservation{{Namespace: "openshift-config", Name: "cm-acme-http-solver-x", Waiting: "ImagePullBackOff", Message: `Back-off pulling image "quay.io/jetstack/cert-manager-acmesolver:v1.14.4"`}}}, []expectCheck{
			{HopCertManager, challengeTarget, Fail, "state pending, not presented: no reason given", []string{"has not put the solver in place", "oc -n openshift-config describe challenge api-cert-1-2-3", "oc -n openshift-config get pods -l acme.cert-manager.io/http01-solver=true"}},
			{HopCertManager, "pod openshift-config/cm-acme-http-solver-x", Fail, `HTTP-01 solver pod waits: ImagePullBackOff: Back-off pulling image "quay.io/jetstack/cert-manager-acmesolver:v1.14.4"`,
				[]string{"podTemplate whose ServiceAccount in openshift-config has an image pull secret", "The solver pod cannot pull its image"}},
		}},
		{"a solver pod waiting for something else", CertManagerObservation{Installed: true, Challenges: []ChallengeObservation{notPresented},
			SolverPods: []SolverPodObservation{{Namespace: "ns", Name: "s", Waiting: "CreateContainerConfigError"}}}, []expectCheck{
			{HopCertManager, challengeTarget, Fail, "state pending, not presented: no reason given", nil},
			{HopCertManager, "pod ns/s", Fail, "HTTP-01 solver pod waits: CreateContainerConfigError: no message", []string{"oc -n ns describe pod s"}},
		}},
		{"errored without a known reason", CertManagerObservation{Installed: true, Challenges: []ChallengeObservation{{Namespace: "a", Name: "b", State: "errored", Presented: true, Reason: "acme: authorization error"}}}, []expectCheck{
			{HopCertManager, "Challenge a/b", Fail, "state errored, presented: acme: authorization error", []string{"oc -n a describe challenge b", "ACME CA's own error"}}}},
		{"being worked on", CertManagerObservation{Installed: true, Challenges: []ChallengeObservation{pendingChallenge}}, []expectCheck{
			{HopCertManager, challengeTarget, Info, "state pending, presented: no reason given (in progress)", nil}}},
		{"state not written yet, but presented", CertManagerObservation{Installed: true, Challenges: []ChallengeObservation{{Namespace: "a", Name: "b", Presented: true, Reason: "Accepted challenge request"}}}, []expectCheck{
			{HopCertManager, "Challenge a/b", Info, "state unknown, presented: Accepted challenge request (in progress)", nil}}},
		{"unreadable", CertManagerObservation{Failure: "forbidden"}, []expectCheck{
			{HopCertManager, "challenges", Fail, "cannot list Challenges: forbidden", []string{"list challenges.acme.cert-manager.io"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := judgeCertManager(domain, tc.cm)
			if len(got) != len(tc.expect) {
				t.Fatalf("%d checks %+v, want %d", len(got), got, len(tc.expect))
			}
			for i := range got {
				checkIs(t, got[i], tc.expect[i])
			}
		})
	}
}

// TestJudge judges whole recorded runs: the order of the lines, and that
// the report passes exactly when no line failed.
func TestJudge(t *testing.T) {
	const domain = "api.cluster.example.test"
	healthyCluster := &ClusterObservation{Infrastructure: infraBareMetal, Config: readyConfig, ClusterOperator: healthyOperator, DaemonSet: threeReadyNodes, CertManager: certManagerAbsent}
	healthyAddress := func(a netip.Addr) AddressObservation {
		return AddressObservation{Address: a, Challenge: routerViaProxy, Filter: proxyRefusal}
	}
	tests := []struct {
		name         string
		obs          Observations
		expectPassed bool
		expectHops   []string
		expectStatus []Status
	}{
		{
			name: "all good, with a kubeconfig",
			obs: Observations{Domain: domain, DNS: DNSObservation{Addresses: []netip.Addr{addr4, addr6}}, Cluster: healthyCluster,
				Addresses: []AddressObservation{healthyAddress(addr4), healthyAddress(addr6)}},
			expectPassed: true,
			expectHops: []string{HopDNS, HopPort80, HopChallenge, HopFilter, HopPort80, HopChallenge, HopFilter,
				HopCluster, HopConfig, HopClusterOperator, HopDaemonSet, HopDaemonSet, HopCertManager},
			expectStatus: []Status{Pass, Pass, Pass, Pass, Pass, Pass, Pass, Pass, Pass, Pass, Pass, Pass, Info},
		},
		{
			name:         "all good, without a kubeconfig",
			obs:          Observations{Domain: domain, DNS: DNSObservation{Addresses: []netip.Addr{addr4}}, Addresses: []AddressObservation{healthyAddress(addr4)}},
			expectPassed: true,
			expectHops:   []string{HopDNS, HopPort80, HopChallenge, HopFilter, HopCluster},
			expectStatus: []Status{Pass, Pass, Pass, Pass, Info},
		},
		{
			name: "no daemon: the later hops of the address are skipped",
			obs: Observations{Domain: domain, DNS: DNSObservation{Addresses: []netip.Addr{addr4}},
				Addresses: []AddressObservation{{Address: addr4, Challenge: refused, Filter: refused}}},
			expectHops:   []string{HopDNS, HopPort80, HopChallenge, HopFilter, HopCluster},
			expectStatus: []Status{Pass, Fail, Skip, Skip, Info},
		},
		{
			name: "a pending Challenge's token is asked for on every address",
			obs: Observations{Domain: domain, DNS: DNSObservation{Addresses: []netip.Addr{addr4}},
				Addresses: []AddressObservation{{Address: addr4, Challenge: routerViaProxy, Filter: proxyRefusal,
					Solvers: []SolverObservation{{Challenge: pendingChallenge, Answer: solverNotExposed}}}}},
			expectHops:   []string{HopDNS, HopPort80, HopChallenge, HopFilter, HopSolver, HopCluster},
			expectStatus: []Status{Pass, Pass, Pass, Pass, Fail, Info},
		},
		{
			name: "the API cannot be read: one line says so, the rest is skipped",
			obs: Observations{Domain: domain, DNS: DNSObservation{Addresses: []netip.Addr{addr4}}, Addresses: []AddressObservation{healthyAddress(addr4)},
				Cluster: &ClusterObservation{Infrastructure: InfrastructureObservation{Failure: "connection refused"}}},
			expectHops:   []string{HopDNS, HopPort80, HopChallenge, HopFilter, HopCluster, HopConfig},
			expectStatus: []Status{Pass, Pass, Pass, Pass, Fail, Skip},
		},
		{
			name:         "no DNS record: no address to check",
			obs:          Observations{Domain: domain, DNS: DNSObservation{NotFound: true}},
			expectHops:   []string{HopDNS, HopCluster},
			expectStatus: []Status{Fail, Info},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			report := Judge(tc.obs)
			var hops []string
			var statuses []Status
			for _, c := range report.Checks {
				hops, statuses = append(hops, c.Hop), append(statuses, c.Status)
			}
			if strings.Join(hops, " ") != strings.Join(tc.expectHops, " ") {
				t.Errorf("hops %v, want %v", hops, tc.expectHops)
			}
			if len(statuses) != len(tc.expectStatus) {
				t.Fatalf("statuses %v, want %v", statuses, tc.expectStatus)
			}
			for i := range statuses {
				if statuses[i] != tc.expectStatus[i] {
					t.Errorf("check %d (%s): %s, want %s: %s", i, hops[i], statuses[i], tc.expectStatus[i], report.Checks[i].Line())
				}
			}
			if report.Passed != tc.expectPassed || report.Domain != domain {
				t.Errorf("Passed = %v for %s, want %v", report.Passed, report.Domain, tc.expectPassed)
			}
		})
	}
}
