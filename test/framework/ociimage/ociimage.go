// Package ociimage builds container images from local files, without a
// container engine: one uncompressed layer, written as an OCI image layout
// in a tar archive that `ctr images import` takes.
//
// The archive is reproducible: the same files and config give the same
// bytes, so an image's digest changes only when its content does, and an
// import of an unchanged image is a no-op.
package ociimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// File is one regular file of the image.
type File struct {
	// Path is absolute, inside the image.
	Path string
	// Source is the local file copied in.
	Source string
	// Mode is the file's permission bits.
	Mode os.FileMode
}

// Image is what to build.
type Image struct {
	// Name is the reference the runtime knows the image by, such as
	// quay.io/openshift/origin-foo:latest.
	Name       string
	Files      []File
	Entrypoint []string
	Env        []string
	// User is numeric, so that runAsNonRoot can be checked without a passwd
	// file.
	User string
}

// epoch is every entry's modification time, for reproducible layers.
var epoch = time.Unix(0, 0).UTC()

const (
	mediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	mediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar"
)

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *platform         `json:"platform,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

type blob struct {
	digest string
	data   []byte
}

func newBlob(data []byte) blob {
	sum := sha256.Sum256(data)
	return blob{digest: "sha256:" + hex.EncodeToString(sum[:]), data: data}
}

func (b blob) descriptor(mediaType string) descriptor {
	return descriptor{MediaType: mediaType, Digest: b.digest, Size: int64(len(b.data))}
}

// Write writes img as an OCI image layout archive for architecture arch
// (GOARCH spelling) and returns the manifest's digest.
func Write(w io.Writer, img Image, arch string) (string, error) {
	layer, err := layerTar(img.Files)
	if err != nil {
		return "", err
	}
	layerBlob := newBlob(layer)
	config, err := json.Marshal(map[string]any{
		"architecture": arch,
		"os":           "linux",
		"created":      epoch.Format(time.RFC3339),
		"config": map[string]any{
			"Entrypoint": img.Entrypoint,
			"Env":        img.Env,
			"User":       img.User,
		},
		// The layer is not compressed, so its diff ID is its digest.
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{layerBlob.digest}},
	})
	if err != nil {
		return "", err
	}
	configBlob := newBlob(config)
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     mediaTypeManifest,
		"config":        configBlob.descriptor(mediaTypeConfig),
		"layers":        []descriptor{layerBlob.descriptor(mediaTypeLayer)},
	})
	if err != nil {
		return "", err
	}
	manifestBlob := newBlob(manifest)
	manifestDesc := manifestBlob.descriptor(mediaTypeManifest)
	manifestDesc.Platform = &platform{Architecture: arch, OS: "linux"}
	// containerd names the imported image after io.containerd.image.name;
	// ref.name is the OCI spelling other tools read.
	manifestDesc.Annotations = map[string]string{
		"io.containerd.image.name":          img.Name,
		"org.opencontainers.image.ref.name": tagOf(img.Name),
	}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests":     []descriptor{manifestDesc},
	})
	if err != nil {
		return "", err
	}

	tw := tar.NewWriter(w)
	entries := []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
	}
	for _, b := range []blob{layerBlob, configBlob, manifestBlob} {
		entries = append(entries, struct {
			name string
			data []byte
		}{"blobs/sha256/" + strings.TrimPrefix(b.digest, "sha256:"), b.data})
	}
	for _, e := range entries {
		if err := writeEntry(tw, e.name, 0o644, e.data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	return manifestBlob.digest, nil
}

// tagOf is the tag or digest part of a reference, as ref.name wants it.
func tagOf(name string) string {
	if i := strings.LastIndex(name, "@"); i >= 0 {
		return name[i+1:]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return name[i+1:]
	}
	return "latest"
}

// layerTar is the image's one layer: the files and their parent
// directories, in a fixed order.
func layerTar(files []File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	written := map[string]bool{}
	for _, f := range sorted {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path {
			return nil, fmt.Errorf("image file %q: path must be absolute and clean", f.Path)
		}
		for _, dir := range parents(f.Path) {
			if written[dir] {
				continue
			}
			written[dir] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: epoch}); err != nil {
				return nil, err
			}
		}
		data, err := os.ReadFile(f.Source)
		if err != nil {
			return nil, fmt.Errorf("image file %s: %w", f.Path, err)
		}
		if err := writeEntry(tw, strings.TrimPrefix(f.Path, "/"), int64(f.Mode.Perm()), data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// parents lists the directories above p, outermost first, without the
// leading slash: /usr/bin/x gives usr, usr/bin.
func parents(p string) []string {
	var dirs []string
	for dir := path.Dir(p); dir != "/"; dir = path.Dir(dir) {
		dirs = append(dirs, strings.TrimPrefix(dir, "/"))
	}
	slices.Reverse(dirs)
	return dirs
}

func writeEntry(tw *tar.Writer, name string, mode int64, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}
