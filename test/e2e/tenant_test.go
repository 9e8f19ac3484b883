//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	configv1 "github.com/openshift/api/config/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	configv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/apis/config/v1alpha1"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/apihostclaim"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/localcluster"
)

// The tests of this file act as a tenant: a project editor who may create
// Routes and Ingresses with any host, and cert-manager Issuers, in their
// own namespace. None of them may answer, or block, the API host's
// challenges through the proxy.

// tenantRoute is a Route for the API host in namespace, as a tenant with
// routes/custom-host would create it.
func tenantRoute(namespace, name, path string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "route.openshift.io/v1", "kind": "Route",
		"metadata": map[string]any{"namespace": namespace, "name": name},
		"spec": map[string]any{
			"host": localcluster.APIHost, "path": path,
			"to": map[string]any{"kind": "Service", "name": name},
		},
	}}
}

func (c *cluster) createNamespace(t *testing.T, name string) {
	t.Helper()
	_, err := c.kube.CoreV1().Namespaces().Create(ctxFor(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// testTenantRoutedFirst enables the proxy while a tenant's Route already
// holds the API host: the proxy stays off, and the ClusterOperator names
// the tenant's namespace and says what to do. Once the tenant's Route is
// gone, the claim is admitted and the proxy runs.
func (c *cluster) testTenantRoutedFirst(t *testing.T) {
	const ns = "tenant-first"
	c.createNamespace(t, ns)
	routes := c.dynamic.Resource(localcluster.RouteResource).Namespace(ns)
	squatter, err := routes.Create(ctxFor(t), tenantRoute(ns, "squatter", "/"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Route age has a resolution of one second: the claim must come in a
	// later one to be the younger route.
	time.Sleep(time.Until(squatter.GetCreationTimestamp().Add(1100 * time.Millisecond)))
	ctx := ctxFor(t)
	if err := c.setSpec(ctx, configv1alpha1.HTTP01ChallengeProxySpec{Mode: configv1alpha1.DefaultDeploymentMode}); err != nil {
		t.Fatalf("enabling the proxy: %v", err)
	}
	eventually(t, rolloutTimeout, "the ClusterOperator to say the tenant holds the API host", func(ctx context.Context) error {
		co, err := c.clusterOperator(ctx)
		if err != nil {
			return err
		}
		if err := wantConditions(co, map[string]configv1.ConditionStatus{"Disabled": configv1.ConditionTrue, "Available": configv1.ConditionTrue},
			map[string]string{"Disabled": apihostclaim.ReasonClaimedElsewhere}); err != nil {
			return err
		}
		if msg := findCondition(co, "Disabled").Message; !strings.Contains(msg, ns) || !strings.Contains(msg, "oc get routes -A") {
			return fmt.Errorf("Disabled's message does not name %s and the command to find it: %s", ns, msg)
		}
		return nil
	})
	if ds, err := c.daemonSet(ctx); err != nil || ds != nil {
		t.Errorf("the proxy's DaemonSet exists (%v) while a tenant holds the API host", err)
	}
	co, _ := c.clusterOperator(ctx)
	t.Logf("Disabled: %s", findCondition(co, "Disabled").Message)

	if err := routes.Delete(ctx, "squatter", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitServing(t, defaultPort)
}

// testTenantCannotAnswer has a tenant ask Pebble for a certificate for the
// API host with an Issuer of its own: cert-manager's solver Ingress becomes
// a Route in the tenant's namespace, which the router refuses
// (HostAlreadyClaimed), so the tenant's challenge never gets its key
// through the proxy and its Certificate is not issued. The platform's
// Certificate is renewed meanwhile.
func (c *cluster) testTenantCannotAnswer(t *testing.T) {
	const ns = "tenant"
	c.createNamespace(t, ns)
	ca, err := os.ReadFile(c.harness.Pebble.TLSCAFile)
	if err != nil {
		t.Fatal(err)
	}
	issuer := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
		"metadata": map[string]any{"namespace": ns, "name": "tenant-acme"},
		"spec": map[string]any{"acme": map[string]any{
			"server": c.harness.Pebble.DirectoryURL, "caBundle": base64.StdEncoding.EncodeToString(ca),
			"privateKeySecretRef": map[string]any{"name": "tenant-acme-account"},
			"solvers":             []any{map[string]any{"http01": map[string]any{"ingress": map[string]any{"ingressClassName": localcluster.IngressClass}}}},
		}},
	}}
	cert := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
		"metadata": map[string]any{"namespace": ns, "name": "stolen-api"},
		"spec": map[string]any{
			"secretName": "stolen-api", "dnsNames": []any{localcluster.APIHost},
			"issuerRef": map[string]any{"kind": "Issuer", "name": "tenant-acme"},
		},
	}}
	ctx := ctxFor(t)
	issuers := c.dynamic.Resource(issuerResource).Namespace(ns)
	if _, err := issuers.Create(ctx, issuer, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.dynamic.Resource(localcluster.CertificateResource).Namespace(ns).Create(ctx, cert, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The tenant's solver is exposed, and refused.
	eventually(t, issuanceTimeout, "the tenant's solver Route to be refused by the router", func(ctx context.Context) error {
		return c.tenantRouteRefused(ctx, ns)
	})
	// Its challenge cannot get the key through the proxy: cert-manager's
	// self-check gets the router's 503, so it never asks Pebble to validate.
	eventually(t, issuanceTimeout, "the tenant's Challenge to fail its self-check through the proxy", func(ctx context.Context) error {
		return c.challengeFailsSelfCheck(ctx, ns)
	})
	if rev, _, _ := c.revisionOf(ctx, ns, "stolen-api"); rev != 0 {
		t.Errorf("the tenant's Certificate was issued (revision %d)", rev)
	}
	if _, err := c.kube.CoreV1().Secrets(ns).Get(ctx, "stolen-api", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the tenant has a Secret for the API host's certificate (%v)", err)
	}

	// cert-manager processes one Challenge per DNS name at a time, cluster
	// wide: while the tenant's is pending, the platform's would wait in
	// cert-manager's queue (docs/security.md, "What remains"). With it
	// gone, the platform's Certificate renews through the same proxy.
	if err := c.dynamic.Resource(localcluster.CertificateResource).Namespace(ns).Delete(ctx, "stolen-api", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, issuanceTimeout, "the tenant's Challenges to be gone", func(ctx context.Context) error {
		list, err := c.dynamic.Resource(localcluster.ChallengeResource).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(list.Items) > 0 {
			return fmt.Errorf("%d left", len(list.Items))
		}
		return nil
	})
	c.issue(t, false)
}

var issuerResource = localcluster.CertificateResource.GroupVersion().WithResource("issuers")

// tenantRouteRefused checks that a Route of the tenant's namespace for the
// API host exists and is HostAlreadyClaimed.
func (c *cluster) tenantRouteRefused(ctx context.Context, ns string) error {
	list, err := c.dynamic.Resource(localcluster.RouteResource).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, r := range list.Items {
		ingresses, _, _ := unstructured.NestedSlice(r.Object, "status", "ingress")
		for _, i := range ingresses {
			conditions, _, _ := unstructured.NestedSlice(i.(map[string]any), "conditions")
			for _, cond := range conditions {
				m := cond.(map[string]any)
				if m["type"] == "Admitted" && m["status"] == "False" && m["reason"] == "HostAlreadyClaimed" {
					return nil
				}
			}
		}
	}
	return fmt.Errorf("no refused Route among %d in %s", len(list.Items), ns)
}

func (c *cluster) challengeFailsSelfCheck(ctx context.Context, ns string) error {
	list, err := c.dynamic.Resource(localcluster.ChallengeResource).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var reasons []string
	for _, ch := range list.Items {
		state, _, _ := unstructured.NestedString(ch.Object, "status", "state")
		reason, _, _ := unstructured.NestedString(ch.Object, "status", "reason")
		if state != "valid" && strings.Contains(reason, "wrong status code '503'") {
			return nil
		}
		reasons = append(reasons, state+": "+reason)
	}
	return fmt.Errorf("no Challenge failing with the router's 503 among %d in %s: %v", len(list.Items), ns, reasons)
}

func (c *cluster) revisionOf(ctx context.Context, ns, name string) (int64, bool, error) {
	cert, err := c.dynamic.Resource(localcluster.CertificateResource).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, false, err
	}
	return unstructured.NestedInt64(cert.Object, "status", "revision")
}

// testInterNamespaceAllowedRefused lets routes of any namespace share hosts
// at the default IngressController: the proxy goes off with a clear reason,
// and comes back once Strict is restored.
func (c *cluster) testInterNamespaceAllowedRefused(t *testing.T) {
	ctx := ctxFor(t)
	ics := c.dynamic.Resource(ingressControllerResource).Namespace(apihostclaim.IngressControllerNamespace)
	patch := func(ownership string) {
		data := fmt.Sprintf(`{"spec":{"routeAdmission":{"namespaceOwnership":%q}}}`, ownership)
		if _, err := ics.Patch(ctx, apihostclaim.IngressControllerName, types.MergePatchType, []byte(data), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	patch("InterNamespaceAllowed")
	t.Cleanup(func() { patch("Strict") })
	eventually(t, rolloutTimeout, "the ClusterOperator to refuse InterNamespaceAllowed", func(ctx context.Context) error {
		co, err := c.clusterOperator(ctx)
		if err != nil {
			return err
		}
		return wantConditions(co, map[string]configv1.ConditionStatus{"Disabled": configv1.ConditionTrue},
			map[string]string{"Disabled": apihostclaim.ReasonSharedHosts})
	})
	c.testDataPlaneGone(t)
	patch("Strict")
	c.waitServing(t, defaultPort)
}

var ingressControllerResource = schema.GroupVersionResource{Group: "operator.openshift.io", Version: "v1", Resource: "ingresscontrollers"}

// testClaimDeletedHeals deletes the claim Route: the operator recreates it,
// the router admits it, and the proxy serves again.
func (c *cluster) testClaimDeletedHeals(t *testing.T) {
	ctx := ctxFor(t)
	routes := c.dynamic.Resource(localcluster.RouteResource).Namespace(apihostclaim.Namespace)
	before, err := routes.Get(ctx, apihostclaim.RouteName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dsBefore, err := c.daemonSet(ctx)
	if err != nil || dsBefore == nil {
		t.Fatalf("reading the DaemonSet: %v", err)
	}
	if err := routes.Delete(ctx, apihostclaim.RouteName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, rolloutTimeout, "a new claim Route", func(ctx context.Context) error {
		r, err := routes.Get(ctx, apihostclaim.RouteName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if r.GetUID() == before.GetUID() {
			return fmt.Errorf("still the deleted one")
		}
		return nil
	})
	// Unproven for a moment, the claim stops the proxy; once admitted
	// again, a new DaemonSet brings it back.
	eventually(t, rolloutTimeout, "a new DaemonSet", func(ctx context.Context) error {
		ds, err := c.daemonSet(ctx)
		if err != nil || ds == nil {
			return fmt.Errorf("no DaemonSet yet: %v", err)
		}
		if ds.UID == dsBefore.UID {
			return fmt.Errorf("still the DaemonSet of the deleted claim")
		}
		return nil
	})
	c.waitServing(t, defaultPort)
}
