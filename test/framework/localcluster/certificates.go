package localcluster

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/apihostclaim"
)

// The cert-manager resources the local cluster reads and writes, through
// the dynamic client: cert-manager's Go types need a newer Kubernetes than
// the operator's module.
var (
	ClusterIssuerResource = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "clusterissuers"}
	CertificateResource   = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "certificates"}
	ChallengeResource     = schema.GroupVersionResource{Group: "acme.cert-manager.io", Version: "v1", Resource: "challenges"}
)

// readmeCertificateName is the name of the README's Certificate, which
// the README's step 4 serves from the API server.
const readmeCertificateName = "api-cert"

// CertManagerClient drives cert-manager as an admin of the local cluster
// does, with the README's ClusterIssuer and Certificate.
type CertManagerClient struct {
	// s is the local cluster, nil on a real one.
	s        *State
	repoRoot string
	// IssuerName, if set, replaces the README's ClusterIssuer in the
	// Certificates this client makes: a real cluster's own.
	IssuerName string
	dynamic    dynamic.Interface
	kube       kubernetes.Interface
}

// NewCertManagerClient returns a client of the local cluster with its admin
// kubeconfig.
func NewCertManagerClient(s *State) (*CertManagerClient, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		return nil, err
	}
	c, err := NewCertManagerClientFor(cfg, s.RepoRoot)
	if err != nil {
		return nil, err
	}
	c.s = s
	return c, nil
}

// NewCertManagerClientFor returns a client of any cluster, with the README
// of the checkout at repoRoot.
func NewCertManagerClientFor(cfg *rest.Config, repoRoot string) (*CertManagerClient, error) {
	d, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	k, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &CertManagerClient{repoRoot: repoRoot, dynamic: d, kube: k}, nil
}

// ApplyClusterIssuer creates the README's ClusterIssuer, or updates it, with
// its ACME server pointed at Pebble and Pebble's HTTPS CA trusted.
func (c *CertManagerClient) ApplyClusterIssuer(ctx context.Context) error {
	if c.s == nil {
		return errors.New("only the local cluster has Pebble")
	}
	issuer, _, err := ReadmeJourney(c.repoRoot)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(c.s.Pebble.TLSCAFile)
	if err != nil {
		return err
	}
	if err := unstructured.SetNestedField(issuer.Object, c.s.Pebble.DirectoryURL, "spec", "acme", "server"); err != nil {
		return err
	}
	if err := unstructured.SetNestedField(issuer.Object, base64.StdEncoding.EncodeToString(ca), "spec", "acme", "caBundle"); err != nil {
		return err
	}
	return c.apply(ctx, c.dynamic.Resource(ClusterIssuerResource), issuer)
}

