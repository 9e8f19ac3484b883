package manifests

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openshift/library-go/pkg/operator/resource/resourceread"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/bindata"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/metrics"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/proxy"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// Where the cluster monitoring operator mounts, in platform Prometheus, the
// service CA bundle and the client certificate it scrapes with.
const (
	serviceCAFile  = "/etc/prometheus/configmaps/serving-certs-ca-bundle/service-ca.crt"
	clientCertFile = "/etc/prometheus/secrets/metrics-client-certs/tls.crt"
	clientKeyFile  = "/etc/prometheus/secrets/metrics-client-certs/tls.key"
	prometheusSA   = "prometheus-k8s"
	monitoringNS   = "openshift-monitoring"
)

// monitoringRunLevel is where ServiceMonitors and PrometheusRules go: after
// run level 50, where the cluster monitoring operator installs their CRDs.
const monitoringRunLevel = "0000_90_"

// services are the Services the ServiceMonitors may select: the operator's
// in manifests/ and the daemon's, which the operator applies from bindata.
func services(t *testing.T, all []manifest) []*corev1.Service {
	t.Helper()
	svcs := typed[corev1.Service](t, all, "Service")
	obj, err := resourceread.ReadGenericWithUnstructured(bindata.MustAsset("assets/metrics-service.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return append(svcs, obj.(*corev1.Service))
}

// Each ServiceMonitor scrapes a Service of its own namespace over TLS, the
// way platform Prometheus can: the service CA for the Service's own DNS name,
// which its serving certificate is issued for, and Prometheus's client
// certificate.
func TestServiceMonitors(t *testing.T) {
	all := loadManifests(t)
	svcs := services(t, all)
	monitored := map[string]bool{}
	for _, m := range all {
		if m.obj.GetKind() != "ServiceMonitor" {
			continue
		}
		ns := m.obj.GetNamespace()
		monitored[ns] = true
		if !strings.HasPrefix(m.file, monitoringRunLevel) {
			t.Errorf("%s: ServiceMonitors go in run level 90, after their CRD", m)
		}
		if matchNames, _, _ := unstructured.NestedStringSlice(m.obj.Object, "spec", "namespaceSelector", "matchNames"); !slices.Equal(matchNames, []string{ns}) {
			t.Errorf("%s: namespaceSelector.matchNames = %v, want only its own namespace", m, matchNames)
		}
		selector, _, _ := unstructured.NestedStringMap(m.obj.Object, "spec", "selector", "matchLabels")
		var svc *corev1.Service
		for _, s := range svcs {
			if s.Namespace == ns && len(selector) > 0 && labels.SelectorFromSet(selector).Matches(labels.Set(s.Labels)) {
				if svc != nil {
					t.Errorf("%s selects both Service %s and %s", m, svc.Name, s.Name)
				}
				svc = s
			}
		}
		if svc == nil {
			t.Errorf("%s selects no Service (matchLabels %v)", m, selector)
			continue
		}
		if svc.Annotations["service.beta.openshift.io/serving-cert-secret-name"] == "" {
			t.Errorf("%s: Service %s has no service-ca serving certificate for Prometheus to verify", m, svc.Name)
		}

		endpoints, _, _ := unstructured.NestedSlice(m.obj.Object, "spec", "endpoints")
		if len(endpoints) != 1 {
			t.Errorf("%s: %d endpoints, want 1", m, len(endpoints))
			continue
		}
		endpoint := endpoints[0].(map[string]interface{})
		port, _, _ := unstructured.NestedString(endpoint, "port")
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == port }) {
			t.Errorf("%s: port %q is not a port name of Service %s", m, port, svc.Name)
		}
		want := map[string]string{
			"scheme":               "https",
			"tlsConfig.caFile":     serviceCAFile,
			"tlsConfig.serverName": svc.Name + "." + svc.Namespace + ".svc",
			"tlsConfig.certFile":   clientCertFile,
			"tlsConfig.keyFile":    clientKeyFile,
		}
		for path, value := range want {
			if got, _, _ := unstructured.NestedString(endpoint, strings.Split(path, ".")...); got != value {
				t.Errorf("%s: %s = %q, want %q", m, path, got, value)
			}
		}
	}
	for _, ns := range []string{names.OperatorNamespace, names.OperandNamespace} {
		if !monitored[ns] {
			t.Errorf("no ServiceMonitor in %s", ns)
		}
	}
}

// Prometheus discovers targets through the API, so it must be allowed to
// read Services, their endpoints and pods wherever a ServiceMonitor is.
func TestPrometheusMayDiscoverTargets(t *testing.T) {
	all := loadManifests(t)
	roles := map[string]*rbacv1.Role{}
	for _, r := range typed[rbacv1.Role](t, all, "Role") {
		roles[r.Namespace+"/"+r.Name] = r
	}
	bound := map[string]bool{} // namespace -> a Role grants discovery to Prometheus there
	for _, b := range typed[rbacv1.RoleBinding](t, all, "RoleBinding") {
		wantSubject := rbacv1.Subject{Kind: "ServiceAccount", Name: prometheusSA, Namespace: monitoringNS}
		if !slices.Contains(b.Subjects, wantSubject) || b.RoleRef.Kind != "Role" {
			continue
		}
		if role, ok := roles[b.Namespace+"/"+b.RoleRef.Name]; ok && grantsDiscovery(role) {
			bound[b.Namespace] = true
		}
	}
	for _, m := range all {
		if m.obj.GetKind() == "ServiceMonitor" && !bound[m.obj.GetNamespace()] {
			t.Errorf("%s: %s/%s may not get, list and watch services, endpoints and pods in %s", m, monitoringNS, prometheusSA, m.obj.GetNamespace())
		}
	}
}

