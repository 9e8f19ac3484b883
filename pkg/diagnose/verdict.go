package diagnose

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/proxy"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// Where the admin looks next. The section titles are those of
// docs/troubleshooting.md, "Troubleshooting: the cert-manager side".
const (
	operandPods         = "oc -n " + names.OperandNamespace + " get pods -o wide"
	operandDaemonSet    = names.OperandNamespace + "/" + names.OperandName
	ourTable            = "nft list table inet http01_challenge_proxy"
	whatServesPort80    = "ss -ltnp 'sport = :80'"
	guideSelfCheck      = `the troubleshooting guide, "cert-manager's self-check cannot reach port 80"`
	guideSolverExposed  = `the troubleshooting guide, "The solver is not exposed on the router"`
	guideSolverImage    = `the troubleshooting guide, "The solver pod cannot pull its image"`
	guideDNS            = `the troubleshooting guide, "DNS for the API name points elsewhere"`
	solverLabelSelector = "acme.cert-manager.io/http01-solver=true"
)

// Judge turns observations into the checklist. It is pure: everything it
// knows is in o.
func Judge(o Observations) Report {
	checks := []Check{judgeDNS(o)}
	var waitingPods []SolverPodObservation
	if o.Cluster != nil {
		waitingPods = o.Cluster.CertManager.SolverPods
	}
	for _, a := range o.Addresses {
		checks = append(checks, judgeAddress(a, waitingPods)...)
	}
	checks = append(checks, judgeCluster(o.Domain, o.Cluster)...)
	return NewReport(o.Domain, checks)
}

// apiVIPs returns the API VIPs from the Infrastructure, if it was read.
func apiVIPs(c *ClusterObservation) []netip.Addr {
	if c == nil || c.Infrastructure.Failure != "" {
		return nil
	}
	return c.Infrastructure.APIVIPs
}

func judgeDNS(o Observations) Check {
	check := Check{Hop: HopDNS, Target: o.Domain}
	server := "the system resolver"
	if o.DNS.Server != "" {
		server = o.DNS.Server
	}
	vips := apiVIPs(o.Cluster)
	switch {
	case o.DNS.NotFound:
		return fail(check, fmt.Sprintf("does not resolve: %s has no A or AAAA record for it", server),
			fmt.Sprintf("create A (and, for IPv6, AAAA) records for %s pointing at the API VIPs%s; see %s", o.Domain, listSuffix(vips), guideDNS))
	case o.DNS.Failure != "":
		return fail(check, "lookup failed: "+o.DNS.Failure,
			fmt.Sprintf("check that %s answers, or ask another with --dns-server host:port", server))
	}
	resolved := joinAddrs(o.DNS.Addresses)
	if len(vips) == 0 {
		note := " (not compared with the API VIPs: no kubeconfig)"
		if o.Cluster != nil {
			note = " (not compared with the API VIPs: the Infrastructure could not be read)"
		}
		return pass(check, "resolves to "+resolved+note)
	}
	var foreign []netip.Addr
	for _, addr := range o.DNS.Addresses {
		if !slices.Contains(vips, addr) {
			foreign = append(foreign, addr)
		}
	}
	if len(foreign) > 0 {
		return fail(check, fmt.Sprintf("resolves to %s, but Infrastructure lists the API VIPs %s", resolved, joinAddrs(vips)),
			fmt.Sprintf("point the A/AAAA records of %s at the API VIPs (unless a NAT in front of the cluster forwards %s to them); see %s",
				o.Domain, joinAddrs(foreign), guideDNS))
	}
	return pass(check, fmt.Sprintf("resolves to %s, the API VIPs", resolved))
}

func judgeAddress(a AddressObservation, waitingPods []SolverPodObservation) []Check {
	checks := []Check{judgePort80(a.Address, a.Challenge), judgeChallenge(a.Address, a.Challenge), judgeFilter(a.Address, a.Filter)}
	for _, s := range a.Solvers {
		checks = append(checks, judgeSolver(a.Address, s, waitingPods))
	}
	return checks
}

