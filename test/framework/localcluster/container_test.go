package localcluster

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
)

const testImage = "quay.io/example/operator:latest"

// fakeImage returns Images with testImage mapped to a directory holding
// an executable named like the operator binary.
func fakeImage(t *testing.T) (Images, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, OperatorBinary), []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return Images{testImage: dir}, dir
}

func TestLocalBinary(t *testing.T) {
	images, dir := fakeImage(t)
	for _, tc := range []struct {
		name      string
		container corev1.Container
		wantArgs  []string
		wantErr   string
	}{
		{"command and args", corev1.Container{Image: testImage, Command: []string{OperatorBinary, "daemon"}, Args: []string{"--x=1"}}, []string{"daemon", "--x=1"}, ""},
		{"absolute command", corev1.Container{Image: testImage, Command: []string{"/usr/bin/" + OperatorBinary}}, nil, ""},
		{"unknown image", corev1.Container{Image: "other:1", Command: []string{OperatorBinary}}, nil, "is not available locally"},
		{"no command", corev1.Container{Image: testImage, Args: []string{"daemon"}}, nil, "no command"},
		{"command not in the image", corev1.Container{Image: testImage, Command: []string{"sh"}}, nil, "is not an executable file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			binary, args, err := images.LocalBinary(tc.container)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if binary != filepath.Join(dir, OperatorBinary) || !slices.Equal(args, tc.wantArgs) {
				t.Errorf("got %s %v, want %s %v", binary, args, filepath.Join(dir, OperatorBinary), tc.wantArgs)
			}
		})
	}
}

func TestMountPathRewriter(t *testing.T) {
	// The local directories lie under /tmp, a mount path too, as in a
	// checkout under /tmp.
	rewrite := mountPathRewriter(map[string]string{
		"/var/run/configmaps/config": "/tmp/repo/volumes/config",
		"/tmp":                       "/tmp/repo/volumes/tmp",
		"/etc/certs":                 "/tmp/repo/volumes/certs",
		"/etc/certs/extra":           "/tmp/repo/volumes/extra",
	})
	for in, want := range map[string]string{
		"--config=/var/run/configmaps/config/config.yaml": "--config=/tmp/repo/volumes/config/config.yaml",
		"/tmp":                            "/tmp/repo/volumes/tmp",
		"--scratch=/tmp/x":                "--scratch=/tmp/repo/volumes/tmp/x",
		"/var/tmp/x /tmpfs/x /etc/certsx": "/var/tmp/x /tmpfs/x /etc/certsx",
		"certFile: /etc/certs/tls.crt\nb: /etc/certs/extra/ca.crt": "certFile: /tmp/repo/volumes/certs/tls.crt\nb: /tmp/repo/volumes/extra/ca.crt",
		`paths: ["/tmp/a","/etc/certs/b"]`:                         `paths: ["/tmp/repo/volumes/tmp/a","/tmp/repo/volumes/certs/b"]`,
		"--listen=0.0.0.0:8443":                                    "--listen=0.0.0.0:8443",
	} {
		if got := rewrite(in); got != want {
			t.Errorf("rewrite(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func testDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "op", Namespace: "op-ns"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:    "op",
				Image:   testImage,
				Command: []string{OperatorBinary},
				Args:    []string{"operator", "--config=/etc/op/config/config.yaml", "--other=/etc/opx"},
				Env: []corev1.EnvVar{
					{Name: "LITERAL", Value: "v"},
					{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
				},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "config", MountPath: "/etc/op/config"},
					{Name: "certs", MountPath: "/etc/op/certs/"},
					{Name: "absent", MountPath: "/etc/op/absent"},
					{Name: "tmp", MountPath: "/tmp"},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "op-config"}}}},
				{Name: "certs", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "serving"}}},
				{Name: "absent", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "nobody-creates-it", Optional: ptr.To(true)}}},
				{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
		}}},
	}
}

