//go:build integration

package operator

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	configv1 "github.com/openshift/api/config/v1"
	operatorv1 "github.com/openshift/api/operator/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// TestEnableOnBareMetal enables the proxy on a bare-metal cluster and
// follows it through its first rollout, a port change, and an upgrade that
// rolls the pods.
func TestEnableOnBareMetal(t *testing.T) {
	e := newEnv(t)
	e.setInfrastructure(bareMetal())
	e.setConfig(defaultDeployment)
	op := e.startOperator(withRelease(releaseV1))

	e.eventually("the DaemonSet", func() error { _, err := e.daemonSet(); return err })
	ds, err := e.daemonSet()
	if err != nil {
		t.Fatal(err)
	}
	wantArgs := []string{
		"--health-listen-address=127.0.0.1:29448",
		"--metrics-listen-address=0.0.0.0:9450",
		"--metrics-tls-cert-file=/var/run/secrets/metrics-serving-cert/tls.crt",
		"--metrics-tls-key-file=/var/run/secrets/metrics-serving-cert/tls.key",
		"--metrics-client-ca-file=/var/run/configmaps/metrics-client-ca/client-ca-file",
		"--metrics-allowed-clients=system:serviceaccount:openshift-monitoring:prometheus-k8s",
		"--api-vips=192.0.2.5,fd00::5",
		"--ingress-vips=192.0.2.10,fd00::10",
		"--listen-port=8888",
		// No APIServer object yet: the Intermediate profile.
		"--metrics-tls-min-version=VersionTLS12",
		"--metrics-tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256," +
			"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384," +
			"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
		"-v=2",
	}
	if diff := cmp.Diff(wantArgs, proxyArgs(ds)); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"node-role.kubernetes.io/master": ""}, ds.Spec.Template.Spec.NodeSelector); diff != "" {
		t.Errorf("nodeSelector (-want +got):\n%s", diff)
	}
	if want := (corev1.Toleration{Operator: corev1.TolerationOpExists}); !slices.Contains(ds.Spec.Template.Spec.Tolerations, want) {
		t.Errorf("tolerations %v do not tolerate every taint (%v)", ds.Spec.Template.Spec.Tolerations, want)
	}
	if got := ds.Spec.Template.Spec.Containers[0].Image; got != testImage {
		t.Errorf("image = %q, want OPERAND_IMAGE %q", got, testImage)
	}
	e.eventually("the operand's ServiceAccount and SCC RBAC", e.operandResourcesAre(true))

	// Nothing has run yet: progressing, no version, but Available: the
	// operator does its job, and node health is Degraded's.
	e.eventually("the ClusterOperator to show the rollout", e.clusterOperatorIs(
		conditions("Disabled", "False/AsExpected", "Available", "True", "Progressing", "True", "Degraded", "False", "Upgradeable", "True").
			withVersion("")))
	e.logClusterOperator("enabled, rolling out")

	// Every pod runs the template, one node is not ready yet: rolled out,
	// and the node shows in DaemonSetDegraded, which has inertia.
	e.rollOut(3, 3, 2)
	e.eventually("rolled out while one node is still starting", e.clusterOperatorIs(
		conditions("Available", "True", "Progressing", "False", "Degraded", "False").withVersion(releaseV1)))
	e.eventually("DaemonSetDegraded", e.operatorConditionIs("DaemonSetDegraded", operatorv1.ConditionTrue))

	e.rollOut(3, 3, 3)
	e.eventually("the rollout to complete", e.clusterOperatorIs(
		conditions("Disabled", "False/AsExpected", "Available", "True", "Progressing", "False", "Degraded", "False", "Upgradeable", "True").
			withVersion(releaseV1)))
	e.logClusterOperator("enabled, rolled out")

	e.eventually("the config status", func() error {
		s := e.configStatus()
		ready := findCondition(s.Conditions, "Ready")
		switch {
		case ready == nil || ready.Status != metav1.ConditionTrue:
			return fmt.Errorf("Ready = %+v, want True", ready)
		case !slices.Equal(s.APIServerVIPs, []string{"192.0.2.5", "fd00::5"}) || !slices.Equal(s.IngressVIPs, []string{"192.0.2.10", "fd00::10"}):
			return fmt.Errorf("VIPs = %v / %v", s.APIServerVIPs, s.IngressVIPs)
		case s.InternalPort != 8888 || s.DesiredNodes != 3 || s.ReadyNodes != 3:
			return fmt.Errorf("port %d, nodes %d/%d; want 8888, 3/3", s.InternalPort, s.ReadyNodes, s.DesiredNodes)
		}
		return nil
	})
	t.Logf("config status when ready: %+v", e.configStatus())

	t.Run("changing the port rolls the args", func(t *testing.T) {
		before, err := e.daemonSet()
		if err != nil {
			t.Fatal(err)
		}
		e.setConfig(customPort(18080))
		e.eventually("the DaemonSet to listen on 18080", func() error {
			ds, err := e.daemonSet()
			if err != nil {
				return err
			}
			if !slices.Contains(proxyArgs(ds), "--listen-port=18080") {
				return fmt.Errorf("args %v", proxyArgs(ds))
			}
			if ds.Generation == before.Generation {
				return errors.New("the generation did not change")
			}
			return nil
		})
		e.eventually("Progressing while the new pods roll out", e.clusterOperatorIs(conditions("Progressing", "True", "Available", "True")))
		e.eventually("the config status to say so", func() error {
			ready := findCondition(e.configStatus().Conditions, "Ready")
			if ready == nil || ready.Reason != "RollingOut" {
				return fmt.Errorf("Ready = %+v, want RollingOut", ready)
			}
			return nil
		})
		e.rollOut(3, 3, 3)
		e.eventually("the rollout to complete", e.clusterOperatorIs(conditions("Progressing", "False", "Available", "True")))
		if s := e.configStatus(); s.InternalPort != 18080 {
			t.Errorf("config status internalPort = %d, want 18080", s.InternalPort)
		}
	})

	t.Run("the cluster's TLS security profile reaches the metrics flags", func(t *testing.T) {
		before, err := e.daemonSet()
		if err != nil {
			t.Fatal(err)
		}
		e.setTLSProfile(&configv1.TLSSecurityProfile{Type: configv1.TLSProfileModernType})
		e.eventually("the DaemonSet to serve metrics over TLS 1.3 only", func() error {
			ds, err := e.daemonSet()
			if err != nil {
				return err
			}
			args := proxyArgs(ds)
			if !slices.Contains(args, "--metrics-tls-min-version=VersionTLS13") ||
				slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--metrics-tls-cipher-suites=") }) {
				return fmt.Errorf("args %v", args)
			}
			if ds.Generation == before.Generation {
				return errors.New("the generation did not change")
			}
			return nil
		})
		e.rollOut(3, 3, 3)
		e.eventually("the rollout to complete", e.clusterOperatorIs(conditions("Progressing", "False", "Available", "True")))
	})

	t.Run("an upgrade rolls the new image and reports the new version once every pod runs it", func(t *testing.T) {
		op.stop()
		// The new release brings a new operand image, and nothing else.
		e.startOperator(withRelease(releaseV2), withImage(testImageV2))

		e.eventually("the DaemonSet to run the new image", func() error {
			ds, err := e.daemonSet()
			if err != nil {
				return err
			}
			if got := ds.Spec.Template.Spec.Containers[0].Image; got != testImageV2 {
				return fmt.Errorf("image %q, want %q", got, testImageV2)
			}
			if !slices.Contains(proxyArgs(ds), "--listen-port=18080") {
				return fmt.Errorf("the upgrade changed the args: %v", proxyArgs(ds))
			}
			return nil
		})
		// The DaemonSet controller has not observed the new generation yet.
		e.eventually("Progressing, still at the old version", e.clusterOperatorIs(
			conditions("Progressing", "True").withVersion(releaseV1)))

		e.rollOut(3, 1, 2)
		e.eventually("one of three nodes updated", e.clusterOperatorIs(conditions("Progressing", "True").withVersion(releaseV1)))

		// One master is down for repair: its new pod runs nowhere yet. That
		// must not hold the upgrade of the cluster.
		e.rollOut(3, 3, 2)
		e.eventually("the new version with one master down", e.clusterOperatorIs(
			conditions("Available", "True", "Progressing", "False", "Degraded", "False").withVersion(releaseV2)))

		e.rollOut(3, 3, 3)
		e.eventually("healthy once the master is back", e.operatorConditionIs("DaemonSetDegraded", operatorv1.ConditionFalse))
	})
}