// answerOf reads the proxy's marks from a recorded response.
func answerOf(h HTTPObservation) proxy.Answer {
	return proxy.ReadAnswer(http.Header{"Via": {h.Via}, "Proxy-Status": {h.ProxyStatus}})
}

// judgePort80 checks that port 80 answers and that the proxy relays the
// answer. It judges the challenge request's answer: that is the request a
// validator sends.
func judgePort80(addr netip.Addr, h HTTPObservation) Check {
	check := Check{Hop: HopPort80, Target: addr.String()}
	if !h.Answered() {
		return fail(check, h.Failure, noAnswerAction(addr, h.Failure))
	}
	if !answerOf(h).ThroughProxy {
		return fail(check, fmt.Sprintf("answered %d without the proxy's Via header (%s)", h.Status, serverOf(h)),
			fmt.Sprintf("another server answers port 80 of %s: on the node that holds it, %s shows which, and %s whether the proxy's redirect is there; if %s is no API VIP, fix DNS",
				addr, whatServesPort80, ourTable, addr))
	}
	return pass(check, fmt.Sprintf("answered through the proxy (Via: %s)", h.Via))
}

func noAnswerAction(addr netip.Addr, failure string) string {
	switch {
	case failure == failureRefused:
		return fmt.Sprintf("nothing redirects port 80 of %s to the proxy: check the proxy pod on the node that holds it (%s), its log, and %s there; is spec.mode of the config set?",
			addr, operandPods, ourTable)
	case strings.HasPrefix(failure, failureTimeoutPrefix):
		return fmt.Sprintf("nothing answered: a firewall between here and %s drops TCP/80, or no node holds the address (check keepalived on the control-plane nodes)", addr)
	case failure == failureUnreachable:
		return fmt.Sprintf("no route from here to %s: run diagnose where the ACME CA's traffic comes from, or check keepalived on the control-plane nodes", addr)
	}
	return fmt.Sprintf("check the network path from here to %s port 80", addr)
}

func serverOf(h HTTPObservation) string {
	if h.Server == "" {
		return "no Server header"
	}
	return "Server: " + h.Server
}

// judgeChallenge checks that a challenge request reaches the router: any
// answer the proxy relays will do, since no solver knows the random token.
func judgeChallenge(addr netip.Addr, h HTTPObservation) Check {
	check := Check{Hop: HopChallenge, Target: addr.String()}
	answer := answerOf(h)
	switch {
	case !h.Answered():
		return skip(check, "not checked: port 80 did not answer")
	case !answer.ThroughProxy:
		return skip(check, "not checked: the answer did not come through the proxy")
	case answer.UpstreamFailed():
		return fail(check, fmt.Sprintf("the proxy answered %d: it could not reach ingress VIP %s (%s)", h.Status, answer.NextHop, answer.ProxyError),
			fmt.Sprintf("check the router behind ingress VIP %s: oc -n openshift-ingress get pods -o wide; keepalived must hold the VIP on a node that runs a router; from a control-plane node, curl -sv http://%s/ must get an answer",
				answer.NextHop, hostForURL(answer.NextHop)))
	case answer.Refused():
		return fail(check, fmt.Sprintf("the proxy refused a well-formed challenge request with %d", h.Status),
			"this is a bug of the proxy: report it with the proxy's log at -v=4 (oc -n "+names.OperandNamespace+" logs <pod>)")
	}
	return pass(check, fmt.Sprintf("the router answered %d for a random token, through the proxy", h.Status))
}

// hostForURL brackets an IPv6 address for use in a URL.
func hostForURL(address string) string {
	if addr, err := netip.ParseAddr(address); err == nil && addr.Is6() {
		return "[" + address + "]"
	}
	return address
}