func TestLocalOperatorCommand(t *testing.T) {
	images, dir := fakeImage(t)
	// Under /tmp, which the Deployment mounts too: a checkout in /tmp.
	root := "/tmp/local/volumes"
	op, err := LocalOperatorCommand(testDeployment(), LocalOperatorOptions{
		Images:     images,
		VolumeRoot: root,
		ConfigMaps: map[string]*corev1.ConfigMap{"op-config": {Data: map[string]string{
			"config.yaml": "certFile: /etc/op/certs/tls.crt\nother: /etc/opx/keep\n",
		}}},
		Secrets:   map[string]map[string][]byte{"serving": {"tls.crt": []byte("CERT")}},
		PodName:   "op-local",
		ExtraArgs: []string{"--kubeconfig=/k"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if op.Path != filepath.Join(dir, OperatorBinary) {
		t.Errorf("path %s", op.Path)
	}
	// Paths under a mount point are rewritten; a path that merely starts
	// with the same letters (/etc/opx) is not.
	wantArgs := []string{"operator", "--config=/tmp/local/volumes/config/config.yaml", "--other=/etc/opx", "--kubeconfig=/k"}
	if !slices.Equal(op.Args, wantArgs) {
		t.Errorf("args\n got %v\nwant %v", op.Args, wantArgs)
	}
	wantEnv := []string{"LITERAL=v", "POD_NAME=op-local", "POD_NAMESPACE=op-ns"}
	if !slices.Equal(op.Env, wantEnv) {
		t.Errorf("env %v, want %v", op.Env, wantEnv)
	}
	wantFiles := map[string]string{
		"/tmp/local/volumes/config/config.yaml": "certFile: /tmp/local/volumes/certs/tls.crt\nother: /etc/opx/keep\n",
		"/tmp/local/volumes/certs/tls.crt":      "CERT",
	}
	if len(op.Files) != len(wantFiles) {
		t.Errorf("files %v, want %v", op.Files, wantFiles)
	}
	for path, want := range wantFiles {
		if got := string(op.Files[path]); got != want {
			t.Errorf("%s:\n got %q\nwant %q", path, got, want)
		}
	}
	for _, d := range []string{"config", "certs", "absent", "tmp"} {
		if !slices.Contains(op.Dirs, filepath.Join(root, d)) {
			t.Errorf("no directory for volume %s in %v", d, op.Dirs)
		}
	}
}

func TestLocalOperatorCommandRejects(t *testing.T) {
	images, _ := fakeImage(t)
	for _, tc := range []struct {
		name   string
		mutate func(*appsv1.Deployment)
		want   string
	}{
		{"a missing ConfigMap", func(d *appsv1.Deployment) {}, "ConfigMap op-config is in no manifest"},
		{"a subPath", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].VolumeMounts[0].SubPath = "x"
		}, "subPath"},
		{"a host path", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Volumes[3].VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}
		}, "only configMap, secret and emptyDir"},
		{"an env from a secret", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{}}}}
		}, "only literal values"},
		{"two containers", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, d.Spec.Template.Spec.Containers[0])
		}, "exactly one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := testDeployment()
			tc.mutate(d)
			opts := LocalOperatorOptions{Images: images, VolumeRoot: "/v", Secrets: map[string]map[string][]byte{"serving": {}}}
			if tc.name != "a missing ConfigMap" {
				opts.ConfigMaps = map[string]*corev1.ConfigMap{"op-config": {}}
			}
			_, err := LocalOperatorCommand(d, opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestRepositoryManifests runs the real manifests/ through what Up does with
// them, so that a change there that the local cluster cannot follow fails
// here rather than in make demo.
func TestRepositoryManifests(t *testing.T) {
	files, err := apiserver.ManifestFiles()
	if err != nil || len(files) == 0 {
		t.Fatalf("manifests/: %v %v", files, err)
	}
	manifests, err := ReadManifests(LocalReleaseVersion, files...)
	if err != nil {
		t.Fatal(err)
	}
	deploy, err := operatorDeploymentFrom(manifests)
	if err != nil {
		t.Fatal(err)
	}
	if got := actionFor(Manifest{File: "x", Object: mustFind(t, manifests, "Deployment", operatorDeployment)}, operatorDeployment); got != actionRunLocally {
		t.Errorf("the operator's Deployment would be applied (%v)", got)
	}
	if _, ok := FindManifest(manifests, "ClusterOperator", names.ClusterOperator); !ok {
		t.Error("manifests/ has no ClusterOperator to pre-create")
	}

	images, _ := fakeImage(t)
	images[deploy.Spec.Template.Spec.Containers[0].Image] = images[testImage]
	configMaps := map[string]*corev1.ConfigMap{}
	for _, m := range manifests {
		if m.Object.GetKind() == "ConfigMap" {
			data, _, _ := unstructured.NestedStringMap(m.Object.Object, "data")
			configMaps[m.Object.GetName()] = &corev1.ConfigMap{Data: data}
		}
	}
	op, err := LocalOperatorCommand(deploy, LocalOperatorOptions{
		Images: images, VolumeRoot: "/local", ConfigMaps: configMaps,
		Secrets: map[string]map[string][]byte{}, PodName: "p",
	})
	if err != nil {
		t.Fatalf("the operator's Deployment cannot run locally: %v", err)
	}
	for _, arg := range op.Args {
		if strings.Contains(arg, "/var/run/") {
			t.Errorf("argument %q still points into the pod", arg)
		}
		if value, ok := strings.CutPrefix(arg, "--config="); ok {
			if _, ok := op.Files[value]; !ok {
				t.Errorf("--config=%s is not a file the local cluster writes (%v)", value, keys(op.Files))
			}
		}
	}
	for _, env := range []string{names.OperandImageEnv, names.ReleaseVersionEnv} {
		if !slices.ContainsFunc(op.Env, func(e string) bool { return strings.HasPrefix(e, env+"=") && len(e) > len(env)+1 }) {
			t.Errorf("%s is not set in %v", env, op.Env)
		}
	}
	if !slices.Contains(op.Env, names.ReleaseVersionEnv+"="+LocalReleaseVersion) {
		t.Errorf("%s is not the local release version %s: %v", names.ReleaseVersionEnv, LocalReleaseVersion, op.Env)
	}
}

func mustFind(t *testing.T, manifests []Manifest, kind, name string) *unstructured.Unstructured {
	t.Helper()
	m, ok := FindManifest(manifests, kind, name)
	if !ok {
		t.Fatalf("no %s %s", kind, name)
	}
	return m.Object
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
