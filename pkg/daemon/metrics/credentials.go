package metrics

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"k8s.io/klog/v2"
)

// TLSFiles are the files the metrics server's TLS is made of, as Kubernetes
// mounts them: the serving certificate and key from the Secret the service-ca
// operator issues for the metrics Service, and the bundle of CAs that sign
// client certificates (client-ca-file of kube-system/
// extension-apiserver-authentication, which the operator copies into the
// daemon's namespace).
type TLSFiles struct {
	CertFile     string
	KeyFile      string
	ClientCAFile string
}

// credentials is what one handshake uses.
type credentials struct {
	certificate tls.Certificate
	clientCAs   *x509.CertPool
}

// errNoCredentials is returned until the files could be loaded once.
var errNoCredentials = errors.New("metrics TLS files not loaded yet")

// credentialReloader serves the credentials of TLSFiles as they are now. The
// serving pair and the client CA bundle come from different volumes that
// rotate on their own schedules, so each is reloaded, and can fail, on its
// own: a broken serving Secret does not hold back a new client CA.
type credentialReloader struct {
	serving   *reloadingFiles[tls.Certificate]
	clientCAs *reloadingFiles[*x509.CertPool]
}

func newCredentialReloader(files TLSFiles) *credentialReloader {
	return &credentialReloader{
		serving: &reloadingFiles[tls.Certificate]{
			what:     "metrics serving certificate",
			paths:    []string{files.CertFile, files.KeyFile},
			load:     func() (tls.Certificate, error) { return loadServingCertificate(files.CertFile, files.KeyFile) },
			describe: describeServingCertificate,
		},
		clientCAs: &reloadingFiles[*x509.CertPool]{
			what:     "metrics client CA bundle",
			paths:    []string{files.ClientCAFile},
			load:     func() (*x509.CertPool, error) { return loadClientCAs(files.ClientCAFile) },
			describe: func(*x509.CertPool) []any { return []any{"file", files.ClientCAFile} },
		},
	}
}

// get returns the credentials to use now.
func (r *credentialReloader) get() (*credentials, error) {
	certificate, certErr := r.serving.get()
	clientCAs, caErr := r.clientCAs.get()
	if err := errors.Join(certErr, caErr); err != nil {
		return nil, errors.Join(errNoCredentials, err)
	}
	return &credentials{certificate: certificate, clientCAs: clientCAs}, nil
}

// reloadingFiles holds what load makes of a set of files. On every get it
// stats the files (a few syscalls, far cheaper than the handshake that asks)
// and loads them again only when one of them changed, so that a rotation is
// picked up by the next handshake without a restart, and a file that stays
// broken is neither re-read nor re-logged on every handshake.
//
// A load that fails keeps what was loaded before: a load can straddle the
// kubelet's symlink swap and pair an old certificate with a new key, and the
// next get sees new versions and loads again.
type reloadingFiles[T any] struct {
	what     string
	paths    []string
	load     func() (T, error)
	describe func(T) []any // key-value pairs for the log

	mu       sync.Mutex
	versions []fileVersion // nil until the first load
	current  T
	loaded   bool
	err      error
}

// get returns the last value loaded, or the error of the last load if
// nothing was ever loaded.
func (r *reloadingFiles[T]) get() (T, error) {
	// Stat before reading: if a file changes in between, the next get sees
	// a new version and reads it again.
	versions := make([]fileVersion, len(r.paths))
	for i, path := range r.paths {
		versions[i] = statVersion(path)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.versions == nil || !slices.Equal(versions, r.versions) {
		r.versions = versions
		r.reload()
	}
	if !r.loaded {
		return r.current, fmt.Errorf("%s: %w", r.what, r.err)
	}
	return r.current, nil
}

func (r *reloadingFiles[T]) reload() {
	value, err := r.load()
	r.err = err
	switch {
	case err != nil && !r.loaded:
		klog.ErrorS(err, "Cannot load the "+r.what+" yet; metrics scrapes fail until it can be loaded (the proxy is not affected)", "files", r.paths)
	case err != nil:
		klog.ErrorS(err, "Cannot load the changed "+r.what+"; still using the previous one", "files", r.paths)
	default:
		verb := "Loaded the "
		if r.loaded {
			verb = "Reloaded the "
		}
		r.current, r.loaded = value, true
		klog.InfoS(verb+r.what, r.describe(value)...)
	}
}

// fileVersion tells one version of a file from another without reading it.
// The kubelet updates a mounted Secret or ConfigMap by writing new files into
// a new directory and swapping a symlink to it, so the path resolves to a new
// inode; an in-place rewrite changes the modification time or the size.
type fileVersion struct {
	missing  bool
	dev, ino uint64
	size     int64
	modTime  time.Time
}

func statVersion(path string) fileVersion {
	info, err := os.Stat(path)
	if err != nil {
		return fileVersion{missing: true}
	}
	v := fileVersion{size: info.Size(), modTime: info.ModTime()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		v.dev, v.ino = uint64(st.Dev), st.Ino
	}
	return v
}

// loadServingCertificate reads the serving pair, with its leaf parsed for
// the log and for the handshake (which then need not parse it each time).
func loadServingCertificate(certFile, keyFile string) (tls.Certificate, error) {
	certificate, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(certificate.Certificate[0])
	if err != nil {
		return tls.Certificate{}, err
	}
	certificate.Leaf = leaf
	return certificate, nil
}

func describeServingCertificate(c tls.Certificate) []any {
	return []any{"subject", c.Leaf.Subject.String(), "dnsNames", c.Leaf.DNSNames, "notAfter", c.Leaf.NotAfter}
}

func loadClientCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}
