//go:build integration

package operator

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/openshift/library-go/pkg/operator/resource/resourceread"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

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

// TestOperatorProcessAsItsServiceAccount runs the operator binary as its
// Deployment runs it, with a token of its ServiceAccount, only the RBAC of
// manifests/, and POD_NAME naming its pod: every request of the whole
// process is authorized as on a cluster. Leader election, events
// attributed to the Deployment, the controllers, and the delegated
// authentication (client certificates and TokenReview) and authorization
// (SubjectAccessReview) of its metrics endpoint each need their rule.
func TestOperatorProcessAsItsServiceAccount(t *testing.T) {
	e := newEnv(t)
	e.applyRBACManifest(rbacManifest)
	e.grantMetricsReader("prometheus-k8s")
	pod := e.createOperatorPod()
	e.setInfrastructure(bareMetal())
	e.setConfig(defaultDeployment)
	kubeconfig := e.serviceAccountKubeconfig(names.OperatorNamespace, names.OperatorServiceAccount)
	op := e.startOperatorProcess(processKubeconfig(kubeconfig), processEnv("POD_NAME="+pod))

	e.eventually("a lease held by the operator", func() error {
		if err := op.exited(); err != nil {
			return err
		}
		leases, err := e.kube.CoordinationV1().Leases(names.OperatorNamespace).List(e.ctx(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, l := range leases.Items {
			if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
				return nil
			}
		}
		return fmt.Errorf("no held lease in %s: %+v", names.OperatorNamespace, leases.Items)
	})
	e.eventually("the DaemonSet", func() error { _, err := e.daemonSet(); return err })
	e.eventually("the operand's RBAC", e.operandResourcesAre(true))
	e.rollOut(3, 3, 3)
	e.eventually("the ClusterOperator", e.clusterOperatorIs(
		conditions("Available", "True", "Progressing", "False", "Degraded", "False", "Disabled", "False/AsExpected").withVersion(releaseV1)))

	e.eventually("events about the operator's Deployment", func() error {
		events, err := e.kube.CoreV1().Events(names.OperatorNamespace).List(e.ctx(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, ev := range events.Items {
			if ev.InvolvedObject.Kind == "Deployment" && ev.InvolvedObject.Name == names.OperatorName && ev.Reason == "DaemonSetCreated" {
				return nil
			}
		}
		return fmt.Errorf("no DaemonSetCreated event on deployment/%s among %d events", names.OperatorName, len(events.Items))
	})

	prometheusCert := e.clientCertificate(prometheusUser, "system:serviceaccounts", "system:serviceaccounts:openshift-monitoring")
	prometheusToken := e.serviceAccountToken("openshift-monitoring", "prometheus-k8s")
	e.eventually("Prometheus to read the metrics with its certificate and with its token", func() error {
		if status, body, err := op.scrape(&prometheusCert); err != nil || status != http.StatusOK {
			return fmt.Errorf("certificate: %d %.200q %v", status, body, err)
		}
		if status, body, err := op.scrapeWithToken(prometheusToken); err != nil || status != http.StatusOK {
			return fmt.Errorf("token: %d %.200q %v", status, body, err)
		}
		return nil
	})

	if line := op.logLine("forbidden"); line != "" {
		t.Errorf("the operator was refused a request: %s", line)
	}
}

// TestOperatorMayUseTheSCCOnlyInTheOperandNamespace asks the API server
// whether the operator's ServiceAccount may use the operand's SCC: it needs
// to, to create the Role that grants it to the proxy's pods, but only in the
// operand namespace, where those pods run.
func TestOperatorMayUseTheSCCOnlyInTheOperandNamespace(t *testing.T) {
	e := newEnv(t)
	e.applyRBACManifest(rbacManifest)
	user := "system:serviceaccount:" + names.OperatorNamespace + ":" + names.OperatorServiceAccount
	for namespace, want := range map[string]bool{
		names.OperandNamespace:  true,
		names.OperatorNamespace: false,
		"default":               false,
		"":                      false, // cluster-wide
	} {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   user,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + names.OperatorNamespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: namespace, Verb: "use", Group: "security.openshift.io",
				Resource: "securitycontextconstraints", Name: names.SecurityContextConstraints,
			},
		}}
		got, err := e.kube.AuthorizationV1().SubjectAccessReviews().Create(e.ctx(), review, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Allowed != want {
			t.Errorf("use of SCC %s in namespace %q: allowed %v, want %v (%s)", names.SecurityContextConstraints, namespace, got.Status.Allowed, want, got.Status.Reason)
		}
	}
}

// createOperatorPod creates the operator's Deployment, a ReplicaSet it
// controls and a Pod of that ReplicaSet, as the controller-manager would,
// and returns the Pod's name. library-go follows these owner references from
// POD_NAME to the Deployment that its events are about.
func (e *env) createOperatorPod() string {
	e.t.Helper()
	labels := map[string]string{"app": names.OperatorName}
	deployment := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: names.OperatorName, Namespace: names.OperatorNamespace},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: names.OperatorServiceAccount,
					Containers:         []corev1.Container{{Name: "operator", Image: testImage}},
				},
			},
		},
	}
	deployment, err := e.kube.AppsV1().Deployments(names.OperatorNamespace).Create(e.ctx(), deployment, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: names.OperatorName + "-5d4f8", Namespace: names.OperatorNamespace, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(deployment, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
		Spec: appsv1.ReplicaSetSpec{Selector: deployment.Spec.Selector, Template: deployment.Spec.Template},
	}
	rs, err = e.kube.AppsV1().ReplicaSets(names.OperatorNamespace).Create(e.ctx(), rs, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: rs.Name + "-x2k9q", Namespace: names.OperatorNamespace, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))}},
		Spec: deployment.Spec.Template.Spec,
	}
	if _, err := e.kube.CoreV1().Pods(names.OperatorNamespace).Create(e.ctx(), pod, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
	return pod.Name
}

// serviceAccountToken returns a token of ServiceAccount namespace/name,
// creating both if needed, as the kubelet projects one into a pod.
func (e *env) serviceAccountToken(namespace, name string) string {
	e.t.Helper()
	_, err := e.kube.CoreV1().Namespaces().Create(e.ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		e.t.Fatal(err)
	}
	_, err = e.kube.CoreV1().ServiceAccounts(namespace).Create(e.ctx(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		e.t.Fatal(err)
	}
	token, err := e.kube.CoreV1().ServiceAccounts(namespace).CreateToken(e.ctx(), name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return token.Status.Token
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates with a
// token of ServiceAccount namespace/name, which must exist.
func (e *env) serviceAccountKubeconfig(namespace, name string) string {
	e.t.Helper()
	admin := e.srv.RESTConfig()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: admin.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: e.serviceAccountToken(namespace, name)}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: name, Namespace: namespace}
	kc.CurrentContext = "test"
	path := filepath.Join(e.t.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		e.t.Fatal(err)
	}
	return path
}
