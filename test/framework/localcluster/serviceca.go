package localcluster

import (
	"context"
	"fmt"
	"net"
	"os"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
)

// Annotations of OpenShift's service-ca operator.
const (
	// servingCertAnnotation on a Service names the Secret that receives
	// its serving certificate.
	servingCertAnnotation = "service.beta.openshift.io/serving-cert-secret-name"
	// originatingServiceUIDAnnotation on the Secret tells which Service it
	// was issued for; a Service recreated under the same name gets a new
	// certificate.
	originatingServiceUIDAnnotation = "service.beta.openshift.io/originating-service-uid"
)

// ServiceCA plays OpenShift's service-ca operator: for every Service that
// asks for a serving certificate, it creates the Secret, with a
// certificate for <service>.<namespace>.svc signed by the cluster's service
// CA, owned by the Service so that it goes with it. It never rotates.
type ServiceCA struct {
	Client kubernetes.Interface
	CA     *apiserver.CertificateAuthority
}

// LoadServiceCA reads the cluster's service CA from its state directory.
func LoadServiceCA(s *State) (*apiserver.CertificateAuthority, error) {
	certPEM, err := os.ReadFile(s.path(pkiDir, serviceCACertFile))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(s.path(pkiDir, serviceCAKeyFile))
	if err != nil {
		return nil, err
	}
	return apiserver.LoadCertificateAuthority(certPEM, keyPEM)
}

// Run issues certificates until ctx is done.
func (c *ServiceCA) Run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	services := factory.Core().V1().Services()
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	enqueue := func(obj any) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			queue.Add(key)
		}
	}
	if _, err := services.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), services.Informer().HasSynced) {
		return ctx.Err()
	}
	klog.InfoS("Issuing serving certificates for annotated Services", "annotation", servingCertAnnotation)
	go func() {
		<-ctx.Done()
		queue.ShutDown()
	}()
	for {
		key, shutdown := queue.Get()
		if shutdown {
			factory.Shutdown()
			return nil
		}
		namespace, name, _ := cache.SplitMetaNamespaceKey(key)
		service, err := services.Lister().Services(namespace).Get(name)
		if err == nil {
			err = c.sync(ctx, service)
		}
		if err != nil && !apierrors.IsNotFound(err) {
			klog.ErrorS(err, "Issuing a serving certificate", "service", key)
			queue.AddRateLimited(key)
		} else {
			queue.Forget(key)
		}
		queue.Done(key)
	}
}

func (c *ServiceCA) sync(ctx context.Context, service *corev1.Service) error {
	secretName := service.Annotations[servingCertAnnotation]
	if secretName == "" || service.DeletionTimestamp != nil {
		return nil
	}
	secrets := c.Client.CoreV1().Secrets(service.Namespace)
	existing, err := secrets.Get(ctx, secretName, metav1.GetOptions{})
	switch {
	case err == nil && existing.Annotations[originatingServiceUIDAnnotation] == string(service.UID):
		return nil
	case err == nil:
		// Issued for a Service of the same name that was deleted.
		if err := secrets.Delete(ctx, secretName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &existing.UID}}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	case !apierrors.IsNotFound(err):
		return err
	}
	host := service.Name + "." + service.Namespace + ".svc"
	certPEM, keyPEM, err := c.CA.IssueServing(host, []string{host, host + ".cluster.local"}, []net.IP{net.ParseIP(loopback)})
	if err != nil {
		return err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        secretName,
			Namespace:   service.Namespace,
			Annotations: map[string]string{originatingServiceUIDAnnotation: string(service.UID)},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Service", Name: service.Name, UID: service.UID, BlockOwnerDeletion: ptr.To(false),
			}},
		},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM},
	}
	if _, err := secrets.Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating Secret %s/%s: %w", service.Namespace, secretName, err)
	}
	klog.InfoS("Issued a serving certificate", "service", klog.KObj(service), "secret", secretName, "host", host)
	return nil
}

// serviceServingCert is what ServiceCA puts in a Service's secret, for a
// Service whose certificate a local process reads from files.
func serviceServingCert(ca *apiserver.CertificateAuthority, service, namespace string) (map[string][]byte, error) {
	host := service + "." + namespace + ".svc"
	cert, key, err := ca.IssueServing(host, []string{host, host + ".cluster.local"}, []net.IP{net.ParseIP(loopback)})
	if err != nil {
		return nil, err
	}
	return map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: key}, nil
}
