//go:build e2e

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/localcluster"
)

// testTenantOwnACMEClient is the tenant who skips cert-manager and its
// self-check: an ACME client of its own orders the API host from Pebble,
// and a pod of its namespace serves the key authorization behind a Route
// for the challenge path. The router refuses that Route, so Pebble's
// validation through the proxy gets no key and the authorization fails.
func (c *cluster) testTenantOwnACMEClient(t *testing.T) {
	const ns = "tenant-acme"
	c.createNamespace(t, ns)
	ctx, cancel := context.WithTimeout(context.Background(), issuanceTimeout)
	defer cancel()
	if err := localcluster.SetChallengeDNS(ctx, c.harness, localcluster.APIHost, c.harness.Topology.APIVIPs[:1]); err != nil {
		t.Fatal(err)
	}
	worker, _ := c.harness.Topology.CertManagerWorker()
	httpClient, err := localcluster.PebbleClient(c.harness, worker.Netns)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	client := &acme.Client{Key: key, DirectoryURL: c.harness.Pebble.DirectoryURL, HTTPClient: httpClient}
	if _, err := client.Register(ctx, &acme.Account{}, acme.AcceptTOS); err != nil {
		t.Fatal(err)
	}
	order, err := client.AuthorizeOrder(ctx, acme.DomainIDs(localcluster.APIHost))
	if err != nil {
		t.Fatal(err)
	}
	authz, err := client.GetAuthorization(ctx, order.AuthzURLs[0])
	if err != nil {
		t.Fatal(err)
	}
	var challenge *acme.Challenge
	for _, ch := range authz.Challenges {
		if ch.Type == "http-01" {
			challenge = ch
		}
	}
	if challenge == nil {
		t.Fatal("Pebble offers no http-01 challenge")
	}
	keyAuth, err := client.HTTP01ChallengeResponse(challenge.Token)
	if err != nil {
		t.Fatal(err)
	}
	c.serveKeyAuthorization(t, ns, challenge.Token, keyAuth)

	if _, err := client.Accept(ctx, challenge); err != nil {
		t.Fatal(err)
	}
	_, err = client.WaitAuthorization(ctx, authz.URI)
	var authzErr *acme.AuthorizationError
	switch {
	case err == nil:
		t.Fatalf("Pebble validated the tenant's order for %s", localcluster.APIHost)
	case !asAuthorizationError(err, &authzErr):
		t.Fatalf("waiting for the authorization: %v, want it invalid", err)
	}
	t.Logf("Pebble refused the tenant's order: %v", err)
	if !strings.Contains(err.Error(), "503") {
		t.Errorf("Pebble's error %q does not say that the router answered 503", err)
	}
}

func asAuthorizationError(err error, target **acme.AuthorizationError) bool {
	e, ok := err.(*acme.AuthorizationError)
	if ok {
		*target = e
	}
	return ok
}

// serveKeyAuthorization runs, in the tenant's namespace, a pod of
// cert-manager's solver image that answers token with keyAuth, a Service
// and a Route for the API host's challenge path, and waits until the pod is
// ready and the router has answered the Route (refused).
func (c *cluster) serveKeyAuthorization(t *testing.T, ns, token, keyAuth string) {
	t.Helper()
	ctx := ctxFor(t)
	labels := map[string]string{"app": "tenant-solver", localcluster.SolverPodLabel: "true"}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant-solver", Labels: labels},
		Spec: corev1.PodSpec{
			// As cert-manager's own solver pods: no API token.
			AutomountServiceAccountToken: ptr.To(false),
			SecurityContext:              &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)},
			Containers: []corev1.Container{{
				Name: "solver", Image: localcluster.SolverImage(c.harness.CertManagerVersion),
				Args:  []string{"--listen-port=8089", "--domain=" + localcluster.APIHost, "--token=" + token, "--key=" + keyAuth},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8089}},
			}},
		},
	}
	if _, err := c.kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant-solver"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "tenant-solver"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 8089, TargetPort: intstr.FromInt32(8089)}}},
	}
	if _, err := c.kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	route := tenantRoute(ns, "tenant-solver", "/.well-known/acme-challenge/"+token)
	route.Object["spec"].(map[string]any)["port"] = map[string]any{"targetPort": "http"}
	if _, err := c.dynamic.Resource(localcluster.RouteResource).Namespace(ns).Create(ctx, route, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "the tenant's solver pod to be ready", func(ctx context.Context) error {
		p, err := c.kube.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if podReady(*p) {
			return nil
		}
		return fmt.Errorf("not ready: %+v", p.Status.Conditions)
	})
	eventually(t, time.Minute, "the router to refuse the tenant's Route", func(ctx context.Context) error {
		return c.tenantRouteRefused(ctx, ns)
	})
}
