//go:build integration

package apiserver_test

import (
	"context"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
)

var infrastructures = schema.GroupVersionResource{Group: "config.openshift.io", Version: "v1", Resource: "infrastructures"}

func TestStartInstallsOpenShiftCRDs(t *testing.T) {
	srv := apiserver.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	client, err := dynamic.NewForConfig(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	infra := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "config.openshift.io/v1",
		"kind":       "Infrastructure",
		"metadata":   map[string]interface{}{"name": "cluster"},
		"spec": map[string]interface{}{
			"platformSpec": map[string]interface{}{"type": "None"},
		},
	}}
	created, err := client.Resource(infrastructures).Create(ctx, infra, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating Infrastructure cluster: %v", err)
	}
	if created.GetUID() == "" {
		t.Fatalf("created Infrastructure has no UID: %v", created.Object)
	}

	// The version is the pinned release, not v0.0.0-master.
	kube, err := kubernetes.NewForConfig(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	v, err := kube.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.Major != "1" || v.GitVersion == "" || v.GitVersion[:2] != "v1" {
		t.Errorf("server version = %+v, want a v1.x release", v)
	}

	// The kubeconfig file works as well as RESTConfig.
	cfg, err := clientcmd.BuildConfigFromFlags("", srv.KubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	viaFile, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := viaFile.Resource(infrastructures).Get(ctx, "cluster", metav1.GetOptions{}); err != nil {
		t.Fatalf("reading Infrastructure through the kubeconfig: %v", err)
	}

	// RBAC is on: an unbound user may not read it.
	userCfg, err := srv.UserConfig("nobody", "some-group")
	if err != nil {
		t.Fatal(err)
	}
	asUser, err := dynamic.NewForConfig(userCfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = asUser.Resource(infrastructures).Get(ctx, "cluster", metav1.GetOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("unprivileged get: err = %v, want Forbidden", err)
	}

	dir := srv.Dir()
	srv.Stop()
	if srv.APIServerRunning() {
		t.Error("kube-apiserver still running after Stop")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after Stop (err %v)", dir, err)
	}
}

func TestStopAndStartAPIServer(t *testing.T) {
	srv := apiserver.Start(t, apiserver.WithoutManifestCRDs())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kube, err := kubernetes.NewForConfig(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ns, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "restart-test"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	if err := srv.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if srv.APIServerRunning() {
		t.Fatal("kube-apiserver still running after StopAPIServer")
	}
	if _, err := kube.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{}); err == nil {
		t.Fatal("API answered while kube-apiserver was stopped")
	}

	if err := srv.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	// Same port, certificates and etcd: the old client and the data work.
	got, err := kube.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if got.UID != ns.UID {
		t.Errorf("namespace UID changed across restart: %s -> %s", ns.UID, got.UID)
	}
	// The CRDs are still served.
	client, err := dynamic.NewForConfig(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Resource(infrastructures).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("listing Infrastructures after restart: %v", err)
	}
}