// judgeFilter checks that a request for a path that is not a challenge is
// refused by the proxy itself: that proves the filter is on the path and
// nothing forwards everything to the router.
func judgeFilter(addr netip.Addr, h HTTPObservation) Check {
	check := Check{Hop: HopFilter, Target: addr.String()}
	if !h.Answered() {
		return skip(check, "not checked: port 80 did not answer")
	}
	answer := answerOf(h)
	if answer.Refused() {
		return pass(check, fmt.Sprintf("GET / refused by the proxy (%d)", h.Status))
	}
	how := "by a server other than the proxy (" + serverOf(h) + ")"
	if answer.ThroughProxy {
		how = "with the proxy's Via header but without its refusal (Proxy-Status)"
	}
	return fail(check, fmt.Sprintf("GET / was not refused by the proxy: answered %d %s", h.Status, how),
		fmt.Sprintf("something forwards every path, not only challenges, so the proxy's filter is not on the path: on the node that holds %s, %s and nft list ruleset show what takes port 80",
			addr, whatServesPort80))
}

// judgeSolver checks that the token of a pending Challenge gets its key
// authorization through the proxy, as the CA will ask for it. When the
// router has no solver to send it to because the solver pod does not run,
// that pod is what to fix.
func judgeSolver(addr netip.Addr, s SolverObservation, waitingPods []SolverPodObservation) Check {
	check := Check{Hop: HopSolver, Target: addr.String() + " Challenge " + s.Challenge.Ref()}
	h := s.Answer
	answer := answerOf(h)
	switch {
	case !h.Answered() || !answer.ThroughProxy || answer.UpstreamFailed():
		return skip(check, "not checked: the challenge path does not reach the router (see above)")
	case h.Status == http.StatusOK && strings.TrimSpace(h.Body) == s.Challenge.Key:
		return pass(check, "the solver served the key authorization for its token, through the proxy")
	}
	for _, p := range waitingPods {
		if p.Namespace == s.Challenge.Namespace {
			return fail(check, fmt.Sprintf("the router answered %d for the Challenge's token: its solver pod %s/%s does not run (%s)", h.Status, p.Namespace, p.Name, p.Waiting),
				solverPodFix(p))
		}
	}
	return fail(check, fmt.Sprintf("the router answered %d for the Challenge's token, not its key authorization", h.Status),
		fmt.Sprintf("the solver is not exposed on the router for this host: check the Ingress or Route and the solver pod that cert-manager created (oc -n %s get ingress,route,service,pods -l %s) and the ingress class of the issuer's HTTP-01 solver; see %s",
			s.Challenge.Namespace, solverLabelSelector, guideSolverExposed))
}

// judgeCluster judges what the API says. Without a kubeconfig it says what
// was left out.
func judgeCluster(domain string, c *ClusterObservation) []Check {
	if c == nil {
		return []Check{{Hop: HopCluster, Target: "kubeconfig", Status: Info,
			Message: "none given: DNS is not compared with the API VIPs, and the configuration, the operator, the proxy's pods and cert-manager are not checked (pass --kubeconfig)"}}
	}
	infra := judgeInfrastructure(domain, c.Infrastructure)
	if c.Infrastructure.Failure != "" {
		return []Check{infra, {Hop: HopConfig, Target: "cluster state", Status: Skip, Message: "not checked: the API could not be read"}}
	}
	checks := []Check{infra, judgeConfig(c.Config), judgeClusterOperator(c.ClusterOperator)}
	checks = append(checks, judgeDaemonSet(c.DaemonSet, c.Config)...)
	return append(checks, judgeCertManager(domain, c.CertManager)...)
}

func judgeInfrastructure(domain string, infra InfrastructureObservation) Check {
	check := Check{Hop: HopCluster, Target: "Infrastructure/cluster"}
	if infra.Failure != "" {
		return fail(check, "cannot read it: "+infra.Failure,
			"check --kubeconfig (or $KUBECONFIG): its API server must be reachable from here, by a user that can read cluster-scoped resources")
	}
	summary := fmt.Sprintf("platform %s, API VIPs %s, ingress VIPs %s", orNone(infra.Platform), joinAddrs(infra.APIVIPs), joinAddrs(infra.IngressVIPs))
	if host := hostOf(infra.APIServerURL); !strings.EqualFold(host, domain) {
		// Not a failure: the domain may be another name for this API. If
		// it is not, the DNS check fails against these VIPs.
		check.Status, check.Message = Info, fmt.Sprintf("this cluster's API is %s, not %s: unless that is another name for it, the kubeconfig is for another cluster; %s",
			orNone(infra.APIServerURL), domain, summary)
		return check
	}
	return pass(check, summary)
}

