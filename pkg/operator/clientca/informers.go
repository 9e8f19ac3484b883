package clientca

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	corev1informers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// resync is how often the informers replay their one object, as a safety
// net behind the watches.
const resync = 10 * time.Minute

// Informers watch the source of the bundle and its copy, each alone by
// name: RBAC grants the operator extension-apiserver-authentication in
// kube-system by name only, and RBAC authorizes a list or watch by name
// when it selects metadata.name.
type Informers struct {
	Source, Copy corev1informers.ConfigMapInformer
	factories    []informers.SharedInformerFactory
}

// NewInformers returns both informers. Start them once the controllers are
// built.
func NewInformers(kubeClient kubernetes.Interface) *Informers {
	source := namedConfigMap(kubeClient, names.AuthenticationNamespace, names.AuthenticationConfigMap)
	dest := namedConfigMap(kubeClient, names.OperandNamespace, names.MetricsClientCAConfigMap)
	return &Informers{
		Source:    source.Core().V1().ConfigMaps(),
		Copy:      dest.Core().V1().ConfigMaps(),
		factories: []informers.SharedInformerFactory{source, dest},
	}
}

// Start starts the informers registered so far.
func (i *Informers) Start(stopCh <-chan struct{}) {
	for _, f := range i.factories {
		f.Start(stopCh)
	}
}

func namedConfigMap(kubeClient kubernetes.Interface, namespace, name string) informers.SharedInformerFactory {
	return informers.NewSharedInformerFactoryWithOptions(kubeClient, resync,
		informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(options *metav1.ListOptions) {
			options.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		}))
}
