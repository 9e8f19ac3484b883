package ociimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readArchive(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
	}
}

func blobOf(t *testing.T, files map[string][]byte, digest string) []byte {
	t.Helper()
	data, ok := files["blobs/sha256/"+strings.TrimPrefix(digest, "sha256:")]
	if !ok {
		t.Fatalf("no blob %s in the archive", digest)
	}
	sum := sha256.Sum256(data)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != digest {
		t.Fatalf("blob %s has digest %s", digest, got)
	}
	return data
}

// TestWriteIsAConsistentReproducibleLayout checks what an importer relies
// on: every descriptor points at a blob with that digest, the config's
// diff ID is the layer's, the index names the image, and the same input
// gives the same bytes.
func TestWriteIsAConsistentReproducibleLayout(t *testing.T) {
	dir := t.TempDir()
	binary := filepath.Join(dir, "daemon")
	if err := os.WriteFile(binary, []byte("#!binary"), 0o700); err != nil {
		t.Fatal(err)
	}
	img := Image{Name: "quay.io/example/op:latest", Entrypoint: []string{"/usr/bin/daemon"}, User: "65532",
		Files: []File{{Path: "/usr/bin/daemon", Source: binary, Mode: 0o755}}}
	var first, second bytes.Buffer
	digest, err := Write(&first, img, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(&second, img, "amd64"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Error("two writes of one image differ")
	}

	files := readArchive(t, first.Bytes())
	var index struct {
		Manifests []descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 1 || index.Manifests[0].Digest != digest {
		t.Fatalf("index.json manifests = %+v, want one with digest %s", index.Manifests, digest)
	}
	if got := index.Manifests[0].Annotations["io.containerd.image.name"]; got != img.Name {
		t.Errorf("image name annotation = %q, want %q", got, img.Name)
	}
	if got := index.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; got != "latest" {
		t.Errorf("ref.name = %q, want latest", got)
	}
	var manifest struct {
		Config descriptor   `json:"config"`
		Layers []descriptor `json:"layers"`
	}
	if err := json.Unmarshal(blobOf(t, files, digest), &manifest); err != nil {
		t.Fatal(err)
	}
	var config struct {
		Config struct {
			Entrypoint []string
			User       string
		} `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(blobOf(t, files, manifest.Config.Digest), &config); err != nil {
		t.Fatal(err)
	}
	if len(manifest.Layers) != 1 || len(config.RootFS.DiffIDs) != 1 || config.RootFS.DiffIDs[0] != manifest.Layers[0].Digest {
		t.Fatalf("layers %+v and diff IDs %v disagree", manifest.Layers, config.RootFS.DiffIDs)
	}
	if config.Config.User != "65532" || config.Config.Entrypoint[0] != "/usr/bin/daemon" {
		t.Errorf("config = %+v", config.Config)
	}

	layer := tar.NewReader(bytes.NewReader(blobOf(t, files, manifest.Layers[0].Digest)))
	var entries []string
	for {
		h, err := layer.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, h.Name+" "+os.FileMode(h.Mode).String())
	}
	want := []string{"usr/ -rwxr-xr-x", "usr/bin/ -rwxr-xr-x", "usr/bin/daemon -rwxr-xr-x"}
	if strings.Join(entries, ",") != strings.Join(want, ",") {
		t.Errorf("layer entries = %v, want %v", entries, want)
	}
}

func TestWriteRefusesRelativePaths(t *testing.T) {
	_, err := Write(io.Discard, Image{Name: "x", Files: []File{{Path: "usr/bin/x", Source: "/dev/null"}}}, "amd64")
	if err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Fatalf("err = %v, want a refusal of the relative path", err)
	}
}

func TestTagOf(t *testing.T) {
	for name, want := range map[string]string{
		"quay.io/a/b:v1":            "v1",
		"localhost:5000/a/b":        "latest",
		"quay.io/a/b@sha256:abc":    "sha256:abc",
		"localhost:5000/a/b:v1.2.3": "v1.2.3",
	} {
		if got := tagOf(name); got != want {
			t.Errorf("tagOf(%q) = %q, want %q", name, got, want)
		}
	}
}