func grantsDiscovery(role *rbacv1.Role) bool {
	granted := map[string]bool{}
	for _, rule := range role.Rules {
		if !slices.Contains(rule.APIGroups, "") || len(rule.ResourceNames) > 0 {
			continue
		}
		for _, verb := range []string{"get", "list", "watch"} {
			if !slices.Contains(rule.Verbs, verb) {
				return false
			}
		}
		for _, r := range rule.Resources {
			granted[r] = true
		}
	}
	return granted["services"] && granted["endpoints"] && granted["pods"]
}

// kubeStateMetrics are the kube-state-metrics series the alerts may use.
var kubeStateMetrics = []string{
	"kube_daemonset_status_desired_number_scheduled",
	"kube_daemonset_status_number_ready",
}

// daemonMetricNames returns every series name the daemon exposes, from its
// own registry, with every metric given a sample first (a labelled metric
// without one is not exposed).
func daemonMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New()
	m.RequestHandled(proxy.OutcomeUpstreamError, http.StatusBadGateway)
	m.UpstreamResponded(time.Millisecond)
	m.SetRulesPresent(true)
	m.RulesRepaired("table_missing")
	m.ConnectionOpened()
	m.PathProbed(netip.MustParseAddr("192.0.2.10"), true, time.Millisecond)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	found := map[string]bool{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 4 || fields[0] != "#" || fields[1] != "TYPE" {
			continue
		}
		found[fields[2]] = true
		if fields[3] == "histogram" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				found[fields[2]+suffix] = true
			}
		}
	}
	return found
}

var (
	metricName   = regexp.MustCompile(`\b(http01_challenge_proxy_[a-z0-9_]+|kube_[a-z0-9_]+)\b`)
	labelMatcher = regexp.MustCompile(`\b([a-z_]+)\s*(=~|!=|!~|=)\s*"([^"]*)"`)
)

// The alerts must use the real names of the daemon's metrics and label
// values, and select our namespace and DaemonSet: a typo is an alert that
// never fires, and nothing else would notice.
func TestPrometheusRules(t *testing.T) {
	daemonMetrics := daemonMetricNames(t)
	wantLabelValues := map[string][]string{
		"namespace": {names.OperandNamespace},
		"daemonset": {names.OperandName},
		"outcome":   {proxy.OutcomeForwarded, proxy.OutcomeRejected, proxy.OutcomeUpstreamError},
	}
	alerts := 0
	for _, m := range loadManifests(t) {
		if m.obj.GetKind() != "PrometheusRule" {
			continue
		}
		if !strings.HasPrefix(m.file, monitoringRunLevel) {
			t.Errorf("%s: PrometheusRules go in run level 90, after their CRD", m)
		}
		groups, _, _ := unstructured.NestedSlice(m.obj.Object, "spec", "groups")
		for _, g := range groups {
			rules, _, _ := unstructured.NestedSlice(g.(map[string]interface{}), "rules")
			for _, r := range rules {
				rule := r.(map[string]interface{})
				alert, _, _ := unstructured.NestedString(rule, "alert")
				if alert == "" {
					t.Errorf("%s: a rule that is not an alert: %v", m, rule)
					continue
				}
				alerts++
				checkAlert(t, alert, rule, daemonMetrics, wantLabelValues)
			}
		}
	}
	if alerts == 0 {
		t.Error("no alerts in manifests/")
	}
}

func checkAlert(t *testing.T, alert string, rule map[string]interface{}, daemonMetrics map[string]bool, wantLabelValues map[string][]string) {
	t.Helper()
	if !strings.HasPrefix(alert, "HTTP01ChallengeProxy") {
		t.Errorf("%s: alert names start with HTTP01ChallengeProxy, so that they sort and read together", alert)
	}
	expr, _, _ := unstructured.NestedString(rule, "expr")
	if strings.Count(expr, "(") != strings.Count(expr, ")") {
		t.Errorf("%s: unbalanced parentheses in %q", alert, expr)
	}
	if forDuration, _, _ := unstructured.NestedString(rule, "for"); forDuration == "" {
		t.Errorf("%s: no \"for\"; a single scrape would page", alert)
	}
	severity, _, _ := unstructured.NestedString(rule, "labels", "severity")
	if !slices.Contains([]string{"critical", "warning", "info"}, severity) {
		t.Errorf("%s: severity %q, want critical, warning or info", alert, severity)
	}
	if summary, _, _ := unstructured.NestedString(rule, "annotations", "summary"); summary == "" {
		t.Errorf("%s: no summary", alert)
	}
	description, _, _ := unstructured.NestedString(rule, "annotations", "description")
	for _, section := range []string{"What it means:", "Impact:", "Diagnose:", "Fix:"} {
		if !strings.Contains(description, section) {
			t.Errorf("%s: the description has no %q section", alert, section)
		}
	}

	names := metricName.FindAllString(expr, -1)
	if len(names) == 0 {
		t.Errorf("%s: %q uses none of our metrics", alert, expr)
	}
	for _, name := range names {
		if !daemonMetrics[name] && !slices.Contains(kubeStateMetrics, name) {
			t.Errorf("%s: %s is neither a metric of the daemon nor one of kube-state-metrics' %v", alert, name, kubeStateMetrics)
		}
	}
	for _, match := range labelMatcher.FindAllStringSubmatch(expr, -1) {
		label, value := match[1], match[3]
		if allowed, ok := wantLabelValues[label]; ok && !slices.Contains(allowed, value) {
			t.Errorf("%s: %s=%q, want one of %v", alert, label, value, allowed)
		}
	}
}
