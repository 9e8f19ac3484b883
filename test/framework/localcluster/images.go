package localcluster

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/ociimage"
)

// PauseImage is the pods' sandbox image: containerd needs one for every
// pod, and there is no registry to pull Kubernetes' own from.
const PauseImage = "localhost/local-cluster/pause:latest"

// PauseBinary is test/images/pause, built beside the local-cluster CLI.
const PauseBinary = "local-cluster-pause"

// imageSpec is a container image built from local binaries: each binary
// lands in /usr/bin, with the shared libraries it links, as in an image
// built on a base that ships them.
type imageSpec struct {
	name     string
	binaries []string
	// entrypoint is the image's, for containers without a command.
	entrypoint []string
	user       string
	// role, if set, is the only role of node whose pods run the image.
	role NodeRole
}

// localImages are the images the cluster's containers run: the operator's
// (both binaries, as Dockerfile.rhel lays them out, under the operand and
// the Deployment's image names, which are one image in the payload),
// cert-manager's solver, and the sandbox.
func (s *State) localImages(tools map[string]string) []imageSpec {
	bin := filepath.Join(s.RepoRoot, "_output", "bin")
	operator := []string{filepath.Join(bin, OperatorBinary), filepath.Join(bin, DaemonBinary)}
	images := []imageSpec{
		{name: s.OperandImage, binaries: operator, entrypoint: []string{"/usr/bin/" + OperatorBinary}},
		{name: PauseImage, binaries: []string{filepath.Join(bin, PauseBinary)}, entrypoint: []string{"/usr/bin/" + PauseBinary}},
		// cert-manager's solver image runs as its distroless nonroot user.
		{name: SolverImage(s.CertManagerVersion), binaries: []string{tools["cert-manager-acmesolver"]},
			entrypoint: []string{"/usr/bin/cert-manager-acmesolver"}, user: "65532", role: RoleWorker},
	}
	if s.OperatorImage != "" && s.OperatorImage != s.OperandImage {
		images = append(images, imageSpec{name: s.OperatorImage, binaries: operator, entrypoint: images[0].entrypoint})
	}
	return images
}

func (spec imageSpec) runsOn(n Node) bool { return spec.role == "" || spec.role == n.Role }

// buildImageArchive writes spec as an OCI archive at out.
func buildImageArchive(spec imageSpec, out string) error {
	img := ociimage.Image{Name: spec.name, Entrypoint: spec.entrypoint, User: spec.user,
		Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}}
	libraries := map[string]string{}
	for _, binary := range spec.binaries {
		img.Files = append(img.Files, ociimage.File{Path: "/usr/bin/" + filepath.Base(binary), Source: binary, Mode: 0o755})
		libs, err := sharedLibraries(binary)
		if err != nil {
			return err
		}
		for inImage, local := range libs {
			libraries[inImage] = local
		}
	}
	for inImage, local := range libraries {
		img.Files = append(img.Files, ociimage.File{Path: inImage, Source: local, Mode: 0o755})
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := ociimage.Write(f, img, runtime.GOARCH); err != nil {
		f.Close()
		return fmt.Errorf("image %s: %w", spec.name, err)
	}
	return f.Close()
}

// sharedLibraries maps the paths a dynamically linked binary loads its
// libraries from, the dynamic loader included, to the local files: a cgo
// build of the operator links glibc, which a real base image ships. A
// static binary has none.
func sharedLibraries(binary string) (map[string]string, error) {
	out, err := exec.Command("ldd", binary).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("not a dynamic executable")) {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %w: %s", binary, err, out)
	}
	return parseLdd(out)
}

// parseLdd reads ldd's lines: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6
// (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)". The kernel's vDSO has
// no file.
func parseLdd(out []byte) (map[string]string, error) {
	libs := map[string]string{}
	scanner := bufio.NewScanner(bytes.NewReader(out))
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		var file string
		switch {
		case len(fields) >= 3 && fields[1] == "=>":
			file = fields[2]
		case len(fields) >= 1 && path.IsAbs(fields[0]):
			file = fields[0]
		default:
			continue
		}
		if !path.IsAbs(file) {
			return nil, fmt.Errorf("ldd: cannot place %q", scanner.Text())
		}
		libs[path.Clean(file)] = file
	}
	return libs, scanner.Err()
}