func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func judgeConfig(cfg ConfigObservation) Check {
	check := Check{Hop: HopConfig, Target: "HTTP01ChallengeProxy/cluster"}
	switch {
	case cfg.Failure != "":
		return fail(check, "cannot read it: "+cfg.Failure, "the kubeconfig's user must be able to get http01challengeproxies.config.openshift.io")
	case cfg.NotFound:
		return fail(check, "not found", "the operator is not installed on this cluster: it ships with the release payload, with this resource")
	case cfg.Mode == "":
		return fail(check, "spec.mode is empty: the proxy is off",
			`turn it on: oc patch http01challengeproxies.config.openshift.io cluster --type=merge -p '{"spec":{"mode":"DefaultDeployment"}}'`)
	case cfg.Ready == nil:
		return fail(check, fmt.Sprintf("mode %s, no Ready condition yet", cfg.Mode),
			"the operator has not acted on it: oc -n "+names.OperatorNamespace+" get pods, and the operator's log")
	case cfg.Ready.Status != "True":
		return fail(check, fmt.Sprintf("mode %s, Ready=%s (%s)", cfg.Mode, cfg.Ready.Status, cfg.Ready.Reason), orDefault(cfg.Ready.Message,
			"oc get http01challengeproxies.config.openshift.io cluster -o yaml"))
	}
	return pass(check, fmt.Sprintf("mode %s, Ready=True (%s)", cfg.Mode, cfg.Ready.Reason))
}

// conditionStatusOK is the status each ClusterOperator condition must have
// for the proxy to serve.
var conditionStatusOK = []struct{ conditionType, status string }{
	{"Available", "True"},
	{"Degraded", "False"},
	{"Disabled", "False"},
}

func judgeClusterOperator(co ClusterOperatorObservation) Check {
	check := Check{Hop: HopClusterOperator, Target: "ClusterOperator/" + names.ClusterOperator}
	switch {
	case co.Failure != "":
		return fail(check, "cannot read it: "+co.Failure, "the kubeconfig's user must be able to get clusteroperators.config.openshift.io")
	case co.NotFound:
		return fail(check, "not found", "the operator is not installed, or has not started: oc -n "+names.OperatorNamespace+" get pods")
	}
	var summary []string
	var bad *Condition
	for _, want := range conditionStatusOK {
		c := findCondition(co.Conditions, want.conditionType)
		// A missing Disabled condition means enabled; the others must be
		// there.
		if c == nil && want.conditionType == "Disabled" {
			continue
		}
		if c == nil {
			c = &Condition{Type: want.conditionType, Status: "Unknown", Reason: "Missing"}
		}
		text := c.Type + "=" + c.Status
		if c.Status != want.status {
			text += " (" + c.Reason + ")"
			if bad == nil {
				bad = c
			}
		}
		summary = append(summary, text)
	}
	message := strings.Join(summary, ", ")
	if bad != nil {
		return fail(check, message, orDefault(bad.Message, "oc get clusteroperator "+names.ClusterOperator+" -o yaml"))
	}
	return pass(check, message)
}

func findCondition(conditions []Condition, conditionType string) *Condition {
	for i := range conditions {
		if conditions[i].Type == conditionType {
			return &conditions[i]
		}
	}
	return nil
}

// judgeDaemonSet gives one line per control-plane node: keepalived can move
// the API VIP to any of them, so each needs a ready proxy.
func judgeDaemonSet(ds DaemonSetObservation, cfg ConfigObservation) []Check {
	check := Check{Hop: HopDaemonSet, Target: operandDaemonSet}
	switch {
	case ds.Failure != "":
		return []Check{fail(check, "cannot list its pods: "+ds.Failure, "the kubeconfig's user must be able to list pods in "+names.OperandNamespace)}
	case cfg.Failure == "" && !cfg.NotFound && cfg.Mode == "":
		return []Check{skip(check, "not checked: the proxy is off (see config)")}
	case ds.NodesFailure != "":
		return judgePodsAlone(ds)
	case len(ds.ControlPlaneNodes) == 0:
		return []Check{fail(check, "no node has the node-role.kubernetes.io/master label", "check the control-plane nodes' labels: oc get nodes --show-labels")}
	}
	var checks []Check
	for _, node := range ds.ControlPlaneNodes {
		checks = append(checks, judgeNode(node, podsOn(ds.Pods, node)))
	}
	return checks
}