// apply creates obj, or replaces the spec of the object of its name.
func (c *CertManagerClient) apply(ctx context.Context, resource dynamic.ResourceInterface, obj *unstructured.Unstructured) error {
	existing, err := resource.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = resource.Create(ctx, obj, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	existing.Object["spec"] = obj.Object["spec"]
	_, err = resource.Update(ctx, existing, metav1.UpdateOptions{})
	return err
}

// Issued is what a Ready Certificate holds.
type Issued struct {
	Revision   int64
	Conditions []string
	ChainPEM   []byte
	KeyPEM     []byte
}

// Issue makes the README's Certificate, named name in namespace and for
// domain, and waits until cert-manager has issued a new revision: a new
// Certificate is issued, an existing one renewed as `cmctl renew` does.
func (c *CertManagerClient) Issue(ctx context.Context, namespace, name, domain string) (*Issued, error) {
	_, cert, err := ReadmeJourney(c.repoRoot)
	if err != nil {
		return nil, err
	}
	if c.IssuerName != "" {
		if err := unstructured.SetNestedField(cert.Object, c.IssuerName, "spec", "issuerRef", "name"); err != nil {
			return nil, err
		}
	}
	cert.SetNamespace(namespace)
	cert.SetName(name)
	if err := unstructured.SetNestedField(cert.Object, name, "spec", "secretName"); err != nil {
		return nil, err
	}
	if err := unstructured.SetNestedStringSlice(cert.Object, []string{domain}, "spec", "dnsNames"); err != nil {
		return nil, err
	}
	certificates := c.dynamic.Resource(CertificateResource).Namespace(namespace)
	before, err := c.Revision(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	if err := c.apply(ctx, certificates, cert); err != nil {
		return nil, err
	}
	if before > 0 {
		if err := c.Renew(ctx, namespace, name); err != nil {
			return nil, err
		}
	}
	return c.WaitIssued(ctx, namespace, name, before)
}

// Revision is the Certificate's status.revision, 0 when it has none.
func (c *CertManagerClient) Revision(ctx context.Context, namespace, name string) (int64, error) {
	cert, err := c.dynamic.Resource(CertificateResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	rev, _, _ := unstructured.NestedInt64(cert.Object, "status", "revision")
	return rev, nil
}

// Renew asks cert-manager to issue the Certificate again now, as `cmctl
// renew` does: with the Issuing condition, reason ManuallyTriggered.
func (c *CertManagerClient) Renew(ctx context.Context, namespace, name string) error {
	certificates := c.dynamic.Resource(CertificateResource).Namespace(namespace)
	cert, err := certificates.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	conditions, _, _ := unstructured.NestedSlice(cert.Object, "status", "conditions")
	// One Issuing condition at most: a renewal already under way is
	// triggered again, not twice.
	conditions = slices.DeleteFunc(conditions, func(c any) bool {
		m, ok := c.(map[string]any)
		return ok && m["type"] == "Issuing"
	})
	conditions = append(conditions, map[string]any{
		"type": "Issuing", "status": "True", "reason": "ManuallyTriggered",
		"message":            "Certificate re-issuance manually triggered",
		"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
	})
	if err := unstructured.SetNestedSlice(cert.Object, conditions, "status", "conditions"); err != nil {
		return err
	}
	_, err = certificates.UpdateStatus(ctx, cert, metav1.UpdateOptions{})
	return err
}

// WaitIssued waits until the Certificate is Ready at a revision above
// before and returns its Secret's certificate and key. A failed issuance
// ends the wait with the Certificate's and its Challenges' reasons.
func (c *CertManagerClient) WaitIssued(ctx context.Context, namespace, name string, before int64) (*Issued, error) {
	certificates := c.dynamic.Resource(CertificateResource).Namespace(namespace)
	var last error
	var issued *Issued
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		cert, err := certificates.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err
			return false, nil
		}
		rev, _, _ := unstructured.NestedInt64(cert.Object, "status", "revision")
		ready := conditionOf(cert, "Ready")
		if rev <= before || ready["status"] != "True" {
			last = fmt.Errorf("Certificate %s/%s is at revision %d, Ready=%v (%v: %v)%s", namespace, name, rev,
				ready["status"], ready["reason"], ready["message"], c.describeChallenges(ctx, namespace))
			return false, nil
		}
		secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
		secret, err := c.kube.CoreV1().Secrets(namespace).Get(ctx, secretName, metav1.GetOptions{})
		if err != nil {
			last = err
			return false, nil
		}
		issued = &Issued{Revision: rev, Conditions: conditionLines(cert), ChainPEM: secret.Data[corev1.TLSCertKey], KeyPEM: secret.Data[corev1.TLSPrivateKeyKey]}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for cert-manager to issue %s/%s: %w", namespace, name, errors.Join(err, last))
	}
	return issued, nil
}

// describeChallenges lists the namespace's Challenges with their state and
// reason, for error messages.
func (c *CertManagerClient) describeChallenges(ctx context.Context, namespace string) string {
	list, err := c.dynamic.Resource(ChallengeResource).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) == 0 {
		return ""
	}
	var b strings.Builder
	for _, ch := range list.Items {
		state, _, _ := unstructured.NestedString(ch.Object, "status", "state")
		reason, _, _ := unstructured.NestedString(ch.Object, "status", "reason")
		fmt.Fprintf(&b, "; Challenge %s: state %q, %s", ch.GetName(), state, reason)
	}
	return b.String()
}

