package localcluster

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Images maps a container image to the local directory holding the
// binaries it ships: the local cluster's stand-in for pulling an image. The
// operator's image maps to _output/bin, where `make build` puts the binary
// the image is built from.
type Images map[string]string

// LocalBinary returns the local binary that runs container's command. The
// image must be one of images, the command must be set (the local cluster
// knows no image entrypoints) and its first word must name a file in the
// image's directory, as the command would on the image's PATH.
func (images Images) LocalBinary(c corev1.Container) (string, []string, error) {
	dir, ok := images[c.Image]
	if !ok {
		return "", nil, fmt.Errorf("container %q: image %q is not available locally (local images: %s)", c.Name, c.Image, images)
	}
	if len(c.Command) == 0 {
		return "", nil, fmt.Errorf("container %q: no command; the local cluster runs only containers with an explicit command", c.Name)
	}
	name := c.Command[0]
	if path.IsAbs(name) {
		// An absolute path inside the image: the binary is still found by
		// its name in the image's directory.
		name = path.Base(name)
	}
	binary := filepath.Join(dir, name)
	if st, err := os.Stat(binary); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", nil, fmt.Errorf("container %q: command %q: %s is not an executable file (run make build)", c.Name, c.Command[0], binary)
	}
	args := append(append([]string{}, c.Command[1:]...), c.Args...)
	return binary, args, nil
}

func (images Images) String() string {
	var names []string
	for image := range images {
		names = append(names, image)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// LocalOperator is the operator's Deployment turned into a local process.
type LocalOperator struct {
	Path string
	Args []string
	// Env is added to the local environment.
	Env []string
	// Files are written before the process starts: the contents of the
	// Deployment's volumes, at their local paths.
	Files map[string][]byte
	// Dirs are the local directories of the volumes, created first.
	Dirs []string
}

// LocalOperatorOptions say how the pod's world maps to this machine.
type LocalOperatorOptions struct {
	Images Images
	// VolumeRoot is where each volume gets a directory named after it.
	VolumeRoot string
	// ConfigMaps are the ConfigMaps the Deployment's volumes may name, by
	// name: the ones in manifests/.
	ConfigMaps map[string]*corev1.ConfigMap
	// Secrets are the contents of secrets that something other than the
	// CVO creates on a real cluster (the service-ca operator's serving
	// certificate), by name, then file name.
	Secrets map[string]map[string][]byte
	// PodName is the value of a metadata.name field reference.
	PodName string
	// ExtraArgs are appended to the container's: what a process outside a
	// pod needs, such as --kubeconfig and --namespace.
	ExtraArgs []string
}

// LocalOperatorCommand turns the operator's Deployment into a local command
// line: the container's command and args, its env (literal values and the
// pod's name and namespace), and its volumes materialised as local
// directories. Every mount path in the args and in the ConfigMaps' files is
// rewritten to its local directory, so that e.g. --config and the config
// file's certificate paths point at local files.
func LocalOperatorCommand(deploy *appsv1.Deployment, opts LocalOperatorOptions) (LocalOperator, error) {
	spec := deploy.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		return LocalOperator{}, fmt.Errorf("deployment %s has %d containers; the local cluster runs exactly one", deploy.Name, len(spec.Containers))
	}
	c := spec.Containers[0]
	binary, args, err := opts.Images.LocalBinary(c)
	if err != nil {
		return LocalOperator{}, fmt.Errorf("deployment %s: %w", deploy.Name, err)
	}
	op := LocalOperator{Path: binary, Files: map[string][]byte{}}

	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	// mount path -> local directory
	localDirs := map[string]string{}
	for _, m := range c.VolumeMounts {
		if m.SubPath != "" || m.SubPathExpr != "" {
			return LocalOperator{}, fmt.Errorf("deployment %s: volume mount %s uses a subPath, which the local cluster does not support", deploy.Name, m.Name)
		}
		v, ok := volumes[m.Name]
		if !ok {
			return LocalOperator{}, fmt.Errorf("deployment %s: volume mount %s names no volume", deploy.Name, m.Name)
		}
		dir := filepath.Join(opts.VolumeRoot, v.Name)
		files, err := volumeFiles(v, opts)
		if err != nil {
			return LocalOperator{}, fmt.Errorf("deployment %s: volume %s: %w", deploy.Name, v.Name, err)
		}
		op.Dirs = append(op.Dirs, dir)
		for name, content := range files {
			op.Files[filepath.Join(dir, name)] = content
		}
		localDirs[path.Clean(m.MountPath)] = dir
	}
	rewrite := mountPathRewriter(localDirs)
	for _, a := range args {
		op.Args = append(op.Args, rewrite(a))
	}
	op.Args = append(op.Args, opts.ExtraArgs...)
	for p, content := range op.Files {
		op.Files[p] = []byte(rewrite(string(content)))
	}

	for _, e := range c.Env {
		value, err := envValue(e, deploy.Namespace, opts.PodName)
		if err != nil {
			return LocalOperator{}, fmt.Errorf("deployment %s: %w", deploy.Name, err)
		}
		op.Env = append(op.Env, e.Name+"="+value)
	}
	return op, nil
}

// mountPathRewriter returns a function that replaces, in a text, every path
// under a mount path with the same path under the mount's local directory.
// A mount path counts only where a path starts (at the start of the text or
// after whitespace, '=', ':', ',' or a quote) and where it ends (at the end,
// '/', whitespace, ',' or a quote): /tmp is not in /var/tmp or /tmpfs. The
// text is scanned once, longest mount path first, so a nested mount wins and
// a local directory that itself lies under a mount path (a checkout in
// /tmp, with an emptyDir on /tmp) is never rewritten again.
func mountPathRewriter(localDirs map[string]string) func(string) string {
	var mountPaths []string
	for mp := range localDirs {
		mountPaths = append(mountPaths, mp)
	}
	sort.Slice(mountPaths, func(i, j int) bool { return len(mountPaths[i]) > len(mountPaths[j]) })
	startsPath := func(b byte) bool { return strings.IndexByte(" \t\n=:,\"'", b) >= 0 }
	endsPath := func(b byte) bool { return b == '/' || strings.IndexByte(" \t\n,\"'", b) >= 0 }
	return func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); {
			replaced := false
			if s[i] == '/' && (i == 0 || startsPath(s[i-1])) {
				for _, mp := range mountPaths {
					end := i + len(mp)
					if strings.HasPrefix(s[i:], mp) && (end == len(s) || endsPath(s[end])) {
						b.WriteString(localDirs[mp])
						i, replaced = end, true
						break
					}
				}
			}
			if !replaced {
				b.WriteByte(s[i])
				i++
			}
		}
		return b.String()
	}
}

