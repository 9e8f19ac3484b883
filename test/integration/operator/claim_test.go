//go:build integration

package operator

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	operatorv1 "github.com/openshift/api/operator/v1"
	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/apihostclaim"
)

// TestAPIHostClaim follows the claim on the API host at the real API
// server, with the test standing in for the default router: the proxy is
// not deployed while another namespace holds the host, and the
// ClusterOperator and the config say who and what to do; once the router
// admits the claim the proxy runs; a deleted claim is recreated; a default
// IngressController that lets namespaces share hosts turns the proxy off;
// disabling removes the claim.
func TestAPIHostClaim(t *testing.T) {
	t.Parallel()
	var tenantFirst atomic.Bool
	tenantFirst.Store(true)
	e := newEnv(t, withRouter(func(*routev1.Route) routev1.RouteIngressCondition {
		if tenantFirst.Load() {
			return routev1.RouteIngressCondition{Type: routev1.RouteAdmitted, Status: corev1.ConditionFalse, Reason: "HostAlreadyClaimed",
				Message: "host " + testAPIHost + " is claimed by namespace tenant: route tenant/stolen is older"}
		}
		return admitClaim(nil)
	}))
	e.setInfrastructure(bareMetal())
	e.setConfig(defaultDeployment)
	e.startOperator()

	e.eventually("the claim Route", func() error {
		r, err := e.claimRoute()
		if err != nil {
			return err
		}
		if r.Spec.Host != testAPIHost || r.Spec.Path != apihostclaim.Path {
			return fmt.Errorf("the claim Route routes %s%s, want %s%s", r.Spec.Host, r.Spec.Path, testAPIHost, apihostclaim.Path)
		}
		return nil
	})
	e.eventually("the ClusterOperator to name the tenant and stay off", e.clusterOperatorIs(
		conditions("Disabled", "True/"+apihostclaim.ReasonClaimedElsewhere, "Available", "True")))
	e.eventually("APIHostClaimDegraded", e.operatorConditionIs(apihostclaim.ConditionDegraded, operatorv1.ConditionTrue))
	e.eventually("the config's Ready to say what to do", e.configReadyMentions("tenant/stolen", "oc get routes -A"))
	if _, err := e.daemonSet(); !apierrors.IsNotFound(err) {
		t.Fatalf("the DaemonSet exists (%v) while a tenant holds the API host", err)
	}
	e.logClusterOperator("a tenant holds the API host")

	t.Run("once the router admits the claim, the proxy runs", func(t *testing.T) {
		tenantFirst.Store(false)
		e.eventually("the DaemonSet", func() error { _, err := e.daemonSet(); return err })
		e.eventually("APIHostClaimDegraded False", e.operatorConditionIs(apihostclaim.ConditionDegraded, operatorv1.ConditionFalse))
	})

	t.Run("a deleted claim is recreated", func(t *testing.T) {
		before, err := e.claimRoute()
		if err != nil {
			t.Fatal(err)
		}
		if err := e.routes.RouteV1().Routes(apihostclaim.Namespace).Delete(e.ctx(), apihostclaim.RouteName, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually("a new claim Route", func() error {
			r, err := e.claimRoute()
			if err != nil {
				return err
			}
			if r.UID == before.UID {
				return errors.New("still the deleted one")
			}
			return nil
		})
		e.eventually("the proxy to run again", func() error { _, err := e.daemonSet(); return err })
	})

	t.Run("an edited claim is put back", func(t *testing.T) {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			r, err := e.claimRoute()
			if err != nil {
				return err
			}
			r.Spec.Path = "/.well-known/acme-challenge/"
			_, err = e.routes.RouteV1().Routes(apihostclaim.Namespace).Update(e.ctx(), r, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		e.eventually("the claim's path to be put back", func() error {
			r, err := e.claimRoute()
			if err != nil {
				return err
			}
			if r.Spec.Path != apihostclaim.Path {
				return fmt.Errorf("path %s", r.Spec.Path)
			}
			return nil
		})
	})

	t.Run("InterNamespaceAllowed is refused with a reason", func(t *testing.T) {
		e.setNamespaceOwnership(operatorv1.InterNamespaceAllowedOwnershipCheck)
		e.eventually("the proxy to be off", daemonSetGone(e))
		e.eventually("the ClusterOperator to say why", e.clusterOperatorIs(
			conditions("Disabled", "True/"+apihostclaim.ReasonSharedHosts, "Available", "True")))
		e.eventually("the config's Ready to say what to do", e.configReadyMentions(`"namespaceOwnership":"Strict"`))
		e.setNamespaceOwnership(operatorv1.StrictNamespaceOwnershipCheck)
		e.eventually("the proxy to run again", func() error { _, err := e.daemonSet(); return err })
	})

	t.Run("disabling removes the claim", func(t *testing.T) {
		e.setConfig(disabledSpec)
		e.eventually("the claim Route to be gone", func() error {
			if _, err := e.claimRoute(); !apierrors.IsNotFound(err) {
				return fmt.Errorf("the claim Route: %v", err)
			}
			return nil
		})
	})
}

func (e *env) claimRoute() (*routev1.Route, error) {
	return e.routes.RouteV1().Routes(apihostclaim.Namespace).Get(e.ctx(), apihostclaim.RouteName, metav1.GetOptions{})
}

func (e *env) setNamespaceOwnership(ownership operatorv1.NamespaceOwnershipCheck) {
	e.t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		controllers := e.ops.OperatorV1().IngressControllers(apihostclaim.IngressControllerNamespace)
		ic, err := controllers.Get(e.ctx(), apihostclaim.IngressControllerName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ic.Spec.RouteAdmission = &operatorv1.RouteAdmissionPolicy{NamespaceOwnership: ownership}
		_, err = controllers.Update(e.ctx(), ic, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// configReadyMentions checks that the config's Ready condition is False
// and its message holds every word.
func (e *env) configReadyMentions(words ...string) func() error {
	return func() error {
		ready := findCondition(e.configStatus().Conditions, "Ready")
		if ready == nil || ready.Status != metav1.ConditionFalse {
			return fmt.Errorf("Ready = %+v, want False", ready)
		}
		for _, w := range words {
			if !strings.Contains(ready.Message, w) {
				return fmt.Errorf("Ready's message %q does not say %q", ready.Message, w)
			}
		}
		return nil
	}
}
