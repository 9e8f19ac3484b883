package localcluster

import (
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// monitoringGroup is prometheus-operator's API group, whose kinds OpenShift
// payload manifests ship (ServiceMonitor, PrometheusRule, ...).
const monitoringGroup = "monitoring.coreos.com"

// monitoringKinds are the prometheus-operator kinds operators ship in their
// manifests, by kind and plural.
var monitoringKinds = map[string]string{
	"ServiceMonitor": "servicemonitors",
	"PodMonitor":     "podmonitors",
	"PrometheusRule": "prometheusrules",
}

// monitoringStandInCRDs are CRDs for prometheus-operator's kinds that
// accept any content: the local cluster has no monitoring stack and its
// tools do not pin prometheus-operator's CRDs, but the manifests'
// ServiceMonitors and PrometheusRules must exist for the ClusterOperator's
// relatedObjects, as on a real cluster. They store the objects; they do not
// validate them (the upstream CRDs would).
func monitoringStandInCRDs() []*apiextensionsv1.CustomResourceDefinition {
	var kinds []string
	for kind := range monitoringKinds {
		kinds = append(kinds, kind)
	}
	sort.Strings(kinds)
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, kind := range kinds {
		plural := monitoringKinds[kind]
		crds = append(crds, &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{
				Name: plural + "." + monitoringGroup,
				Annotations: map[string]string{
					"local-cluster/stand-in": "accepts any content; the upstream prometheus-operator CRD validates it",
				},
			},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: monitoringGroup,
				Names: apiextensionsv1.CustomResourceDefinitionNames{
					Kind: kind, ListKind: kind + "List", Plural: plural, Singular: strings.ToLower(kind),
				},
				Scope: apiextensionsv1.NamespaceScoped,
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type:                   "object",
						XPreserveUnknownFields: ptr.To(true),
					}},
				}},
			},
		})
	}
	return crds
}
