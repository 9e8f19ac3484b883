package apiserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// RootModule is the module path of the repository's root go.mod.
const RootModule = "github.com/openshift/cluster-http01-challenge-proxy-operator"

// ToolsBinEnv names the environment variable that overrides where the tool
// binaries (etcd, kube-apiserver, ...) are looked up.
const ToolsBinEnv = "TOOLS_BIN"

// BuildToolsScript is the script that builds the tool binaries, relative to
// the repository root.
const BuildToolsScript = "hack/build-tools.sh"

// RepoRoot returns the repository root: the closest directory at or above
// the working directory whose go.mod declares RootModule (falling back to the
// closest go.mod of any module if none does).
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	firstModule := ""
	for dir := wd; ; {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			if modulePath(data) == RootModule {
				return dir, nil
			}
			if firstModule == "" {
				firstModule = dir
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if firstModule != "" {
		return firstModule, nil
	}
	return "", fmt.Errorf("no go.mod found at or above %s", wd)
}

func modulePath(goMod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(goMod))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`)
		}
	}
	return ""
}

// BinaryEnv names the environment variable that points the integration
// tests at another build of the project's binary.
const BinaryEnv = "HTTP01_PROXY_BINARY"

// BinaryUnderTest returns the project's binary the integration tests run:
// $HTTP01_PROXY_BINARY, or <repo>/_output/bin/cluster-http01-challenge-proxy-operator
// where `make build` puts it. A missing file fails the test, saying which.
func BinaryUnderTest(t testing.TB) string {
	t.Helper()
	path, hint := os.Getenv(BinaryEnv), BinaryEnv+" points at a missing file"
	if path == "" {
		root, err := RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		path, hint = filepath.Join(root, "_output", "bin", "cluster-http01-challenge-proxy-operator"), "run make build, or set "+BinaryEnv
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%v (%s)", err, hint)
	}
	return path
}

// DaemonBinaryUnderTest returns the daemon's own binary, which the DaemonSet
// runs: the file beside BinaryUnderTest's, where `make build` puts both.
func DaemonBinaryUnderTest(t testing.TB) string {
	t.Helper()
	path := filepath.Join(filepath.Dir(BinaryUnderTest(t)), "http01-challenge-proxy-daemon")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%v (run make build)", err)
	}
	return path
}

// ToolsBinDir returns the directory holding the tool binaries: $TOOLS_BIN if
// set, else <repo>/_output/tools/bin.
func ToolsBinDir() (string, error) {
	if dir := os.Getenv(ToolsBinEnv); dir != "" {
		return filepath.Abs(dir)
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "_output", "tools", "bin"), nil
}

// OpenShiftCRDDir returns <repo>/_output/crds/openshift, where
// hack/fetch-openshift-crds.sh puts the OpenShift CRDs.
func OpenShiftCRDDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "_output", "crds", "openshift"), nil
}

// OpenShiftCRDFiles lists the CRD files in OpenShiftCRDDir. It fails, naming
// the script to run, when there are none.
func OpenShiftCRDFiles() ([]string, error) {
	dir, err := OpenShiftCRDDir()
	if err != nil {
		return nil, err
	}
	files, err := yamlFiles(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no OpenShift CRDs in %s; fetch them with: %s crds (or hack/fetch-openshift-crds.sh)", dir, BuildToolsScript)
	}
	return files, nil
}

// ManifestFiles lists <repo>/manifests/*.yaml (and *.yml). A missing or
// empty manifests directory gives an empty list, not an error.
func ManifestFiles() ([]string, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	return yamlFiles(filepath.Join(root, "manifests"))
}

func yamlFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		if ext := filepath.Ext(name); ext == ".yaml" || ext == ".yml" {
			files = append(files, filepath.Join(dir, name))
		}
	}
	sort.Strings(files)
	return files, nil
}

// lookupTool returns the path of an executable tool in binDir, or an error
// that tells how to build it.
func lookupTool(binDir, name string) (string, error) {
	path := filepath.Join(binDir, name)
	st, err := os.Stat(path)
	switch {
	case err == nil && !st.IsDir() && st.Mode()&0o111 != 0:
		return path, nil
	case err == nil:
		return "", fmt.Errorf("%s is not an executable file", path)
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("%s not found: build the test tools first with `%s %s` (from the repository root), or point $%s at a directory holding them", path, BuildToolsScript, name, ToolsBinEnv)
	default:
		return "", err
	}
}
