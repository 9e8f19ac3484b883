package operator

import (
	"fmt"

	applyoperatorv1 "github.com/openshift/client-go/operator/applyconfigurations/operator/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	operatorv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/apis/operator/v1alpha1"
	operatorapplyv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/generated/applyconfiguration/operator/v1alpha1"
)

// The operator resource, http01challengeproxies.operator.openshift.io.
var (
	operatorResource = operatorv1alpha1.SchemeGroupVersion.WithResource("http01challengeproxies")
	operatorKind     = operatorv1alpha1.SchemeGroupVersion.WithKind("HTTP01ChallengeProxy")
)

// extractOperatorSpec returns the part of the operator resource's spec that
// fieldManager applied. library-go compares it with what the manager is about
// to apply and skips the request when they are equal; without it, every
// sync would write.
func extractOperatorSpec(obj *unstructured.Unstructured, fieldManager string) (*applyoperatorv1.OperatorSpecApplyConfiguration, error) {
	typed, err := toOperatorResource(obj)
	if err != nil {
		return nil, err
	}
	applied, err := operatorapplyv1alpha1.ExtractHTTP01ChallengeProxy(typed, fieldManager)
	if err != nil {
		return nil, fmt.Errorf("extracting the spec fields of %q: %w", fieldManager, err)
	}
	if applied.Spec == nil {
		return nil, nil
	}
	return &applied.Spec.OperatorSpecApplyConfiguration, nil
}

// extractOperatorStatus returns the part of the operator resource's status
// that fieldManager applied: its conditions, generations, version. See
// extractOperatorSpec for why it matters.
func extractOperatorStatus(obj *unstructured.Unstructured, fieldManager string) (*applyoperatorv1.OperatorStatusApplyConfiguration, error) {
	typed, err := toOperatorResource(obj)
	if err != nil {
		return nil, err
	}
	applied, err := operatorapplyv1alpha1.ExtractHTTP01ChallengeProxyStatus(typed, fieldManager)
	if err != nil {
		return nil, fmt.Errorf("extracting the status fields of %q: %w", fieldManager, err)
	}
	if applied.Status == nil {
		return nil, nil
	}
	return &applied.Status.OperatorStatusApplyConfiguration, nil
}

func toOperatorResource(obj *unstructured.Unstructured) (*operatorv1alpha1.HTTP01ChallengeProxy, error) {
	typed := &operatorv1alpha1.HTTP01ChallengeProxy{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.UnstructuredContent(), typed); err != nil {
		return nil, fmt.Errorf("decoding %s %q: %w", operatorKind.Kind, obj.GetName(), err)
	}
	return typed, nil
}
