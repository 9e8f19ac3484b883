package localcluster

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

const (
	// CertManagerNamespace is where cert-manager runs, and where the
	// Secrets of ClusterIssuers live (its --cluster-resource-namespace,
	// which the Helm chart sets to its own namespace).
	CertManagerNamespace = "cert-manager"
	certManagerAccount   = "cert-manager"
	// solverImageRepository is cert-manager's default solver image, which
	// its controller tags with its own version.
	solverImageRepository = "quay.io/jetstack/cert-manager-acmesolver"
	// SolverPodLabel marks cert-manager's HTTP-01 solver pods.
	SolverPodLabel = "acme.cert-manager.io/http01-solver"
	// certManagerStartedLog is what the controller logs once its
	// controllers run.
	certManagerStartedLog = "started cert-manager's default controllers"
)

//go:embed certmanager-rbac.yaml
var certManagerRBAC []byte

func certManagerUser() (string, []string) {
	return "system:serviceaccount:" + CertManagerNamespace + ":" + certManagerAccount,
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + CertManagerNamespace}
}

// CertManagerVersion is the cert-manager version that hack/tools/certmanager
// pins, read from its go.mod.
func CertManagerVersion(repoRoot string) (string, error) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "hack", "tools", "certmanager", "go.mod"))
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?github\.com/cert-manager/cert-manager (v\S+)`).FindSubmatch(data)
	if m == nil {
		return "", errors.New("hack/tools/certmanager/go.mod requires no github.com/cert-manager/cert-manager")
	}
	return string(m[1]), nil
}

// SolverImage is the solver image that cert-manager version puts in its
// solver pods by default.
func SolverImage(version string) string { return solverImageRepository + ":" + version }

// certManager installs cert-manager as its Helm chart would, less the
// webhook and cainjector (see docs/demo.md), and starts its controller in
// the first worker's network namespace with its ServiceAccount's identity.
func (b *bringUp) certManager() error {
	worker, ok := b.s.Topology.CertManagerWorker()
	if !ok {
		return errors.New("cert-manager runs on a worker: start the cluster with at least one")
	}
	b.progress.step("Installing cert-manager %s (the CRDs of its deploy/crds, its chart's RBAC) and the IngressClass %s", b.s.CertManagerVersion, IngressClass)
	if err := installCertManagerAPIs(b.ctx, b.admin, b.s.RepoRoot); err != nil {
		return err
	}

	b.progress.step("Starting cert-manager's controller on %s, as its ServiceAccount, with the cluster's DNS for its self-check", worker.Name)
	apiAddress := net.JoinHostPort(loopback, strconv.Itoa(b.s.Ports["kube-apiserver"]))
	// The worker's API forwarder is its kubelet's (see startContainerd).
	if err := waitReady(b.ctx, "the API forwarder of "+worker.Name, ProcessRecord{}, time.Minute, tcpCheck(&netns.Namespace{Name: worker.Netns}, apiAddress)); err != nil {
		return err
	}
	controller, err := b.start(processSpec{
		name:  "cert-manager",
		netns: worker.Netns,
		path:  b.tools["cert-manager-controller"],
		args: []string{
			"--kubeconfig=" + b.creds.kubeconfig["cert-manager"],
			"--cluster-resource-namespace=" + CertManagerNamespace,
			// The names of the cluster resolve in the cluster's DNS,
			// which here is the CA's: the API host to the API VIP.
			"--acme-http01-solver-nameservers=" + b.s.Pebble.DNSServer,
			"-v=2",
		},
	})
	if err != nil {
		return err
	}
	return waitReady(b.ctx, "cert-manager's controller", controller, time.Minute, logCheck(b.s.path(logDir, "cert-manager.log"), certManagerStartedLog))
}

// logCheck succeeds once the log file holds text.
func logCheck(path, text string) readinessCheck {
	return func(context.Context) error {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.Contains(data, []byte(text)) {
			return fmt.Errorf("%s does not say %q yet", path, text)
		}
		return nil
	}
}

// installCertManagerAPIs installs the CRDs, the namespaces, the
// ServiceAccount and RBAC of cert-manager's controller, and the IngressClass
// of the default router.
func installCertManagerAPIs(ctx context.Context, admin *rest.Config, repoRoot string) error {
	crds, err := filepath.Glob(filepath.Join(repoRoot, "_output", "crds", "cert-manager", "*.yaml"))
	if err != nil {
		return err
	}
	if len(crds) == 0 {
		return errors.New("no cert-manager CRDs in _output/crds/cert-manager: run hack/build-tools.sh crds")
	}
	if err := apiserver.InstallCRDsFromFiles(ctx, admin, crds...); err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return err
	}
	for _, ns := range []string{CertManagerNamespace, openShiftConfigNamespace} {
		if err := ignoreExists(kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})); err != nil {
			return err
		}
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: CertManagerNamespace, Name: certManagerAccount}}
	if err := ignoreExists(kube.CoreV1().ServiceAccounts(CertManagerNamespace).Create(ctx, sa, metav1.CreateOptions{})); err != nil {
		return err
	}
	if err := createRBAC(ctx, kube, certManagerRBAC); err != nil {
		return err
	}
	class := &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: IngressClass},
		Spec:       networkingv1.IngressClassSpec{Controller: ingressToRouteController},
	}
	return ignoreExists(kube.NetworkingV1().IngressClasses().Create(ctx, class, metav1.CreateOptions{}))
}

const (
	openShiftConfigNamespace = "openshift-config"
	// ingressToRouteController is the controller OpenShift's ingress
	// operator names in the IngressClass of each IngressController.
	ingressToRouteController = "openshift.io/ingress-to-route"
)

// createRBAC creates the ClusterRoles and ClusterRoleBindings of a YAML
// stream.
func createRBAC(ctx context.Context, kube kubernetes.Interface, stream []byte) error {
	decoder := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	for {
		doc, err := decoder.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return err
		}
		switch meta.Kind {
		case "ClusterRole":
			var role rbacv1.ClusterRole
			if err := yaml.UnmarshalStrict(doc, &role); err != nil {
				return err
			}
			err = ignoreExists(kube.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}))
		case "ClusterRoleBinding":
			var binding rbacv1.ClusterRoleBinding
			if err := yaml.UnmarshalStrict(doc, &binding); err != nil {
				return err
			}
			err = ignoreExists(kube.RbacV1().ClusterRoleBindings().Create(ctx, &binding, metav1.CreateOptions{}))
		case "":
			continue
		default:
			err = fmt.Errorf("unexpected %s in cert-manager's RBAC", meta.Kind)
		}
		if err != nil {
			return err
		}
	}
}

// ignoreExists drops the object of a Create and its AlreadyExists error.
func ignoreExists[T any](_ T, err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// ForwardAPIServer forwards kube-apiserver's loopback port into the
// namespace until ctx is done, so that cert-manager's controller there
// reaches the API at the address of its kubeconfig, as a pod reaches the
// API through its Service.
func ForwardAPIServer(ctx context.Context, s *State, netnsName string) error {
	stop, err := forwardIntoNamespace(&netns.Namespace{Name: netnsName}, net.JoinHostPort(loopback, strconv.Itoa(s.Ports["kube-apiserver"])))
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop()
	return nil
}
