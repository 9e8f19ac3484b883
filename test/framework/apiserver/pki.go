package apiserver

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"time"

	"k8s.io/client-go/rest"
)

// The exported PKI below lets harnesses that run outside a test (the local
// cluster of hack/local-cluster) mint their credentials with the same code
// as Start does. Nothing here needs a testing.TB.

// CertificateValidity is how long every certificate of this package is valid.
const CertificateValidity = certValidity

// CertificateAuthority is a throwaway self-signed CA that issues serving and
// client certificates. Its key lives only in memory.
type CertificateAuthority struct {
	ca *certAuthority
}

// NewCertificateAuthority creates a CA with the given common name.
func NewCertificateAuthority(commonName string) (*CertificateAuthority, error) {
	ca, err := newCertAuthority(commonName)
	if err != nil {
		return nil, err
	}
	return &CertificateAuthority{ca: ca}, nil
}

// CertPEM returns the CA certificate, PEM-encoded.
func (c *CertificateAuthority) CertPEM() []byte {
	return append([]byte(nil), c.ca.certPEM...)
}

// IssueServing issues a TLS serving certificate for the given DNS names and
// IP addresses and returns it and its private key, PEM-encoded.
func (c *CertificateAuthority) IssueServing(commonName string, dnsNames []string, ips []net.IP) (certPEM, keyPEM []byte, err error) {
	kp, err := c.ca.issueServing(commonName, dnsNames, ips)
	if err != nil {
		return nil, nil, err
	}
	return kp.certPEM, kp.keyPEM, nil
}

// IssueClient issues a client certificate that kube-apiserver maps to user
// in groups, and returns it and its private key, PEM-encoded.
func (c *CertificateAuthority) IssueClient(user string, groups []string) (certPEM, keyPEM []byte, err error) {
	kp, err := c.ca.issueClient(user, groups)
	if err != nil {
		return nil, nil, err
	}
	return kp.certPEM, kp.keyPEM, nil
}

// NewServiceAccountKey generates the RSA key pair kube-apiserver signs
// service account tokens with, PEM-encoded.
func NewServiceAccountKey() (privPEM, pubPEM []byte, err error) {
	return newServiceAccountKey()
}

// WriteKubeconfigFile writes a kubeconfig for cfg (host, CA and client
// certificate) whose user is named user.
func WriteKubeconfigFile(path string, cfg *rest.Config, user string) error {
	return writeKubeconfig(path, cfg, user)
}

// CertificateExpiry is when certificates issued now stop being valid.
func CertificateExpiry() time.Time {
	return time.Now().Add(certValidity)
}

// KeyPEM returns the CA's private key, PEM-encoded, for a harness that
// issues certificates from another process later (LoadCertificateAuthority).
func (c *CertificateAuthority) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(c.ca.key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// LoadCertificateAuthority reads a CA written with CertPEM and KeyPEM.
func LoadCertificateAuthority(certPEM, keyPEM []byte) (*CertificateAuthority, error) {
	certBlock, _ := pem.Decode(certPEM)
	if certBlock == nil || certBlock.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	cert, err := x509.ParseCertificate(certBlock.Bytes)
	if err != nil {
		return nil, err
	}
	keyBlock, _ := pem.Decode(keyPEM)
	if keyBlock == nil {
		return nil, errors.New("no PEM private key")
	}
	key, err := x509.ParsePKCS8PrivateKey(keyBlock.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T cannot sign", key)
	}
	return &CertificateAuthority{ca: &certAuthority{cert: cert, key: signer, certPEM: certPEM}}, nil
}
