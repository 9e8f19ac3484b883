package apiserver

import (
	"os"
	"strings"
	"time"
)

// Option configures Start.
type Option func(*options)

type options struct {
	toolsBin       string
	crdFiles       []string
	openShiftCRDs  bool
	manifestCRDs   bool
	apiServerArgs  []string
	etcdArgs       []string
	startTimeout   time.Duration
	keepDir        bool
	logTailLines   int
	apiServerGrace time.Duration
}

// KeepDirEnv names the environment variable that, set to 1, keeps every
// server's temporary directory after the test (see WithKeepDir).
const KeepDirEnv = "APISERVER_HARNESS_KEEP"

func defaultOptions() *options {
	return &options{
		openShiftCRDs:  true,
		manifestCRDs:   true,
		startTimeout:   2 * time.Minute,
		keepDir:        envBool(KeepDirEnv),
		logTailLines:   50,
		apiServerGrace: 30 * time.Second,
	}
}

func envBool(name string) bool {
	switch strings.ToLower(os.Getenv(name)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// WithToolsBin looks the binaries up in dir instead of $TOOLS_BIN or
// <repo>/_output/tools/bin.
func WithToolsBin(dir string) Option {
	return func(o *options) { o.toolsBin = dir }
}

// WithCRDFiles installs the CRDs of these files too, after the OpenShift and
// manifests/ ones.
func WithCRDFiles(paths ...string) Option {
	return func(o *options) { o.crdFiles = append(o.crdFiles, paths...) }
}

// WithoutOpenShiftCRDs skips installing the CRDs of _output/crds/openshift.
func WithoutOpenShiftCRDs() Option {
	return func(o *options) { o.openShiftCRDs = false }
}

// WithoutManifestCRDs skips installing the CRDs of <repo>/manifests.
func WithoutManifestCRDs() Option {
	return func(o *options) { o.manifestCRDs = false }
}

// WithAPIServerArgs adds kube-apiserver flags, in --name=value form. A flag
// the harness sets by default is replaced, not repeated.
func WithAPIServerArgs(args ...string) Option {
	return func(o *options) { o.apiServerArgs = append(o.apiServerArgs, args...) }
}

// WithEtcdArgs adds etcd flags, in --name=value form. A flag the harness sets
// by default is replaced, not repeated.
func WithEtcdArgs(args ...string) Option {
	return func(o *options) { o.etcdArgs = append(o.etcdArgs, args...) }
}

// WithStartTimeout bounds how long Start (and StartAPIServer) wait for etcd
// and kube-apiserver to become ready. The default is two minutes.
func WithStartTimeout(d time.Duration) Option {
	return func(o *options) { o.startTimeout = d }
}

// WithKeepDir keeps the temporary directory (data, certificates, logs) after
// the test instead of removing it. Setting APISERVER_HARNESS_KEEP=1 in the
// environment does the same for every server.
func WithKeepDir() Option {
	return func(o *options) { o.keepDir = true }
}

// WithLogTailLines sets how many lines of the kube-apiserver log are printed
// when the test fails (default 50; 0 prints none).
func WithLogTailLines(n int) Option {
	return func(o *options) { o.logTailLines = n }
}

// WithAPIServerStopGrace sets how long StopAPIServer waits after SIGTERM
// before it kills kube-apiserver (default 30s).
func WithAPIServerStopGrace(d time.Duration) Option {
	return func(o *options) { o.apiServerGrace = d }
}

// mergeArgs returns defaults with every --name=value of overrides replacing
// the default of the same name; overrides of new names are appended, in
// order. Arguments that are not --flags are appended as they are.
func mergeArgs(defaults, overrides []string) []string {
	name := func(arg string) string {
		if !strings.HasPrefix(arg, "-") {
			return ""
		}
		n := strings.TrimLeft(arg, "-")
		if i := strings.IndexByte(n, '='); i >= 0 {
			n = n[:i]
		}
		return n
	}
	overridden := map[string]bool{}
	for _, arg := range overrides {
		if n := name(arg); n != "" {
			overridden[n] = true
		}
	}
	out := make([]string, 0, len(defaults)+len(overrides))
	for _, arg := range defaults {
		if !overridden[name(arg)] {
			out = append(out, arg)
		}
	}
	return append(out, overrides...)
}