func conditionOf(obj *unstructured.Unstructured, condType string) map[string]any {
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conditions {
		if m, ok := c.(map[string]any); ok && m["type"] == condType {
			return m
		}
	}
	return map[string]any{}
}

// conditionLines renders the conditions as `Type=Status (Reason): Message`.
func conditionLines(obj *unstructured.Unstructured) []string {
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	var out []string
	for _, c := range conditions {
		if m, ok := c.(map[string]any); ok {
			out = append(out, fmt.Sprintf("%v=%v (%v): %v", m["type"], m["status"], m["reason"], m["message"]))
		}
	}
	return out
}

// ReadmeJourney returns the ClusterIssuer and the Certificate of the
// README's journey, as an admin would copy them.
func ReadmeJourney(repoRoot string) (issuer, cert *unstructured.Unstructured, err error) {
	f, err := os.Open(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	blocks, err := yamlBlocks(bufio.NewScanner(f))
	if err != nil {
		return nil, nil, err
	}
	for _, block := range blocks {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(block), &obj.Object); err != nil || obj.Object == nil {
			continue
		}
		switch {
		case obj.GetKind() == "ClusterIssuer" && issuer == nil:
			issuer = obj
		case obj.GetKind() == "Certificate" && cert == nil:
			cert = obj
		}
	}
	if issuer == nil || cert == nil {
		return nil, nil, errors.New("README.md has no yaml block with a ClusterIssuer and one with a Certificate")
	}
	return issuer, cert, nil
}

// yamlBlocks returns the contents of the ```yaml fences of a Markdown
// file, each dedented by its fence's indentation.
func yamlBlocks(sc *bufio.Scanner) ([]string, error) {
	var blocks []string
	var current *strings.Builder
	indent := ""
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case current == nil && trimmed == "```yaml":
			current, indent = &strings.Builder{}, line[:len(line)-len(trimmed)]
		case current != nil && trimmed == "```":
			blocks = append(blocks, current.String())
			current = nil
		case current != nil:
			current.WriteString(strings.TrimPrefix(line, indent) + "\n")
		}
	}
	return blocks, sc.Err()
}

// RouteResource is OpenShift's Route.
var RouteResource = schema.GroupVersionResource{Group: "route.openshift.io", Version: "v1", Resource: "routes"}

// DescribeClaim says who the router gives the API host to, from the
// operator's claim Route.
func (c *CertManagerClient) DescribeClaim(ctx context.Context) string {
	route, err := c.dynamic.Resource(RouteResource).Namespace(apihostclaim.Namespace).Get(ctx, apihostclaim.RouteName, metav1.GetOptions{})
	if err != nil {
		return "(no claim Route: " + err.Error() + ")"
	}
	host, _, _ := unstructured.NestedString(route.Object, "spec", "host")
	ingresses, _, _ := unstructured.NestedSlice(route.Object, "status", "ingress")
	for _, i := range ingresses {
		ingress, _ := i.(map[string]any)
		if ingress["routerName"] != RouterName {
			continue
		}
		conditions, _, _ := unstructured.NestedSlice(ingress, "conditions")
		for _, cond := range conditions {
			m, _ := cond.(map[string]any)
			if m["type"] != "Admitted" {
				continue
			}
			if m["status"] == "True" {
				return fmt.Sprintf("router: %s is claimed by %s (Route %s/%s, Admitted=True): no other namespace can route it", host, apihostclaim.Namespace, apihostclaim.Namespace, apihostclaim.RouteName)
			}
			return fmt.Sprintf("router: the claim on %s is refused (%v): %v", host, m["reason"], m["message"])
		}
	}
	return fmt.Sprintf("router: has not answered the claim on %s yet", host)
}
