package localcluster

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
)

func TestServiceCA(t *testing.T) {
	ca, err := apiserver.NewCertificateAuthority("test-service-ca")
	if err != nil {
		t.Fatal(err)
	}
	client := fake.NewClientset()
	c := &ServiceCA{Client: client, CA: ca}
	ctx := context.Background()
	service := func(uid types.UID) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{
			Name: "metrics", Namespace: "ns", UID: uid,
			Annotations: map[string]string{servingCertAnnotation: "metrics-cert"},
		}}
	}

	if err := c.sync(ctx, service("uid-1")); err != nil {
		t.Fatal(err)
	}
	secret, err := client.CoreV1().Secrets("ns").Get(ctx, "metrics-cert", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(secret.OwnerReferences) != 1 || secret.OwnerReferences[0].UID != "uid-1" {
		t.Errorf("the Secret is not owned by its Service: %v", secret.OwnerReferences)
	}
	verifyServing(t, ca, secret.Data[corev1.TLSCertKey], "metrics.ns.svc")

	// Synced again: the same Secret.
	if err := c.sync(ctx, service("uid-1")); err != nil {
		t.Fatal(err)
	}
	again, _ := client.CoreV1().Secrets("ns").Get(ctx, "metrics-cert", metav1.GetOptions{})
	if string(again.Data[corev1.TLSCertKey]) != string(secret.Data[corev1.TLSCertKey]) {
		t.Error("the certificate was reissued without a reason")
	}

	// A new Service of the same name gets its own certificate.
	if err := c.sync(ctx, service("uid-2")); err != nil {
		t.Fatal(err)
	}
	replaced, _ := client.CoreV1().Secrets("ns").Get(ctx, "metrics-cert", metav1.GetOptions{})
	if replaced.Annotations[originatingServiceUIDAnnotation] != "uid-2" || replaced.OwnerReferences[0].UID != "uid-2" {
		t.Errorf("the Secret still belongs to the deleted Service: %v", replaced.ObjectMeta)
	}

	plain := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: "ns", UID: "uid-3"}}
	if err := c.sync(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if secrets, _ := client.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{}); len(secrets.Items) != 1 {
		t.Errorf("a Service without the annotation got a certificate: %d secrets", len(secrets.Items))
	}
}

func verifyServing(t *testing.T, ca *apiserver.CertificateAuthority, certPEM []byte, host string) {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("no certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM())
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("the certificate is not a serving certificate for %s from the service CA: %v", host, err)
	}
}