// TestFailingProxiesDegradeTheOperatorNotItsAvailability makes every proxy
// fail after a rollout. The ClusterOperator stays Available (Available=False
// fires the critical ClusterOperatorDown and stalls upgrades, for an opt-in
// helper); the failure shows in DaemonSetDegraded, which reaches the
// ClusterOperator only after its inertia, and in the config's Ready.
func TestFailingProxiesDegradeTheOperatorNotItsAvailability(t *testing.T) {
	e := newEnv(t)
	e.setInfrastructure(bareMetal())
	e.setConfig(defaultDeployment)
	e.startOperator()
	e.rollOutOnceCreated()
	e.eventually("the rollout", e.clusterOperatorIs(
		conditions("Available", "True", "Progressing", "False", "Degraded", "False").withVersion(releaseV1)))

	e.rollOut(3, 3, 0)
	e.eventually("DaemonSetDegraded", e.operatorConditionIs("DaemonSetDegraded", operatorv1.ConditionTrue))
	e.eventually("the config's Ready to name the failing nodes", func() error {
		ready := findCondition(e.configStatus().Conditions, "Ready")
		if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != "PodsNotReady" || !strings.Contains(ready.Message, "0/3") {
			return fmt.Errorf("Ready = %+v, want False/PodsNotReady counting 0/3", ready)
		}
		return nil
	})
	for _, c := range e.operatorStatus().Conditions {
		if c.Type == "DaemonSetDegraded" && c.Reason != "NoPodsAvailable" {
			t.Errorf("DaemonSetDegraded reason %q, want NoPodsAvailable", c.Reason)
		}
	}
	// Well within the inertia: the ClusterOperator is neither unavailable
	// nor degraded, and stays at its version.
	e.eventually("the ClusterOperator", e.clusterOperatorIs(
		conditions("Available", "True/AsExpected", "Progressing", "False", "Degraded", "False").withVersion(releaseV1)))
	e.logClusterOperator("every proxy failing, within the inertia")
}

func findCondition(conds []metav1.Condition, t string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

var _ = names.OperandName
