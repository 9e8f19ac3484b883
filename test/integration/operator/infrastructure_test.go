//go:build integration

package operator

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// TestInfrastructureNotThereYet starts the operator on a cluster that already
// runs the proxy but whose Infrastructure cannot be read. "Unknown" must
// never be taken for "not bare metal": nothing is deleted, nothing crashes,
// and the operator takes over once the Infrastructure appears.
func TestInfrastructureNotThereYet(t *testing.T) {
	e := newEnv(t)
	e.setConfig(defaultDeployment)

	// What a previous operator left: the proxy and its ServiceAccount.
	labels := map[string]string{"app": names.OperandName}
	ds, err := e.kube.AppsV1().DaemonSets(names.OperandNamespace).Create(e.ctx(), &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: names.OperandName, Namespace: names.OperandNamespace},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "proxy", Image: "registry.test/previous"}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sa, err := e.kube.CoreV1().ServiceAccounts(names.OperandNamespace).Create(e.ctx(), &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: names.OperandName, Namespace: names.OperandNamespace},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	op := e.startOperator()
	// The DaemonSet controller has run and refused to decide.
	e.eventually("the operator to report that it cannot decide", e.operatorConditionIs("DaemonSetControllerDegraded", "True"))
	// Every controller syncs at start and retries with backoff; a few
	// seconds cover several rounds of all of them.
	time.Sleep(3 * time.Second)

	if err := op.exitedEarly(); err != nil {
		t.Fatal(err)
	}
	if got, err := e.daemonSet(); err != nil || got.UID != ds.UID || got.Generation != ds.Generation {
		t.Fatalf("the DaemonSet was touched: %v (uid %v generation %v, was %v %v)", err, uidOf(got), generationOf(got), ds.UID, ds.Generation)
	}
	if got, err := e.kube.CoreV1().ServiceAccounts(names.OperandNamespace).Get(e.ctx(), names.OperandName, metav1.GetOptions{}); err != nil || got.UID != sa.UID {
		t.Fatalf("the ServiceAccount was touched: %v", err)
	}
	if co, err := e.clusterOperator(); err == nil {
		for _, c := range co.Status.Conditions {
			if c.Type == "Disabled" {
				t.Errorf("the ClusterOperator claims a decision: %+v", c)
			}
		}
	}
	if ready := findCondition(e.configStatus().Conditions, "Ready"); ready != nil {
		t.Errorf("the config status claims a decision: %+v", ready)
	}

	// The Infrastructure appears: the operator takes the DaemonSet over.
	e.setInfrastructure(bareMetal())
	e.eventually("the DaemonSet to be updated to the operator's", func() error {
		got, err := e.daemonSet()
		if err != nil {
			return err
		}
		if got.Spec.Template.Spec.Containers[0].Image != testImage {
			return errorf("image %q", got.Spec.Template.Spec.Containers[0].Image)
		}
		return nil
	})
	e.eventually("the sync error to clear", e.operatorConditionIs("DaemonSetControllerDegraded", "False"))
}

func uidOf(ds *appsv1.DaemonSet) any {
	if ds == nil {
		return nil
	}
	return ds.UID
}

func generationOf(ds *appsv1.DaemonSet) any {
	if ds == nil {
		return nil
	}
	return ds.Generation
}

// TestSingletonsNotThereYet starts the operator before the CVO has created
// the operator and config singletons: it must wait for them without
// crashing, and converge once they exist.
func TestSingletonsNotThereYet(t *testing.T) {
	e := newEnv(t, withoutOperatorResource())
	e.setInfrastructure(bareMetal())
	op := e.startOperator()

	time.Sleep(3 * time.Second)
	if err := op.exitedEarly(); err != nil {
		t.Fatal(err)
	}
	if err := daemonSetGone(e)(); err != nil {
		t.Fatalf("deployed without the singletons: %v", err)
	}

	e.createOperatorResource()
	e.setConfig(defaultDeployment)
	e.rollOutOnceCreated()
	e.eventually("the ClusterOperator", e.clusterOperatorIs(
		conditions("Available", "True", "Progressing", "False", "Degraded", "False", "Disabled", "False").withVersion(releaseV1)))
}
