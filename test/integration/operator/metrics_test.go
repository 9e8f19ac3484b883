//go:build integration

package operator

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// prometheusUser is who platform Prometheus is: the common name of its
// client certificate, and its ServiceAccount.
const prometheusUser = "system:serviceaccount:openshift-monitoring:prometheus-k8s"

// TestOperatorMetrics scrapes the real operator binary the way its
// ServiceMonitor has Prometheus do it: with a client certificate of the
// cluster's client CA, which the operator's delegated authentication reads
// from kube-system/extension-apiserver-authentication, authorized by a
// SubjectAccessReview against what the cluster monitoring operator grants
// Prometheus.
func TestOperatorMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.grantMetricsReader("prometheus-k8s")
	e.setInfrastructure(bareMetal())
	e.setConfig(defaultDeployment)
	op := e.startOperatorProcess()
	e.eventually("the DaemonSet", func() error { _, err := e.daemonSet(); return err })

	prometheus := e.clientCertificate(prometheusUser, "system:serviceaccounts", "system:serviceaccounts:openshift-monitoring")
	var body string
	e.eventually("Prometheus to read the operator's metrics", func() error {
		if err := op.exited(); err != nil {
			return err
		}
		status, b, err := op.scrape(&prometheus)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("status %d: %.200s", status, b)
		}
		body = b
		if !strings.Contains(body, "http01_challenge_proxy_operator_enabled") {
			return fmt.Errorf("no http01_challenge_proxy_operator_enabled yet")
		}
		return nil
	})
	for _, want := range []string{
		`http01_challenge_proxy_operator_enabled{reason="AsExpected"} 1`,
		`workqueue_depth{name="DaemonSetController"}`,
		// library-go leaves the lease name out of this label.
		`leader_election_master_status{name=""} 1`,
		`rest_client_requests_total{`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the operator's metrics lack %s", want)
		}
	}

	intruder := e.clientCertificate("system:serviceaccount:default:intruder")
	if status, b, err := op.scrape(&intruder); err != nil || status != http.StatusForbidden {
		t.Errorf("another client of the same CA got %d %.200q, %v; want 403", status, b, err)
	}
	if status, _, err := op.scrape(nil); err == nil && status == http.StatusOK {
		t.Errorf("a client without a certificate got the metrics")
	}
}

// grantMetricsReader grants GET /metrics to the ServiceAccount
// openshift-monitoring/name, as the cluster monitoring operator does for
// Prometheus.
func (e *env) grantMetricsReader(name string) {
	e.t.Helper()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "test-metrics-reader-" + name},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
	}
	if _, err := e.kube.RbacV1().ClusterRoles().Create(e.ctx(), role, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "openshift-monitoring", Name: name}},
	}
	if _, err := e.kube.RbacV1().ClusterRoleBindings().Create(e.ctx(), binding, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// clientCertificate returns a client certificate of the API server's client
// CA for user.
func (e *env) clientCertificate(user string, groups ...string) tls.Certificate {
	e.t.Helper()
	cfg, err := e.srv.UserConfig(user, groups...)
	if err != nil {
		e.t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(cfg.TLSClientConfig.CertData, cfg.TLSClientConfig.KeyData)
	if err != nil {
		e.t.Fatal(err)
	}
	return cert
}

// scrape GETs /metrics with the client certificate, if any. The operator
// serves a self-signed certificate here, as before the service-ca operator
// has issued its own: verifying it is not what this is about.
func (p *operatorProcess) scrape(cert *tls.Certificate) (int, string, error) {
	return p.get(cert, "")
}

// scrapeWithToken GETs /metrics with a bearer token, as a client whose
// token the operator reviews with a TokenReview.
func (p *operatorProcess) scrapeWithToken(token string) (int, string, error) {
	return p.get(nil, token)
}

func (p *operatorProcess) get(cert *tls.Certificate, token string) (int, string, error) {
	tlsConfig := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // see scrape
	if cert != nil {
		tlsConfig.Certificates = []tls.Certificate{*cert}
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, "https://"+p.metricsAddress+"/metrics", nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
