//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/diagnose"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/localcluster"
)

// issuanceTimeout bounds one issuance by cert-manager: its self-check
// retries every few seconds, and Pebble validates at once.
const issuanceTimeout = 4 * time.Minute

// testFailureAndRecovery renews the README's Certificate with the proxy
// disabled: its Challenge stays pending with cert-manager's self-check
// error, and diagnose names the failing hop and quotes the Challenge's
// reason. Enabling the proxy again makes the same Certificate Ready,
// without anyone touching cert-manager.
func (c *cluster) testFailureAndRecovery(t *testing.T) {
	ctx, cm, before := c.issuedCertificate(t)
	if err := localcluster.SetChallengeDNS(ctx, c.harness, localcluster.APIHost, c.harness.Topology.APIVIPs[:1]); err != nil {
		t.Fatal(err)
	}
	c.testDisable(t)

	if err := cm.Renew(ctx, apiCertNamespace, apiCertName); err != nil {
		t.Fatal(err)
	}
	var reason string
	eventually(t, issuanceTimeout, "a pending Challenge for "+localcluster.APIHost+" whose reason is cert-manager's failed self-check", func(ctx context.Context) error {
		var err error
		reason, err = c.pendingChallengeReason(ctx)
		return err
	})
	t.Logf("the Challenge's reason: %s", reason)

	report := c.diagnoseJSON(t)
	first := firstFailure(report)
	if first == nil || first.Hop != diagnose.HopPort80 {
		t.Errorf("diagnose's first failure is %+v, want the %s hop (nothing listens on the API VIP's port 80)", first, diagnose.HopPort80)
	}
	if !quotesChallenge(report, reason) {
		t.Errorf("diagnose does not quote the Challenge's reason %q: %+v", reason, report.Checks)
	}

	c.testEnable(t)
	issued, err := cm.WaitIssued(ctx, apiCertNamespace, apiCertName, before)
	if err != nil {
		t.Fatalf("the Certificate did not become Ready once the proxy was back: %v", err)
	}
	t.Logf("Ready again at revision %d: %s", issued.Revision, strings.Join(issued.Conditions, "; "))
}

// issuedCertificate returns a context for a renewal and its wait, a
// cert-manager client, and the revision of the README's Certificate, which
// an earlier case issued.
func (c *cluster) issuedCertificate(t *testing.T) (context.Context, *localcluster.CertManagerClient, int64) {
	t.Helper()
	cm, err := localcluster.NewCertManagerClient(c.harness)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*issuanceTimeout)
	t.Cleanup(cancel)
	before, err := cm.Revision(ctx, apiCertNamespace, apiCertName)
	if err != nil || before == 0 {
		t.Fatalf("the README's Certificate has no revision (%d, %v): issue it first", before, err)
	}
	return ctx, cm, before
}

// pendingChallengeReason returns the reason of a pending Challenge for the
// API host once it says that cert-manager's self-check failed.
func (c *cluster) pendingChallengeReason(ctx context.Context) (string, error) {
	list, err := c.dynamic.Resource(localcluster.ChallengeResource).Namespace(apiCertNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, ch := range list.Items {
		domain, _, _ := unstructured.NestedString(ch.Object, "spec", "dnsName")
		state, _, _ := unstructured.NestedString(ch.Object, "status", "state")
		reason, _, _ := unstructured.NestedString(ch.Object, "status", "reason")
		if domain == localcluster.APIHost && state != "valid" && strings.Contains(reason, "self check") {
			return reason, nil
		}
	}
	return "", fmt.Errorf("no such Challenge among %d in %s", len(list.Items), apiCertNamespace)
}

// diagnoseJSON runs diagnose from the internet and returns its report.
func (c *cluster) diagnoseJSON(t *testing.T) diagnose.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut strings.Builder
	code, err := localcluster.Diagnose(ctx, c.harness, []string{"--output=json"}, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	var report diagnose.Report
	if err := json.Unmarshal([]byte(out.String()), &report); err != nil {
		t.Fatalf("diagnose printed no JSON report (exit %d): %v\n%s%s", code, err, out.String(), errOut.String())
	}
	var text strings.Builder
	for _, check := range report.Checks {
		text.WriteString(check.Line() + "\n")
	}
	t.Logf("diagnose exited %d:\n%s", code, text.String())
	if code == 0 || report.Passed {
		t.Errorf("diagnose passed with the proxy disabled")
	}
	return report
}

func firstFailure(r diagnose.Report) *diagnose.Check {
	for i := range r.Checks {
		if r.Checks[i].Status == diagnose.Fail {
			return &r.Checks[i]
		}
	}
	return nil
}

// quotesChallenge reports whether a cert-manager check quotes reason.
func quotesChallenge(r diagnose.Report, reason string) bool {
	for _, check := range r.Checks {
		if check.Hop == diagnose.HopCertManager && strings.Contains(check.Message, reason) {
			return true
		}
	}
	return false
}

// testAppsDomain has the same ClusterIssuer issue a certificate for a name
// under the apps domain, which resolves to the ingress VIP: it works, and
// neither cert-manager's self-check nor the CA's validation crosses the
// proxy. (The proxy's forwarded-request counter cannot say so: the
// daemons' own path probes add to it all the time.)
func (c *cluster) testAppsDomain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), issuanceTimeout)
	defer cancel()
	domain := "www." + localcluster.IngressDomain
	r, err := localcluster.Issue(ctx, c.harness, localcluster.IssueOptions{Domain: domain, Certificate: "www-apps", Namespace: "default"})
	if err != nil {
		t.Fatalf("cert-manager issuing a certificate for %s: %v", domain, err)
	}
	t.Logf("\n%s", r.Describe(c.harness.Topology))
	fromCA := 0
	for _, req := range r.RouterRequests {
		if req.Remote.Addr() == r.CAAddress {
			fromCA++
		}
	}
	if fromCA == 0 {
		t.Fatal("the router received no validation from the CA")
	}
	// Through the proxy, a request would come from a control-plane node
	// with the client in X-Forwarded-For.
	for _, req := range r.RouterRequests {
		if from := req.Remote.Addr(); (from != r.CAAddress && from != r.SelfCheckAddress) || req.ForwardedFor != "" {
			t.Errorf("the router got %s from %s with X-Forwarded-For %q, want it straight from the CA (%s) or cert-manager (%s)",
				req.Path, from, req.ForwardedFor, r.CAAddress, r.SelfCheckAddress)
		}
	}
}

