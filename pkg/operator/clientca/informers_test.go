package clientca

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// The informers must ask the API for exactly what RBAC grants the operator:
// the two ConfigMaps by name, and no Secret at all. The resource sync
// controller asks them for the ConfigMap and the Secret informer of both
// namespaces, as it does here.
func TestInformersReadOnlyTheTwoConfigMaps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset(
		configMap(names.AuthenticationNamespace, names.AuthenticationConfigMap),
		configMap(names.OperandNamespace, names.MetricsClientCAConfigMap),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: names.AuthenticationNamespace, Name: "some-secret"}},
	)
	i := NewInformers(client)
	for namespace := range i.Namespaces() {
		i.InformersFor(namespace).Core().V1().ConfigMaps().Informer()
		i.InformersFor(namespace).Core().V1().Secrets().Informer()
	}
	i.Start(ctx.Done())
	for namespace, synced := range i.WaitForCacheSync(ctx.Done()) {
		for informer, ok := range synced {
			if !ok {
				t.Fatalf("%s informer of %s did not sync", informer, namespace)
			}
		}
	}

	wantSelectors := map[string]string{
		names.AuthenticationNamespace: "metadata.name=" + names.AuthenticationConfigMap,
		names.OperandNamespace:        "metadata.name=" + names.MetricsClientCAConfigMap,
	}
	listed := map[string]bool{}
	for _, action := range client.Actions() {
		if action.GetResource().Resource == "secrets" {
			t.Errorf("%s of secrets in %s: no Secret may be read", action.GetVerb(), action.GetNamespace())
			continue
		}
		var selector string
		switch a := action.(type) {
		case clienttesting.ListActionImpl:
			selector = a.GetListRestrictions().Fields.String()
			listed[a.GetNamespace()] = true
		case clienttesting.WatchActionImpl:
			selector = a.GetWatchRestrictions().Fields.String()
		default:
			t.Errorf("unexpected %s of %s", action.GetVerb(), action.GetResource().Resource)
			continue
		}
		if want, ok := wantSelectors[action.GetNamespace()]; !ok || selector != want {
			t.Errorf("%s of configmaps in %q with field selector %q, want one of %v", action.GetVerb(), action.GetNamespace(), selector, wantSelectors)
		}
	}
	for namespace := range wantSelectors {
		if !listed[namespace] {
			t.Errorf("the ConfigMap of %s was never listed", namespace)
		}
	}

	// The listers see the ConfigMaps and no Secret.
	if _, err := i.ConfigMapLister().ConfigMaps(names.OperandNamespace).Get(names.MetricsClientCAConfigMap); err != nil {
		t.Errorf("the copy is not in the cache: %v", err)
	}
	if secrets, _ := i.InformersFor(names.AuthenticationNamespace).Core().V1().Secrets().Lister().List(labels.Everything()); len(secrets) != 0 {
		t.Errorf("the Secret informer holds %d Secrets, want none", len(secrets))
	}
	if got := sets.List(i.Namespaces()); !slices.Equal(got, []string{names.AuthenticationNamespace, names.OperandNamespace}) {
		t.Errorf("Namespaces() = %v", got)
	}
}

func configMap(namespace, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Data: map[string]string{names.MetricsClientCAKey: "PEM"}}
}
