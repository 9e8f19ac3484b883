package apiserver

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestMergeArgs(t *testing.T) {
	got := mergeArgs(
		[]string{"--a=1", "--b=2", "--c"},
		[]string{"--b=3", "--d=4", "-c=false", "positional"},
	)
	want := []string{"--a=1", "--b=3", "--d=4", "-c=false", "positional"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mergeArgs = %q, want %q", got, want)
	}
}

func TestReadCRDsSkipsOtherKinds(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "multi.yaml")
	content := `---
apiVersion: v1
kind: Namespace
metadata:
  name: foo
---
# only a comment
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names:
    kind: Widget
    plural: widgets
  scope: Cluster
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
`
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	crds, err := ReadCRDs(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(crds) != 1 || crds[0].Name != "widgets.example.com" || crds[0].Spec.Names.Kind != "Widget" {
		t.Fatalf("ReadCRDs = %+v, want the one Widget CRD", crds)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\nmetadata:\n  name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCRDs(bad); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("ReadCRDs(v1beta1 CRD) error = %v, want one naming the file", err)
	}
}

func TestYAMLFilesMissingDir(t *testing.T) {
	files, err := yamlFiles(filepath.Join(t.TempDir(), "nope"))
	if err != nil || len(files) != 0 {
		t.Errorf("yamlFiles(missing) = %v, %v; want nothing, no error", files, err)
	}
}

func TestRepoRootAndManifests(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if modulePath(data) != RootModule {
		t.Errorf("RepoRoot %s holds module %q, want %q", root, modulePath(data), RootModule)
	}
	if _, err := ManifestFiles(); err != nil {
		t.Errorf("ManifestFiles: %v", err)
	}
}

func TestMissingToolsNameTheScript(t *testing.T) {
	o := defaultOptions()
	o.toolsBin = t.TempDir()
	_, err := start(t, o)
	if err == nil {
		t.Fatal("start with an empty tools directory succeeded")
	}
	if !strings.Contains(err.Error(), "hack/build-tools.sh etcd") {
		t.Errorf("error %q does not name hack/build-tools.sh etcd", err)
	}
}

func TestCertificates(t *testing.T) {
	servingCA, err := newCertAuthority("serving")
	if err != nil {
		t.Fatal(err)
	}
	clientCA, err := newCertAuthority("client")
	if err != nil {
		t.Fatal(err)
	}
	serving, err := servingCA.issueServing("kube-apiserver", []string{"localhost"}, []net.IP{firstServiceIP()})
	if err != nil {
		t.Fatal(err)
	}
	client, err := clientCA.issueClient("alice", []string{"team-a", "team-b"})
	if err != nil {
		t.Fatal(err)
	}
	for name, kp := range map[string]*keyPair{"serving": serving, "client": client} {
		if _, err := tls.X509KeyPair(kp.certPEM, kp.keyPEM); err != nil {
			t.Errorf("%s key pair: %v", name, err)
		}
	}

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(clientCA.certPEM)
	leaf := parseCert(t, client.certPEM)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify against its CA: %v", err)
	}
	if leaf.Subject.CommonName != "alice" || !reflect.DeepEqual(leaf.Subject.Organization, []string{"team-a", "team-b"}) {
		t.Errorf("client subject = %v", leaf.Subject)
	}

	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(servingCA.certPEM)
	leaf = parseCert(t, serving.certPEM)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "192.0.2.129"}); err != nil {
		t.Errorf("serving certificate does not verify for the first service IP: %v", err)
	}

	if priv, pub, err := newServiceAccountKey(); err != nil || len(priv) == 0 || len(pub) == 0 {
		t.Errorf("newServiceAccountKey: %v", err)
	}
}

func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