// clusterIssuerEnv names a ClusterIssuer of a real cluster, with an HTTP-01
// solver, that the suite may use to issue the API certificate.
const clusterIssuerEnv = "E2E_CLUSTER_ISSUER"

// testIssueWithClusterIssuer is the journey on a real cluster with
// cert-manager installed: the README's Certificate, with the cluster's
// ClusterIssuer, for the API host of its Infrastructure, becomes Ready (it
// is renewed if it exists). It is left in place, as an admin would.
func (c *cluster) testIssueWithClusterIssuer(t *testing.T, issuer string) {
	ctx, cancel := context.WithTimeout(context.Background(), issuanceTimeout)
	defer cancel()
	infra, err := c.config.ConfigV1().Infrastructures().Get(ctx, "cluster", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	apiURL, err := url.Parse(infra.Status.APIServerURL)
	if err != nil || apiURL.Hostname() == "" {
		t.Fatalf("the Infrastructure's apiServerURL %q names no host: %v", infra.Status.APIServerURL, err)
	}
	_, file, _, _ := runtime.Caller(0)
	cm, err := localcluster.NewCertManagerClientFor(c.cfg, filepath.Join(filepath.Dir(file), "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cm.IssuerName = issuer
	issued, err := cm.Issue(ctx, apiCertNamespace, apiCertName, apiURL.Hostname())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s/%s is Ready at revision %d: %s", apiCertNamespace, apiCertName, issued.Revision, strings.Join(issued.Conditions, "; "))
}

// testSolverImagePull renews the README's Certificate while the worker's
// containerd lacks the solver image and no registry is reachable, as on a
// disconnected cluster whose solver pod has no pull secret: the real
// kubelet reports ErrImagePull, and diagnose's first failure names the pod,
// the reason and the fix. With the image back, the same Certificate is
// issued.
func (c *cluster) testSolverImagePull(t *testing.T) {
	ctx, cm, before := c.issuedCertificate(t)
	worker, _ := c.harness.Topology.CertManagerWorker()
	image := localcluster.SolverImage(c.harness.CertManagerVersion)
	if err := localcluster.RemoveImage(ctx, c.harness, worker.Name, image); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := localcluster.RestoreImage(context.Background(), c.harness, worker.Name, image); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(restore)
	if err := cm.Renew(ctx, apiCertNamespace, apiCertName); err != nil {
		t.Fatal(err)
	}

	var pod, reason string
	eventually(t, issuanceTimeout, "a solver pod that cannot pull "+image, func(ctx context.Context) error {
		pods, err := c.kube.CoreV1().Pods(apiCertNamespace).List(ctx, metav1.ListOptions{LabelSelector: localcluster.SolverPodLabel + "=true"})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			for _, s := range p.Status.ContainerStatuses {
				if w := s.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
					pod, reason = p.Name, w.Reason
					return nil
				}
			}
		}
		return fmt.Errorf("no solver pod waits for its image among %d", len(pods.Items))
	})
	t.Logf("the kubelet says %s for %s/%s", reason, apiCertNamespace, pod)

	report := c.diagnoseJSON(t)
	first := firstFailure(report)
	switch {
	case first == nil:
		t.Fatal("diagnose found nothing wrong")
	case first.Hop != diagnose.HopSolver || !strings.Contains(first.Message, apiCertNamespace+"/"+pod):
		t.Errorf("diagnose's first failure is %+v, want the solver hop naming pod %s", first, pod)
	case !strings.Contains(first.Action, image) || !strings.Contains(first.Action, "imagePullSecrets") || !strings.Contains(first.Action, "podTemplate"):
		t.Errorf("diagnose's fix does not say to give the solver a ServiceAccount with a pull secret for %s: %s", image, first.Action)
	}
	var podCheck bool
	for _, check := range report.Checks {
		if check.Hop == diagnose.HopCertManager && check.Target == "pod "+apiCertNamespace+"/"+pod && check.Status == diagnose.Fail && strings.Contains(check.Message, "Image") {
			podCheck = true
		}
	}
	if !podCheck {
		t.Errorf("diagnose has no failed check for pod %s with its reason: %+v", pod, report.Checks)
	}

	// The kubelet backs off; a new pod, which cert-manager makes at once,
	// finds the image.
	restore()
	if err := c.kube.CoreV1().Pods(apiCertNamespace).Delete(ctx, pod, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	issued, err := cm.WaitIssued(ctx, apiCertNamespace, apiCertName, before)
	if err != nil {
		t.Fatalf("the Certificate did not become Ready once the image was back: %v", err)
	}
	t.Logf("Ready again at revision %d", issued.Revision)
}