func podsOn(pods []PodObservation, node string) []PodObservation {
	var on []PodObservation
	for _, p := range pods {
		if p.Node == node {
			on = append(on, p)
		}
	}
	return on
}

func judgeNode(node string, pods []PodObservation) Check {
	check := Check{Hop: HopDaemonSet, Target: node}
	if len(pods) == 0 {
		return fail(check, "no proxy pod on this control-plane node",
			"oc -n "+names.OperandNamespace+" describe daemonset "+names.OperandName+" and its events: a taint the pod does not tolerate, or an SCC that does not admit it")
	}
	for _, p := range pods {
		if p.Ready {
			return pass(check, "pod "+p.Name+" ready")
		}
	}
	p := pods[0]
	return fail(check, fmt.Sprintf("pod %s not ready (%s)", p.Name, orDefault(p.Waiting, p.Phase)),
		fmt.Sprintf("oc -n %s logs %s says why the listener or the nftables rules are not in place; oc -n %s describe pod %s shows probe failures",
			names.OperandNamespace, p.Name, names.OperandNamespace, p.Name))
}

// judgePodsAlone is the DaemonSet check when the nodes cannot be listed:
// one line per pod, and a note that nodes without a pod cannot be seen.
func judgePodsAlone(ds DaemonSetObservation) []Check {
	checks := []Check{{Hop: HopDaemonSet, Target: "nodes", Status: Info,
		Message: "cannot list nodes (" + ds.NodesFailure + "): a control-plane node without a proxy pod would not show here"}}
	if len(ds.Pods) == 0 {
		return append(checks, fail(Check{Hop: HopDaemonSet, Target: operandDaemonSet}, "no proxy pod",
			"oc -n "+names.OperandNamespace+" describe daemonset "+names.OperandName))
	}
	for _, p := range ds.Pods {
		checks = append(checks, judgeNode(p.Node, []PodObservation{p}))
	}
	return checks
}

func judgeCertManager(domain string, cm CertManagerObservation) []Check {
	check := Check{Hop: HopCertManager, Target: "challenges"}
	switch {
	case cm.Failure != "":
		return []Check{fail(check, "cannot list Challenges: "+cm.Failure, "the kubeconfig's user must be able to list challenges.acme.cert-manager.io in all namespaces")}
	case !cm.Installed:
		return []Check{{Hop: HopCertManager, Target: "challenges", Status: Info,
			Message: "this cluster serves no acme.cert-manager.io/v1 Challenges: cert-manager is not installed, nothing to check"}}
	case len(cm.Challenges) == 0:
		return []Check{pass(check, "no Challenge for "+domain+": none pending")}
	}
	var checks []Check
	for _, c := range cm.Challenges {
		checks = append(checks, judgeChallengeObject(domain, c))
	}
	for _, p := range cm.SolverPods {
		checks = append(checks, judgeSolverPod(p))
	}
	return checks
}

// judgeChallengeObject fails a Challenge that cert-manager gave up on, or
// whose reason shows a known problem. One that is simply being worked on
// is reported as such: diagnose may well run while an issuance is on its
// way.
func judgeChallengeObject(domain string, c ChallengeObservation) Check {
	check := Check{Hop: HopCertManager, Target: "Challenge " + c.Ref()}
	if c.State == "valid" {
		return pass(check, "valid")
	}
	presented := "presented"
	if !c.Presented {
		presented = "not presented"
	}
	message := fmt.Sprintf("state %s, %s: %s", orDefault(c.State, "unknown"), presented, orDefault(c.Reason, "no reason given"))
	action, stuck := challengeProblem(domain, c)
	if !stuck {
		check.Status, check.Message = Info, message+" (in progress)"
		return check
	}
	return fail(check, message, action)
}

