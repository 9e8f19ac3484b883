//go:build integration

package operator

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/openshift/library-go/pkg/operator/resource/resourceread"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// rbacManifest is the CVO manifest with the operator's ServiceAccount and
// its (Cluster)Roles and bindings.
const rbacManifest = "../../../manifests/0000_50_http01-challenge-proxy_03_rbac.yaml"

// TestManifestRBACIsEnough runs the operator as its ServiceAccount, with
// only the RBAC that manifests/ grants it, through an enable and a disable.
// kube-apiserver authorizes with RBAC, including the escalation check on the
// SCC Role the operator creates.
func TestManifestRBACIsEnough(t *testing.T) {
	e := newEnv(t)
	e.applyRBACManifest(rbacManifest)
	user := "system:serviceaccount:" + names.OperatorNamespace + ":" + names.OperatorServiceAccount
	cfg, err := e.srv.UserConfig(user, "system:serviceaccounts", "system:serviceaccounts:"+names.OperatorNamespace)
	if err != nil {
		t.Fatal(err)
	}

	e.setInfrastructure(bareMetal())
	e.setConfig(defaultDeployment)
	e.startOperator(asUser(cfg))

	e.eventually("the DaemonSet", func() error { _, err := e.daemonSet(); return err })
	e.eventually("the operand's RBAC", e.operandResourcesAre(true))
	e.rollOut(3, 3, 3)
	e.eventually("the ClusterOperator", e.clusterOperatorIs(
		conditions("Available", "True", "Progressing", "False", "Degraded", "False", "Disabled", "False/AsExpected").withVersion(releaseV1)))
	e.eventually("the config status", func() error {
		if ready := findCondition(e.configStatus().Conditions, "Ready"); ready == nil || ready.Status != metav1.ConditionTrue {
			return fmt.Errorf("Ready = %+v", ready)
		}
		return nil
	})

	e.setConfig(disabledSpec)
	e.eventually("the DaemonSet to be deleted", daemonSetGone(e))
	e.eventually("the operand's RBAC to be deleted", e.operandResourcesAre(false))
	e.eventually("the ClusterOperator", e.clusterOperatorIs(conditions("Disabled", "True/"+gate.ReasonDisabledByConfiguration, "Available", "True")))
}

// applyRBACManifest creates the ServiceAccounts, (Cluster)Roles and
// (Cluster)RoleBindings of a manifest file as the admin.
func (e *env) applyRBACManifest(path string) {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		e.t.Fatalf("reading %s: %v", path, err)
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			e.t.Fatalf("%s: %v", path, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, err := resourceread.ReadGenericWithUnstructured(doc)
		if err != nil {
			e.t.Fatalf("%s: %v", path, err)
		}
		switch o := obj.(type) {
		case *corev1.ServiceAccount:
			_, err = e.kube.CoreV1().ServiceAccounts(o.Namespace).Create(e.ctx(), o, metav1.CreateOptions{})
		case *rbacv1.ClusterRole:
			_, err = e.kube.RbacV1().ClusterRoles().Create(e.ctx(), o, metav1.CreateOptions{})
		case *rbacv1.ClusterRoleBinding:
			_, err = e.kube.RbacV1().ClusterRoleBindings().Create(e.ctx(), o, metav1.CreateOptions{})
		case *rbacv1.Role:
			_, err = e.kube.RbacV1().Roles(o.Namespace).Create(e.ctx(), o, metav1.CreateOptions{})
		case *rbacv1.RoleBinding:
			_, err = e.kube.RbacV1().RoleBindings(o.Namespace).Create(e.ctx(), o, metav1.CreateOptions{})
		default:
			e.t.Fatalf("%s: unexpected %T", path, obj)
		}
		if err != nil {
			e.t.Fatalf("%s: creating %T: %v", path, obj, err)
		}
	}
}
