package metricstest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Mount is a directory laid out the way the kubelet mounts a Secret or a
// ConfigMap volume: each file name is a symlink into "..data", itself a
// symlink to a directory holding one generation of the files. An update
// writes a new generation and swaps "..data" with one rename, so a reader
// never sees half of it, and every file gets a new inode.
type Mount struct {
	dir         string
	generations int
}

// NewMount returns an empty mount in dir, which must exist.
func NewMount(dir string) *Mount { return &Mount{dir: dir} }

// Path returns where a file of the mount is read from.
func (m *Mount) Path(name string) string { return filepath.Join(m.dir, name) }

// Write replaces the content of the mount with files, atomically.
func (m *Mount) Write(t testing.TB, files map[string][]byte) {
	t.Helper()
	m.generations++
	generation := fmt.Sprintf("..generation_%d", m.generations)
	if err := os.Mkdir(filepath.Join(m.dir, generation), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(m.dir, generation, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	staged := filepath.Join(m.dir, "..data_tmp")
	if err := os.Symlink(generation, staged); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(staged, filepath.Join(m.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for name := range files {
		link := filepath.Join(m.dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			t.Fatal(err)
		}
	}
	if m.generations > 1 {
		if err := os.RemoveAll(filepath.Join(m.dir, fmt.Sprintf("..generation_%d", m.generations-1))); err != nil {
			t.Fatal(err)
		}
	}
}
