package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// defaultVolumeMode is the kubelet's file mode for configMap and secret
// volumes without a defaultMode.
const defaultVolumeMode = 0o644

// errVolumeNotReady says that a volume's source is missing and not
// optional: the kubelet does not start the container until it appears.
var errVolumeNotReady = errors.New("volume not ready")

// podVolumes holds a pod's configMap, secret and emptyDir volumes in local
// directories, one per volume, and keeps their files up to date as the
// kubelet does, so that a certificate issued after the pod started reaches
// the process.
type podVolumes struct {
	client kubernetes.Interface
	pod    *corev1.Pod
	// dirs are the local directories, by volume name.
	dirs map[string]string
	root string
}

// newPodVolumes creates a directory per volume of pod under root. Volumes
// of other types make it fail: the local kubelet cannot provide them.
func newPodVolumes(client kubernetes.Interface, pod *corev1.Pod, root string) (*podVolumes, error) {
	v := &podVolumes{client: client, pod: pod, root: root, dirs: map[string]string{}}
	for _, vol := range pod.Spec.Volumes {
		if vol.ConfigMap == nil && vol.Secret == nil && vol.EmptyDir == nil {
			return nil, fmt.Errorf("volume %s: only configMap, secret and emptyDir volumes are supported locally", vol.Name)
		}
		dir := filepath.Join(root, vol.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		v.dirs[vol.Name] = dir
	}
	return v, nil
}

// mountPaths maps the container's mount paths to the volumes' local
// directories.
func (v *podVolumes) mountPaths(c corev1.Container) (map[string]string, error) {
	out := map[string]string{}
	for _, m := range c.VolumeMounts {
		if m.SubPath != "" || m.SubPathExpr != "" {
			return nil, fmt.Errorf("volume mount %s uses a subPath, which the local kubelet does not support", m.Name)
		}
		dir, ok := v.dirs[m.Name]
		if !ok {
			return nil, fmt.Errorf("volume mount %s names no volume", m.Name)
		}
		out[path.Clean(m.MountPath)] = dir
	}
	return out, nil
}

// sync writes the current contents of the configMap and secret volumes. A
// missing optional source leaves an empty directory; a missing required one
// is errVolumeNotReady.
func (v *podVolumes) sync(ctx context.Context) error {
	for _, vol := range v.pod.Spec.Volumes {
		var files map[string][]byte
		var err error
		switch {
		case vol.ConfigMap != nil:
			files, err = v.configMapFiles(ctx, vol.ConfigMap)
		case vol.Secret != nil:
			files, err = v.secretFiles(ctx, vol.Secret)
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("volume %s: %w", vol.Name, err)
		}
		if err := writeVolume(v.dirs[vol.Name], files, volumeMode(vol)); err != nil {
			return fmt.Errorf("volume %s: %w", vol.Name, err)
		}
	}
	return nil
}

func (v *podVolumes) configMapFiles(ctx context.Context, src *corev1.ConfigMapVolumeSource) (map[string][]byte, error) {
	cm, err := v.client.CoreV1().ConfigMaps(v.pod.Namespace).Get(ctx, src.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if src.Optional != nil && *src.Optional {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: ConfigMap %s not found", errVolumeNotReady, src.Name)
	}
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for k, s := range cm.Data {
		files[k] = []byte(s)
	}
	for k, b := range cm.BinaryData {
		files[k] = b
	}
	return selectItems(files, src.Items)
}

func (v *podVolumes) secretFiles(ctx context.Context, src *corev1.SecretVolumeSource) (map[string][]byte, error) {
	secret, err := v.client.CoreV1().Secrets(v.pod.Namespace).Get(ctx, src.SecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if src.Optional != nil && *src.Optional {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: Secret %s not found", errVolumeNotReady, src.SecretName)
	}
	if err != nil {
		return nil, err
	}
	return selectItems(secret.Data, src.Items)
}

func volumeMode(vol corev1.Volume) os.FileMode {
	var mode *int32
	switch {
	case vol.ConfigMap != nil:
		mode = vol.ConfigMap.DefaultMode
	case vol.Secret != nil:
		mode = vol.Secret.DefaultMode
	}
	if mode == nil {
		return defaultVolumeMode
	}
	return os.FileMode(*mode) & os.ModePerm
}

// writeVolume makes dir hold exactly files. Each file is replaced by a
// rename, so a reader sees the old content or the new, never half of it.
// Item paths with directories are not supported.
func writeVolume(dir string, files map[string][]byte, mode os.FileMode) error {
	for name, content := range files {
		if name != filepath.Base(name) || name == "." || name == ".." {
			return fmt.Errorf("item path %q: only plain file names are supported locally", name)
		}
		target := filepath.Join(dir, name)
		if old, err := os.ReadFile(target); err == nil && bytes.Equal(old, content) {
			continue
		}
		tmp := filepath.Join(dir, ".."+name+".tmp")
		if err := os.WriteFile(tmp, content, mode); err != nil {
			return err
		}
		if err := os.Chmod(tmp, mode); err != nil { // past the umask
			return err
		}
		if err := os.Rename(tmp, target); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if _, keep := files[e.Name()]; !keep {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// remove deletes the pod's volume directories.
func (v *podVolumes) remove() error {
	return os.RemoveAll(v.root)
}