// failedChallengeStates are the states cert-manager does not leave.
var failedChallengeStates = []string{"invalid", "errored", "expired"}

// challengeProblem reads cert-manager's reason for a Challenge and says
// where to look, and whether the Challenge is stuck. The reasons are
// cert-manager's own text: its self-check's error, or the status code it
// got.
func challengeProblem(domain string, c ChallengeObservation) (action string, stuck bool) {
	reason := c.Reason
	describe := fmt.Sprintf("oc -n %s describe challenge %s", c.Namespace, c.Name)
	switch {
	case containsAny(reason, "connection refused", "i/o timeout", "context deadline exceeded", "Client.Timeout exceeded", "no route to host"):
		return fmt.Sprintf("cert-manager's self-check cannot reach port 80 of %s: if the port 80 lines above pass from here, a NetworkPolicy (or firewall) keeps cert-manager's pods from TCP/80 of the API VIPs; see %s", domain, guideSelfCheck), true
	case containsAny(reason, "wrong status code '404'", "wrong status code '503'"):
		return fmt.Sprintf("the router has no route to the solver for this token: see the solver lines above, and %s", guideSolverExposed), true
	case containsAny(reason, "wrong status code '502'", "wrong status code '504'"):
		return "the proxy cannot reach the router: see the challenge path lines above", true
	case containsAny(reason, "no such host"):
		return fmt.Sprintf("cert-manager cannot resolve %s: see %s", domain, guideDNS), true
	case !c.Presented:
		return fmt.Sprintf("cert-manager has not put the solver in place: %s, and its solver pod (oc -n %s get pods -l %s)", describe, c.Namespace, solverLabelSelector), true
	case slices.Contains(failedChallengeStates, c.State):
		return describe + ": the ACME CA's own error is in its reason; cert-manager retries with a new Order", true
	}
	return "", false
}

func judgeSolverPod(p SolverPodObservation) Check {
	check := Check{Hop: HopCertManager, Target: "pod " + p.Namespace + "/" + p.Name}
	return fail(check, fmt.Sprintf("HTTP-01 solver pod waits: %s: %s", p.Waiting, orDefault(p.Message, "no message")), solverPodFix(p))
}

// solverPodFix is what to do about a solver pod that does not run. An
// image it cannot pull (ErrImagePull, ImagePullBackOff) is the common case
// on a disconnected cluster: cert-manager runs the solver with the
// namespace's default ServiceAccount, which has no pull secret.
func solverPodFix(p SolverPodObservation) string {
	if !strings.Contains(p.Waiting, "Image") {
		return fmt.Sprintf("oc -n %s describe pod %s", p.Namespace, p.Name)
	}
	image := "the solver image"
	if p.Image != "" {
		image = p.Image
	}
	return fmt.Sprintf("give the issuer's HTTP-01 solver a podTemplate whose ServiceAccount in %s has an image pull secret for %s "+
		"(spec.acme.solvers[].http01.ingress.podTemplate.spec.serviceAccountName, that ServiceAccount's imagePullSecrets); see %s",
		p.Namespace, image, guideSolverImage)
}

func pass(c Check, message string) Check {
	c.Status, c.Message = Pass, message
	return c
}

func fail(c Check, message, action string) Check {
	c.Status, c.Message, c.Action = Fail, message, action
	return c
}

func skip(c Check, message string) Check {
	c.Status, c.Message = Skip, message
	return c
}

func joinAddrs(addrs []netip.Addr) string {
	if len(addrs) == 0 {
		return "(none)"
	}
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}

// listSuffix is " a, b" for a non-empty list, "" otherwise.
func listSuffix(addrs []netip.Addr) string {
	if len(addrs) == 0 {
		return ""
	}
	return " " + joinAddrs(addrs)
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func orNone(s string) string { return orDefault(s, "(none)") }

func containsAny(s string, parts ...string) bool {
	for _, p := range parts {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}
