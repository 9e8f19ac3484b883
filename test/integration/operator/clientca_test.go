//go:build integration

package operator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// TestMetricsClientCACopy follows the copy of the client CA bundle that the
// daemons' metrics servers verify Prometheus with, against the bundle that
// the real kube-apiserver publishes: made on enable with that one key,
// restored when edited or deleted, following a rotation of the source, and
// gone on disable.
func TestMetricsClientCACopy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setInfrastructure(bareMetal())
	e.setConfig(defaultDeployment)
	e.startOperator()

	e.eventually("a copy of the published bundle", e.clientCACopyMatchesSource)

	copies := e.kube.CoreV1().ConfigMaps(names.OperandNamespace)
	t.Run("an edited copy is restored", func(t *testing.T) {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cm, err := copies.Get(e.ctx(), names.MetricsClientCAConfigMap, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cm.Data[names.MetricsClientCAKey] = "not a CA"
			cm.Data["extra"] = "x"
			_, err = copies.Update(e.ctx(), cm, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		e.eventually("the copy to be restored", e.clientCACopyMatchesSource)
	})

	t.Run("a deleted copy is recreated", func(t *testing.T) {
		if err := copies.Delete(e.ctx(), names.MetricsClientCAConfigMap, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.eventually("the copy to be recreated", e.clientCACopyMatchesSource)
	})

	t.Run("a rotated source is followed", func(t *testing.T) {
		added := selfSignedCA(t)
		sources := e.kube.CoreV1().ConfigMaps(names.AuthenticationNamespace)
		// kube-apiserver keeps what is added to the bundle: that is how a
		// rotation publishes the next CA beside the current one.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cm, err := sources.Get(e.ctx(), names.AuthenticationConfigMap, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cm.Data[names.MetricsClientCAKey] += added
			_, err = sources.Update(e.ctx(), cm, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		e.eventually("the copy to carry the new CA", func() error {
			if err := e.clientCACopyMatchesSource(); err != nil {
				return err
			}
			cm, err := copies.Get(e.ctx(), names.MetricsClientCAConfigMap, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !strings.Contains(cm.Data[names.MetricsClientCAKey], added) {
				return errors.New("the copy does not hold the CA added to the source")
			}
			return nil
		})
	})

	t.Run("disabling deletes the copy", func(t *testing.T) {
		e.setInfrastructure(aws())
		e.eventually("the copy to be gone", func() error {
			_, err := copies.Get(e.ctx(), names.MetricsClientCAConfigMap, metav1.GetOptions{})
			if err == nil {
				return errors.New("the copy still exists")
			}
			return nil
		})
	})
}

// clientCACopyMatchesSource checks that the copy holds the source's bundle
// and nothing else.
func (e *env) clientCACopyMatchesSource() error {
	source, err := e.kube.CoreV1().ConfigMaps(names.AuthenticationNamespace).Get(e.ctx(), names.AuthenticationConfigMap, metav1.GetOptions{})
	if err != nil {
		return err
	}
	cp, err := e.kube.CoreV1().ConfigMaps(names.OperandNamespace).Get(e.ctx(), names.MetricsClientCAConfigMap, metav1.GetOptions{})
	if err != nil {
		return err
	}
	want := map[string]string{names.MetricsClientCAKey: source.Data[names.MetricsClientCAKey]}
	if want[names.MetricsClientCAKey] == "" {
		return errors.New("kube-apiserver has published no client-ca-file")
	}
	if fmt.Sprint(cp.Data) != fmt.Sprint(want) || len(cp.BinaryData) != 0 {
		return fmt.Errorf("the copy holds keys %v, want the source's %s alone", keys(cp), names.MetricsClientCAKey)
	}
	return nil
}

func keys(cm *corev1.ConfigMap) []string {
	var k []string
	for key := range cm.Data {
		k = append(k, key)
	}
	for key := range cm.BinaryData {
		k = append(k, key+" (binary)")
	}
	return k
}

// selfSignedCA returns the PEM of a new CA certificate.
func selfSignedCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "next-client-ca"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
