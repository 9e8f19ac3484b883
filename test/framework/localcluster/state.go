package localcluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// StateEnv names the environment variable through which the end-to-end
// tests learn that they run against a local cluster, and where its state
// file is. Without it they use only $KUBECONFIG, as on a real cluster.
const StateEnv = "E2E_LOCAL_HARNESS"

// State is what a running local cluster is: written by Up to
// <dir>/state.json, read by Down, the CLI and the end-to-end tests.
type State struct {
	Instance string `json:"instance"`
	// Dir holds everything of the cluster: this file, pid files, logs,
	// certificates, etcd's data.
	Dir      string `json:"dir"`
	RepoRoot string `json:"repoRoot"`
	// Kubeconfig is the admin kubeconfig (group system:masters).
	Kubeconfig string   `json:"kubeconfig"`
	Topology   Topology `json:"topology"`
	// ReleaseVersion is the ClusterVersion's version, which the release
	// tooling writes into the manifests' RELEASE_VERSION.
	ReleaseVersion string `json:"releaseVersion"`
	// OperandImage is the operator's image, which also ships the daemon's binary;
	// it maps to the binaries of _output/bin.
	OperandImage string `json:"operandImage"`
	// OperatorImage is the image of the operator's Deployment, the same
	// image in the payload.
	OperatorImage string `json:"operatorImage,omitempty"`
	// Images maps images to the local directories of their binaries.
	Images Images `json:"images"`
	// ImageArchives are the local images' OCI archives, by image name.
	ImageArchives map[string]string `json:"imageArchives,omitempty"`
	// CgroupParent is the cgroup Up ran in; the kubelets' cgroup roots are
	// under it.
	CgroupParent string `json:"cgroupParent,omitempty"`
	// CertManagerVersion is the version of cert-manager that runs.
	CertManagerVersion string          `json:"certManagerVersion"`
	Pebble             PebbleEndpoints `json:"pebble"`
	// Ports are the loopback ports of the control plane, by component.
	Ports     map[string]int  `json:"ports"`
	Processes []ProcessRecord `json:"processes"`
	CreatedAt time.Time       `json:"createdAt"`
	// CertificatesExpire is when the cluster's certificates stop being
	// valid; the cluster must be recreated by then.
	CertificatesExpire time.Time `json:"certificatesExpire"`
}

// PebbleEndpoints are where the ACME CA of the internet namespace listens.
type PebbleEndpoints struct {
	// DirectoryURL is the ACME directory.
	DirectoryURL string `json:"directoryURL"`
	// ManagementURL serves the CA's roots and intermediates.
	ManagementURL string `json:"managementURL"`
	// ChallengeTestServerURL is pebble-challtestsrv's management API,
	// which sets the DNS records Pebble resolves challenge hosts with.
	ChallengeTestServerURL string `json:"challengeTestServerURL"`
	// DNSServer is pebble-challtestsrv's DNS server, Pebble's resolver.
	DNSServer string `json:"dnsServer"`
	// TLSCAFile is the CA of Pebble's HTTPS certificate.
	TLSCAFile string `json:"tlsCAFile"`
}

// Layout of a cluster directory.
const (
	stateFile   = "state.json"
	runDir      = "run"
	logDir      = "logs"
	pkiDir      = "pki"
	kubeconfigs = "kubeconfigs"
)

// ClusterDir is where the local cluster named instance keeps its files.
func ClusterDir(repoRoot, instance string) string {
	return filepath.Join(repoRoot, "_output", "local-cluster", instance)
}

// StatePath is the state file of a cluster directory.
func StatePath(dir string) string { return filepath.Join(dir, stateFile) }

// LoadState reads a state file.
func LoadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &State{}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// save writes the state file atomically: a reader never sees half a file.
func (s *State) save() error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := StatePath(s.Dir) + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, StatePath(s.Dir))
}

func (s *State) path(elem ...string) string {
	return filepath.Join(append([]string{s.Dir}, elem...)...)
}

// ComponentKubeconfig is the kubeconfig of a component of the cluster:
// "kwok", "operator", ...
func (s *State) ComponentKubeconfig(component string) string {
	return s.path(kubeconfigs, component+".kubeconfig")
}