// volumeFiles returns the files of a volume.
func volumeFiles(v corev1.Volume, opts LocalOperatorOptions) (map[string][]byte, error) {
	switch {
	case v.ConfigMap != nil:
		cm, ok := opts.ConfigMaps[v.ConfigMap.Name]
		if !ok {
			if v.ConfigMap.Optional != nil && *v.ConfigMap.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("ConfigMap %s is in no manifest", v.ConfigMap.Name)
		}
		files := map[string][]byte{}
		for k, s := range cm.Data {
			files[k] = []byte(s)
		}
		for k, b := range cm.BinaryData {
			files[k] = b
		}
		return selectItems(files, v.ConfigMap.Items)
	case v.Secret != nil:
		secret, ok := opts.Secrets[v.Secret.SecretName]
		if !ok {
			if v.Secret.Optional != nil && *v.Secret.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("secret %s is not provided by the local cluster", v.Secret.SecretName)
		}
		return selectItems(secret, v.Secret.Items)
	case v.EmptyDir != nil:
		return nil, nil
	default:
		return nil, fmt.Errorf("only configMap, secret and emptyDir volumes are supported")
	}
}

// selectItems applies a volume's items (key -> path), if any.
func selectItems(files map[string][]byte, items []corev1.KeyToPath) (map[string][]byte, error) {
	if len(items) == 0 {
		return files, nil
	}
	out := map[string][]byte{}
	for _, item := range items {
		content, ok := files[item.Key]
		if !ok {
			return nil, fmt.Errorf("item %s is missing", item.Key)
		}
		out[item.Path] = content
	}
	return out, nil
}

// envValue resolves an environment variable: a literal, or a reference to
// the pod's name or namespace.
func envValue(e corev1.EnvVar, namespace, podName string) (string, error) {
	if e.ValueFrom == nil {
		return e.Value, nil
	}
	if ref := e.ValueFrom.FieldRef; ref != nil {
		switch ref.FieldPath {
		case "metadata.name":
			return podName, nil
		case "metadata.namespace":
			return namespace, nil
		}
		return "", fmt.Errorf("env %s: field %s is not supported locally", e.Name, ref.FieldPath)
	}
	return "", fmt.Errorf("env %s: only literal values and fieldRefs to metadata.name and metadata.namespace are supported locally", e.Name)
}
