package clientca

import (
	"context"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/informers/core"
	corev1informers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/informers/internalinterfaces"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// resync is how often the informers replay their one object, as a safety
// net behind the watches; the resource sync controller resyncs every minute
// anyway.
const resync = 10 * time.Minute

// Informers are the informers the resource sync controller is given: one
// per namespace it copies from or to, each listing a single ConfigMap by
// name. It implements library-go's v1helpers.KubeInformersForNamespaces.
//
// library-go's own implementation would not do: the resource sync
// controller registers the ConfigMap and the Secret informer of every
// namespace it is given, and v1helpers.NewKubeInformersForNamespaces lists
// all of them. In kube-system that would need RBAC to list every ConfigMap
// and every Secret, where the operator is granted, and needs, one ConfigMap:
// the RoleBinding to extension-apiserver-authentication-reader allows it by
// name, and RBAC authorizes a list or watch by name when it selects
// metadata.name. So each namespace's ConfigMaps are listed by name, and its
// Secret informer is an empty one that never calls the API: no Secret is
// synced.
type Informers struct {
	factories map[string]secretlessFactory
}

// NewInformers returns the informers of the source and the copy of the
// client CA bundle. Start them once the controllers are built.
func NewInformers(kubeClient kubernetes.Interface) *Informers {
	return &Informers{factories: map[string]secretlessFactory{
		names.AuthenticationNamespace: newSecretlessFactory(kubeClient, names.AuthenticationNamespace, names.AuthenticationConfigMap),
		names.OperandNamespace:        newSecretlessFactory(kubeClient, names.OperandNamespace, names.MetricsClientCAConfigMap),
	}}
}

// Copy is the informer of the operand namespace's copy of the bundle.
func (i *Informers) Copy() corev1informers.ConfigMapInformer {
	return i.factories[names.OperandNamespace].Core().V1().ConfigMaps()
}

// Start starts the informers registered so far.
func (i *Informers) Start(stopCh <-chan struct{}) {
	for _, f := range i.factories {
		f.Start(stopCh)
	}
}

// InformersFor returns the factory of a namespace, nil for any other than
// the two.
func (i *Informers) InformersFor(namespace string) informers.SharedInformerFactory {
	f, ok := i.factories[namespace]
	if !ok {
		return nil
	}
	return f
}

// Namespaces are the source's and the copy's.
func (i *Informers) Namespaces() sets.Set[string] {
	return sets.KeySet(i.factories)
}

// WaitForCacheSync waits for the started informers of every namespace.
func (i *Informers) WaitForCacheSync(stopCh <-chan struct{}) map[string]map[reflect.Type]bool {
	synced := map[string]map[reflect.Type]bool{}
	for namespace, f := range i.factories {
		synced[namespace] = f.WaitForCacheSync(stopCh)
	}
	return synced
}

// ConfigMapLister lists the two ConfigMaps.
func (i *Informers) ConfigMapLister() corev1listers.ConfigMapLister {
	return configMapLister{i}
}

// SecretLister lists nothing: no Secret is synced.
func (i *Informers) SecretLister() corev1listers.SecretLister {
	return corev1listers.NewSecretLister(emptyIndexer())
}

// PodLister lists nothing: no Pod is watched.
func (i *Informers) PodLister() corev1listers.PodLister {
	return corev1listers.NewPodLister(emptyIndexer())
}

type configMapLister struct{ informers *Informers }

func (l configMapLister) List(selector labels.Selector) ([]*corev1.ConfigMap, error) {
	var all []*corev1.ConfigMap
	for _, f := range l.informers.factories {
		some, err := f.Core().V1().ConfigMaps().Lister().List(selector)
		if err != nil {
			return nil, err
		}
		all = append(all, some...)
	}
	return all, nil
}

func (l configMapLister) ConfigMaps(namespace string) corev1listers.ConfigMapNamespaceLister {
	f, ok := l.informers.factories[namespace]
	if !ok {
		return corev1listers.NewConfigMapLister(emptyIndexer()).ConfigMaps(namespace)
	}
	return f.Core().V1().ConfigMaps().Lister().ConfigMaps(namespace)
}

// secretlessFactory is a namespace's informer factory that lists one object
// name only, and whose Secret informer is empty.
type secretlessFactory struct {
	informers.SharedInformerFactory
	namespace string
	byName    internalinterfaces.TweakListOptionsFunc
}

func newSecretlessFactory(kubeClient kubernetes.Interface, namespace, name string) secretlessFactory {
	byName := func(options *metav1.ListOptions) {
		options.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
	}
	return secretlessFactory{
		SharedInformerFactory: informers.NewSharedInformerFactoryWithOptions(kubeClient, resync,
			informers.WithNamespace(namespace), informers.WithTweakListOptions(byName)),
		namespace: namespace,
		byName:    byName,
	}
}

// Core hands out typed informers that are created through this factory's
// InformerFor, so that it can replace the Secret informer.
func (f secretlessFactory) Core() core.Interface {
	return core.New(f, f.namespace, f.byName)
}

// InformerFor registers the informer of obj's type with the underlying
// factory, which starts it and waits for it; for Secrets, it registers the
// empty informer instead.
func (f secretlessFactory) InformerFor(obj runtime.Object, newFunc internalinterfaces.NewInformerFunc) cache.SharedIndexInformer {
	if _, isSecret := obj.(*corev1.Secret); isSecret {
		newFunc = newEmptySecretInformer
	}
	return f.SharedInformerFactory.InformerFor(obj, newFunc)
}

// newEmptySecretInformer returns an informer that is synced at once, holds
// no Secret and never calls the API: its list is empty and its watch never
// sends anything.
func newEmptySecretInformer(_ kubernetes.Interface, resyncPeriod time.Duration) cache.SharedIndexInformer {
	return cache.NewSharedIndexInformer(&cache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			return &corev1.SecretList{}, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
			return watch.NewFake(), nil
		},
	}, &corev1.Secret{}, resyncPeriod, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
}

func emptyIndexer() cache.Indexer {
	return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
}
