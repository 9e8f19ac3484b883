package localcluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func volumePod(volumes ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid"},
		Spec: corev1.PodSpec{
			Volumes: volumes,
			Containers: []corev1.Container{{Name: "c", VolumeMounts: []corev1.VolumeMount{
				{Name: "cert", MountPath: "/var/run/secrets/cert/"},
				{Name: "ca", MountPath: "/var/run/configmaps/ca"},
			}}},
		},
	}
}

func TestPodVolumes(t *testing.T) {
	pod := volumePod(
		corev1.Volume{Name: "cert", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "cert", Optional: ptr.To(true), DefaultMode: ptr.To[int32](0o400)}}},
		corev1.Volume{Name: "ca", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "ca"},
			Items:                []corev1.KeyToPath{{Key: "client-ca-file", Path: "client-ca-file"}},
		}}},
	)
	client := fake.NewClientset()
	root := t.TempDir()
	vols, err := newPodVolumes(client, pod, root)
	if err != nil {
		t.Fatal(err)
	}
	mounts, err := vols.mountPaths(pod.Spec.Containers[0])
	if err != nil {
		t.Fatal(err)
	}
	if mounts["/var/run/secrets/cert"] != filepath.Join(root, "cert") || mounts["/var/run/configmaps/ca"] != filepath.Join(root, "ca") {
		t.Errorf("mount paths %v", mounts)
	}

	// The ConfigMap is required: nothing may start without it.
	if err := vols.sync(context.Background()); !errors.Is(err, errVolumeNotReady) {
		t.Fatalf("sync without the required ConfigMap: %v, want errVolumeNotReady", err)
	}
	ctx := context.Background()
	if _, err := client.CoreV1().ConfigMaps("ns").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "ca", Namespace: "ns"},
		Data:       map[string]string{"client-ca-file": "CA", "other": "not selected"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The Secret is optional: an empty directory until it exists.
	if err := vols.sync(ctx); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, filepath.Join(root, "ca"), map[string]string{"client-ca-file": "CA"})
	wantFiles(t, filepath.Join(root, "cert"), map[string]string{})

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cert", Namespace: "ns"}, Data: map[string][]byte{"tls.crt": []byte("C1"), "tls.key": []byte("K1")}}
	if _, err := client.CoreV1().Secrets("ns").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := vols.sync(ctx); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, filepath.Join(root, "cert"), map[string]string{"tls.crt": "C1", "tls.key": "K1"})
	if st, err := os.Stat(filepath.Join(root, "cert", "tls.key")); err != nil || st.Mode().Perm() != 0o400 {
		t.Errorf("tls.key: %v %v, want mode 0400 (defaultMode)", st.Mode(), err)
	}

	// A rotated certificate reaches the files; a removed key goes away.
	secret.Data = map[string][]byte{"tls.crt": []byte("C2")}
	if _, err := client.CoreV1().Secrets("ns").Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := vols.sync(ctx); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, filepath.Join(root, "cert"), map[string]string{"tls.crt": "C2"})

	if err := vols.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("the volumes outlived the pod: %v", err)
	}
}

func TestPodVolumesRejects(t *testing.T) {
	pod := volumePod(corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}})
	if _, err := newPodVolumes(fake.NewClientset(), pod, t.TempDir()); err == nil {
		t.Error("a hostPath volume was accepted")
	}
	pod = volumePod(corev1.Volume{Name: "cert", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	vols, err := newPodVolumes(fake.NewClientset(), pod, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vols.mountPaths(pod.Spec.Containers[0]); err == nil {
		t.Error("a mount of a volume that does not exist was accepted")
	}
}

func wantFiles(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got[e.Name()] = string(data)
	}
	if len(got) != len(want) {
		t.Errorf("%s holds %v, want %v", dir, got, want)
		return
	}
	for name, content := range want {
		if got[name] != content {
			t.Errorf("%s/%s = %q, want %q", dir, name, got[name], content)
		}
	}
}
