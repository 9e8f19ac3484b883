//go:build integration

// Package api proves that a real kube-apiserver enforces our API rules: the
// OpenAPI schema and the CEL rules in the CRDs generated from pkg/apis.
package api

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
)

var (
	configGVR   = schema.GroupVersionResource{Group: "config.openshift.io", Version: "v1alpha1", Resource: "http01challengeproxies"}
	operatorGVR = schema.GroupVersionResource{Group: "operator.openshift.io", Version: "v1alpha1", Resource: "http01challengeproxies"}
)

func TestAPIValidation(t *testing.T) {
	srv := apiserver.Start(t)
	client := dynamic.NewForConfigOrDie(srv.RESTConfig())

	t.Run("documented examples are accepted", func(t *testing.T) {
		testDocumentedExamplesAreAccepted(t, client)
	})
	t.Run("bad config is rejected", func(t *testing.T) {
		testRejected(t, client, configGVR, badConfigs)
	})
	t.Run("bad operator resource is rejected", func(t *testing.T) {
		testRejected(t, client, operatorGVR, badOperatorResources)
	})
}

func testDocumentedExamplesAreAccepted(t *testing.T, client dynamic.Interface) {
	// The singletons the CVO creates must pass validation too.
	examples, err := filepath.Glob("../../../docs/examples/*.yaml")
	singletons, err2 := filepath.Glob("../../../manifests/*.cr.yaml")
	if err != nil || err2 != nil || len(examples) == 0 || len(singletons) != 2 {
		t.Fatalf("want documented examples and two singletons, found %v and %v (%v, %v)", examples, singletons, err, err2)
	}
	examples = append(examples, singletons...)
	for _, file := range examples {
		t.Run(filepath.Base(file), func(t *testing.T) {
			obj := readObject(t, file)
			gvr := configGVR
			if obj.GroupVersionKind().Group == operatorGVR.Group {
				gvr = operatorGVR
			}
			create(t, client, gvr, obj)
		})
	}
}

type rejection struct {
	name    string
	object  string
	message string
}

var badConfigs = []rejection{
	{
		name:    "unknown mode",
		object:  `{"metadata":{"name":"cluster"},"spec":{"mode":"Everywhere"}}`,
		message: `spec.mode: Unsupported value: "Everywhere": supported values: "DefaultDeployment", "CustomDeployment"`,
	},
	{
		name:    "internalPort 80",
		object:  `{"metadata":{"name":"cluster"},"spec":{"mode":"CustomDeployment","customDeployment":{"internalPort":80}}}`,
		message: `spec.customDeployment.internalPort: Invalid value: 80: spec.customDeployment.internalPort in body should be greater than or equal to 1024`,
	},
	{
		name:    "internalPort 0",
		object:  `{"metadata":{"name":"cluster"},"spec":{"mode":"CustomDeployment","customDeployment":{"internalPort":0}}}`,
		message: `spec.customDeployment.internalPort: Invalid value: 0: spec.customDeployment.internalPort in body should be greater than or equal to 1024`,
	},
	{
		name:    "internalPort 70000",
		object:  `{"metadata":{"name":"cluster"},"spec":{"mode":"CustomDeployment","customDeployment":{"internalPort":70000}}}`,
		message: `spec.customDeployment.internalPort: Invalid value: 70000: spec.customDeployment.internalPort in body should be less than or equal to 65535`,
	},
	{
		// TestInternalPortRefusesTakenPorts tries every taken port.
		name:    "internalPort 2379, etcd's",
		object:  `{"metadata":{"name":"cluster"},"spec":{"mode":"CustomDeployment","customDeployment":{"internalPort":2379}}}`,
		message: `spec.customDeployment.internalPort: Invalid value: "integer": internalPort 2379 is etcd's in OpenShift's host-port registry: pick a port no control-plane service uses`,
	},
	{
		name:    "customDeployment without mode",
		object:  `{"metadata":{"name":"cluster"},"spec":{"customDeployment":{"internalPort":18888}}}`,
		message: `customDeployment is required when mode is CustomDeployment, and forbidden otherwise`,
	},
	{
		name:    "customDeployment with mode DefaultDeployment",
		object:  `{"metadata":{"name":"cluster"},"spec":{"mode":"DefaultDeployment","customDeployment":{"internalPort":18888}}}`,
		message: `customDeployment is required when mode is CustomDeployment, and forbidden otherwise`,
	},
	{
		name:    "CustomDeployment without customDeployment",
		object:  `{"metadata":{"name":"cluster"},"spec":{"mode":"CustomDeployment"}}`,
		message: `customDeployment is required when mode is CustomDeployment, and forbidden otherwise`,
	},
	{
		name:    "customDeployment without internalPort",
		object:  `{"metadata":{"name":"cluster"},"spec":{"mode":"CustomDeployment","customDeployment":{}}}`,
		message: `spec.customDeployment.internalPort: Required value`,
	},
	{
		name:    "a name other than cluster",
		object:  `{"metadata":{"name":"proxy"},"spec":{"mode":"DefaultDeployment"}}`,
		message: `http01challengeproxy is a singleton: the only allowed name is 'cluster'`,
	},
}

var badOperatorResources = []rejection{
	{
		name:    "a name other than cluster",
		object:  `{"metadata":{"name":"proxy"},"spec":{"managementState":"Managed"}}`,
		message: `the operator resource is a singleton: the only allowed name is 'cluster'`,
	},
	{
		name:    "unknown management state",
		object:  `{"metadata":{"name":"cluster"},"spec":{"managementState":"Sometimes"}}`,
		message: `spec.managementState: Invalid value: "Sometimes"`,
	},
	{
		name:    "unknown log level",
		object:  `{"metadata":{"name":"cluster"},"spec":{"managementState":"Managed","logLevel":"Loud"}}`,
		message: `spec.logLevel: Unsupported value: "Loud"`,
	},
}

func testRejected(t *testing.T, client dynamic.Interface, gvr schema.GroupVersionResource, cases []rejection) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(tc.object), &obj.Object); err != nil {
				t.Fatal(err)
			}
			obj.SetAPIVersion(gvr.GroupVersion().String())
			obj.SetKind("HTTP01ChallengeProxy")
			_, err := client.Resource(gvr).Create(context.Background(), obj, metav1.CreateOptions{})
			if err == nil {
				_ = client.Resource(gvr).Delete(context.Background(), obj.GetName(), metav1.DeleteOptions{})
				t.Fatalf("accepted %s", tc.object)
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error does not carry the message\n want: %s\n  got: %v", tc.message, err)
			}
		})
	}
}

func readObject(t *testing.T, file string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &obj.Object); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return obj
}

// create creates obj and deletes it again, so that examples of the same
// singleton can be tried one after another.
func create(t *testing.T, client dynamic.Interface, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	if _, err := client.Resource(gvr).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		t.Fatalf("rejected: %v", err)
	}
	if err := client.Resource(gvr).Delete(ctx, obj.GetName(), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}
