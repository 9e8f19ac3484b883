package apiserver

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"testing"
)

// TestCertificateAuthorityRoundTrip checks that a CA saved with CertPEM
// and KeyPEM issues, once loaded, certificates that verify against it.
func TestCertificateAuthorityRoundTrip(t *testing.T) {
	ca, err := NewCertificateAuthority("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadCertificateAuthority(ca.CertPEM(), keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _, err := loaded.IssueServing("svc", []string{"svc.ns.svc"}, []net.IP{net.ParseIP("192.0.2.1")})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM())
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "svc.ns.svc"}); err != nil {
		t.Errorf("a certificate of the loaded CA does not verify against the original: %v", err)
	}
	if _, err := LoadCertificateAuthority(ca.CertPEM(), ca.CertPEM()); err == nil {
		t.Error("a certificate was accepted as a key")
	}
}
