// Package apiserver starts a real etcd and kube-apiserver for integration
// tests, with the OpenShift CRDs and the operator's own CRDs installed.
//
// The binaries are the pinned builds of hack/build-tools.sh in
// <repo>/_output/tools/bin (or $TOOLS_BIN); a test fails, naming the command
// to run, when they are missing: the harness never builds anything itself.
//
//	func TestSomething(t *testing.T) {
//		srv := apiserver.Start(t)
//		client := dynamic.NewForConfigOrDie(srv.RESTConfig())
//		...
//	}
//
// Everything the server needs lives in one temporary directory: etcd's data,
// generated certificates and keys, an admin kubeconfig, and the processes'
// logs. A t.Cleanup stops both processes and removes the directory, and on a
// test failure prints the tail of kube-apiserver's log.
//
// kube-apiserver authenticates clients by certificates of its own client CA
// and authorizes with Node,RBAC, so RESTConfig (user "admin" in
// system:masters) can do anything while UserConfig gives least-privilege
// identities.
package apiserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	// AdminUser is the user name of RESTConfig's client certificate.
	AdminUser = "admin"
	// AdminGroup is the group of RESTConfig's client certificate; RBAC's
	// bootstrap policy binds it to cluster-admin.
	AdminGroup = "system:masters"
	// ServiceClusterIPRange is kube-apiserver's --service-cluster-ip-range.
	// Nothing routes it: it is only a pool to allocate ClusterIPs from.
	ServiceClusterIPRange = "192.0.2.128/25"
	// ServiceAccountIssuer is kube-apiserver's --service-account-issuer.
	ServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

	loopback = "127.0.0.1"
)

// Server is a running etcd plus kube-apiserver. Its methods are safe for
// concurrent use.
type Server struct {
	t    testing.TB
	opts *options
	dir  string

	etcd      *process
	apiServer *process
	etcdURL   string
	port      int

	clientCA   *certAuthority
	servingCA  *certAuthority
	admin      *rest.Config
	kubeconfig string

	// lifecycle serializes starting and stopping kube-apiserver.
	lifecycle sync.Mutex
	stopOnce  sync.Once
}

// Start starts etcd and kube-apiserver, installs the CRDs and returns once
// the server is ready. It fails the test (t.Fatal) on any error, so call it
// from the test's goroutine. The server is stopped by a t.Cleanup.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	o := defaultOptions()
	for _, opt := range opts {
		opt(o)
	}
	s, err := start(t, o)
	if err != nil {
		// The cleanup registered by start prints the logs' tails.
		t.Fatalf("starting kube-apiserver test server: %v", err)
	}
	return s
}

func start(t testing.TB, o *options) (*Server, error) {
	binDir := o.toolsBin
	if binDir == "" {
		var err error
		if binDir, err = ToolsBinDir(); err != nil {
			return nil, err
		}
	}
	etcdBin, err := lookupTool(binDir, "etcd")
	if err != nil {
		return nil, err
	}
	apiServerBin, err := lookupTool(binDir, "kube-apiserver")
	if err != nil {
		return nil, err
	}

	// Resolve the CRD files before starting anything, so that a missing
	// `hack/build-tools.sh crds` fails fast.
	var crdFiles []string
	if o.openShiftCRDs {
		files, err := OpenShiftCRDFiles()
		if err != nil {
			return nil, err
		}
		crdFiles = append(crdFiles, files...)
	}
	if o.manifestCRDs {
		files, err := ManifestFiles()
		if err != nil {
			return nil, err
		}
		crdFiles = append(crdFiles, files...)
	}
	crdFiles = append(crdFiles, o.crdFiles...)
	crds, err := ReadCRDs(crdFiles...)
	if err != nil {
		return nil, err
	}

	reapStaleDirs(t)
	dir, err := os.MkdirTemp("", tempDirPrefix)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{t: t, opts: o, dir: dir}
	// Registered first so that it also runs when the rest of start fails.
	t.Cleanup(s.cleanup)

	if err := s.writeCredentials(); err != nil {
		return s, err
	}

	s.etcd = &process{name: "etcd", path: etcdBin, logPath: filepath.Join(dir, "etcd.log")}
	if err := s.startEtcd(); err != nil {
		return s, err
	}

	s.apiServer = &process{name: "kube-apiserver", path: apiServerBin, logPath: filepath.Join(dir, "kube-apiserver.log")}
	if err := s.startAPIServerFirstTime(); err != nil {
		return s, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.startTimeout)
	defer cancel()
	if err := InstallCRDs(ctx, s.admin, crds...); err != nil {
		return s, err
	}
	t.Logf("kube-apiserver %s ready (etcd %s, dir %s, %d CRDs)", s.Host(), s.etcdURL, dir, len(crds))
	return s, nil
}

// writeCredentials generates the CAs, the serving certificate, the admin
// client certificate, the service-account key and the admin kubeconfig.
func (s *Server) writeCredentials() error {
	var err error
	if s.servingCA, err = newCertAuthority("kube-apiserver-test-serving-ca"); err != nil {
		return err
	}
	if s.clientCA, err = newCertAuthority("kube-apiserver-test-client-ca"); err != nil {
		return err
	}
	serving, err := s.servingCA.issueServing("kube-apiserver",
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		[]net.IP{net.ParseIP(loopback), net.IPv6loopback, firstServiceIP()})
	if err != nil {
		return err
	}
	admin, err := s.clientCA.issueClient(AdminUser, []string{AdminGroup})
	if err != nil {
		return err
	}
	saKey, saPub, err := newServiceAccountKey()
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"serving-ca.crt": s.servingCA.certPEM,
		"client-ca.crt":  s.clientCA.certPEM,
		"apiserver.crt":  serving.certPEM,
		"apiserver.key":  serving.keyPEM,
		"admin.crt":      admin.certPEM,
		"admin.key":      admin.keyPEM,
		"sa.key":         saKey,
		"sa.pub":         saPub,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(s.dir, name), data, 0o600); err != nil {
			return err
		}
	}

	// The port is chosen once and kept across StopAPIServer/StartAPIServer,
	// so that RESTConfig and the kubeconfig stay valid.
	if s.port, err = freePort(); err != nil {
		return err
	}
	s.admin = s.configFor(admin)
	s.kubeconfig = filepath.Join(s.dir, "admin.kubeconfig")
	return writeKubeconfig(s.kubeconfig, s.admin, AdminUser)
}

func firstServiceIP() net.IP {
	_, ipNet, err := net.ParseCIDR(ServiceClusterIPRange)
	if err != nil {
		panic(err)
	}
	ip := ipNet.IP.To4()
	first := make(net.IP, len(ip))
	copy(first, ip)
	first[len(first)-1]++
	return first
}

func (s *Server) configFor(kp *keyPair) *rest.Config {
	return &rest.Config{
		Host: s.Host(),
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   s.servingCA.certPEM,
			CertData: kp.certPEM,
			KeyData:  kp.keyPEM,
		},
		// Tests create objects in bursts; the client-side defaults (5 QPS)
		// only slow them down.
		QPS:   100,
		Burst: 200,
	}
}

func writeKubeconfig(path string, cfg *rest.Config, user string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
	}
	kc.AuthInfos[user] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
	}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: user, Namespace: "default"}
	kc.CurrentContext = "test"
	return clientcmd.WriteToFile(*kc, path)
}

const (
	tempDirPrefix = "kube-apiserver-test-"
	// ownerFile in a server directory holds the pid of the test process.
	ownerFile = "owner.pid"
)

// reapStaleDirs removes the directories that test processes killed without
// running their cleanups (a test timeout, SIGKILL) left behind: their
// etcd and kube-apiserver died with them, thanks to Pdeathsig, but the etcd
// data stays on disk.
func reapStaleDirs(t testing.TB) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempDirPrefix+"*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // kept on purpose, or still being set up
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if err := os.RemoveAll(dir); err == nil {
			t.Logf("removed %s, left behind by the dead test process %d", dir, pid)
		}
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

const portRetries = 3

func (s *Server) startEtcd() error {
	for attempt := 1; ; attempt++ {
		clientPort, err := freePort()
		if err != nil {
			return err
		}
		peerPort, err := freePort()
		if err != nil {
			return err
		}
		s.etcdURL = "http://" + net.JoinHostPort(loopback, strconv.Itoa(clientPort))
		peerURL := "http://" + net.JoinHostPort(loopback, strconv.Itoa(peerPort))
		s.etcd.args = mergeArgs([]string{
			"--name=test",
			"--data-dir=" + filepath.Join(s.dir, "etcd"),
			"--listen-client-urls=" + s.etcdURL,
			"--advertise-client-urls=" + s.etcdURL,
			"--listen-peer-urls=" + peerURL,
			"--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=test=" + peerURL,
			"--initial-cluster-state=new",
			// Test data need not survive a power cut.
			"--unsafe-no-fsync=true",
			"--log-level=warn",
		}, s.opts.etcdArgs)
		if err := s.etcd.start(); err != nil {
			return err
		}
		err = s.waitReady(s.etcd, s.etcdReady)
		if err == nil {
			return nil
		}
		_ = s.etcd.kill()
		if attempt < portRetries && logContains(s.etcd.logPath, "address already in use") {
			s.t.Logf("etcd lost a port race, retrying with other ports")
			continue
		}
		return fmt.Errorf("etcd: %w", err)
	}
}

func (s *Server) etcdReady(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.etcdURL+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
		return fmt.Errorf("/health: %s: %s", resp.Status, body)
	}
	return nil
}

func (s *Server) apiServerArgs() []string {
	return mergeArgs([]string{
		"--etcd-servers=" + s.etcdURL,
		"--bind-address=" + loopback,
		"--advertise-address=" + loopback,
		"--secure-port=" + strconv.Itoa(s.port),
		"--cert-dir=" + filepath.Join(s.dir, "apiserver-certs"),
		"--tls-cert-file=" + filepath.Join(s.dir, "apiserver.crt"),
		"--tls-private-key-file=" + filepath.Join(s.dir, "apiserver.key"),
		"--client-ca-file=" + filepath.Join(s.dir, "client-ca.crt"),
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=" + ServiceAccountIssuer,
		"--service-account-key-file=" + filepath.Join(s.dir, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(s.dir, "sa.key"),
		"--service-cluster-ip-range=" + ServiceClusterIPRange,
		"--allow-privileged=true",
		// The only address is loopback, which Endpoints may not hold.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}, s.opts.apiServerArgs)
}

func (s *Server) startAPIServerFirstTime() error {
	for attempt := 1; ; attempt++ {
		err := s.StartAPIServer()
		if err == nil {
			return nil
		}
		if attempt < portRetries && !s.apiServer.running() && logContains(s.apiServer.logPath, "address already in use") {
			s.t.Logf("kube-apiserver lost a port race, retrying with another port")
			if s.port, err = freePort(); err != nil {
				return err
			}
			s.admin.Host = s.Host()
			if err := writeKubeconfig(s.kubeconfig, s.admin, AdminUser); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// StartAPIServer (re)starts kube-apiserver on the same port, with the same
// certificates and etcd, and waits until it is ready. Use it after
// StopAPIServer; it is an error while kube-apiserver is running.
func (s *Server) StartAPIServer() error {
	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()
	s.apiServer.args = s.apiServerArgs()
	if err := s.apiServer.start(); err != nil {
		return err
	}
	if err := s.waitReady(s.apiServer, s.apiServerReady); err != nil {
		_ = s.apiServer.kill()
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	return nil
}

// StopAPIServer stops kube-apiserver (SIGTERM, then SIGKILL after the grace
// period of WithAPIServerStopGrace) and leaves etcd running, so that clients
// see the API go away. StartAPIServer brings it back. Stopping a stopped
// server is a no-op.
func (s *Server) StopAPIServer() error {
	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()
	return s.apiServer.stop(s.opts.apiServerGrace)
}

// KillAPIServer kills kube-apiserver with SIGKILL, without a graceful
// shutdown. StartAPIServer brings it back.
func (s *Server) KillAPIServer() error {
	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()
	return s.apiServer.kill()
}

// APIServerRunning reports whether the kube-apiserver process is running.
func (s *Server) APIServerRunning() bool {
	return s.apiServer.running()
}

// apiServerReady is nil once /readyz answers ok and the default namespace
// exists (readyz does not wait for the latter).
func (s *Server) apiServerReady(ctx context.Context) error {
	client, err := rest.HTTPClientFor(s.admin)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	for _, path := range []string{"/readyz", "/api/v1/namespaces/default"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Host()+path, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64*1024))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s: %s", path, resp.Status, body)
		}
	}
	return nil
}

// waitReady polls ready until it succeeds, the process exits or the start
// timeout passes.
func (s *Server) waitReady(p *process, ready func(context.Context) error) error {
	deadline := time.Now().Add(s.opts.startTimeout)
	var lastErr error
	for {
		if exited, err := p.exited(); exited {
			return fmt.Errorf("exited before it was ready (%v); log: %s", err, p.logPath)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		lastErr = ready(ctx)
		cancel()
		if lastErr == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %v; log: %s", s.opts.startTimeout, lastErr, p.logPath)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// RESTConfig returns a copy of the admin client configuration (user
// AdminUser in group AdminGroup).
func (s *Server) RESTConfig() *rest.Config {
	return rest.CopyConfig(s.admin)
}

// UserConfig returns a client configuration that authenticates as user in
// the given groups (plus system:authenticated, which kube-apiserver adds), by
// a client certificate of the server's client CA. Under RBAC such a user can
// do only what it is bound to.
func (s *Server) UserConfig(user string, groups ...string) (*rest.Config, error) {
	if user == "" {
		return nil, errors.New("UserConfig: empty user name")
	}
	kp, err := s.clientCA.issueClient(user, groups)
	if err != nil {
		return nil, err
	}
	return s.configFor(kp), nil
}

// KubeconfigPath returns the path of a kubeconfig file for the admin user,
// e.g. for kubectl or for a binary under test.
func (s *Server) KubeconfigPath() string {
	return s.kubeconfig
}

// WriteKubeconfig writes a kubeconfig file for cfg (one returned by
// RESTConfig or UserConfig) into the server's directory and returns its
// path.
func (s *Server) WriteKubeconfig(name string, cfg *rest.Config) (string, error) {
	path := filepath.Join(s.dir, name+".kubeconfig")
	return path, writeKubeconfig(path, cfg, name)
}

// Host returns kube-apiserver's URL, https://127.0.0.1:<port>.
func (s *Server) Host() string {
	return "https://" + net.JoinHostPort(loopback, strconv.Itoa(s.port))
}

// EtcdURL returns etcd's client URL.
func (s *Server) EtcdURL() string {
	return s.etcdURL
}

// Dir returns the server's temporary directory.
func (s *Server) Dir() string {
	return s.dir
}

// ServingCAData returns the PEM of the CA that signed kube-apiserver's
// serving certificate.
func (s *Server) ServingCAData() []byte {
	return append([]byte(nil), s.servingCA.certPEM...)
}

// APIServerLogPath returns the path of kube-apiserver's log file.
func (s *Server) APIServerLogPath() string {
	return s.apiServer.logPath
}

// EtcdLogPath returns the path of etcd's log file.
func (s *Server) EtcdLogPath() string {
	return s.etcd.logPath
}

// InstallCRDsFromFiles installs the CRDs of the given files as the admin
// user and waits until they are Established.
func (s *Server) InstallCRDsFromFiles(paths ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.startTimeout)
	defer cancel()
	return InstallCRDsFromFiles(ctx, s.admin, paths...)
}

// Stop stops kube-apiserver and etcd and removes the temporary directory
// (unless kept). It runs automatically in t.Cleanup; calling it earlier is
// fine, and calling it twice is a no-op.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.lifecycle.Lock()
		defer s.lifecycle.Unlock()
		if s.apiServer != nil {
			if err := s.apiServer.stop(s.opts.apiServerGrace); err != nil {
				s.t.Logf("stopping kube-apiserver: %v", err)
			}
		}
		if s.etcd != nil {
			if err := s.etcd.stop(10 * time.Second); err != nil {
				s.t.Logf("stopping etcd: %v", err)
			}
		}
		if s.opts.keepDir {
			// Without its owner file the directory is never reaped.
			_ = os.Remove(filepath.Join(s.dir, ownerFile))
			s.t.Logf("kept the kube-apiserver test directory %s", s.dir)
			return
		}
		if err := os.RemoveAll(s.dir); err != nil {
			s.t.Logf("removing %s: %v", s.dir, err)
		}
	})
}

func (s *Server) cleanup() {
	// Cleanups run before the testing package marks a panicking test as
	// failed, so a panic has to be detected separately.
	if s.t.Failed() || panicking() {
		s.t.Logf("test failed; kube-apiserver test directory %s\n%s", s.dir, s.logTails())
	}
	s.Stop()
}

// panicking reports whether the calling goroutine is unwinding a panic, i.e.
// whether runtime.gopanic is on its stack.
func panicking() bool {
	pcs := make([]uintptr, 128)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		if f.Function == "runtime.gopanic" {
			return true
		}
		if !more {
			return false
		}
	}
}

// logTails returns the tail of kube-apiserver's log (and of etcd's, when
// kube-apiserver never started) for a failure message.
func (s *Server) logTails() string {
	n := s.opts.logTailLines
	if n <= 0 {
		return ""
	}
	var b strings.Builder
	if s.apiServer != nil {
		fmt.Fprintf(&b, "--- last %d lines of %s ---\n%s\n", n, s.apiServer.logPath, tailFile(s.apiServer.logPath, n))
	}
	if s.etcd != nil && (s.apiServer == nil || !s.etcdHealthy()) {
		fmt.Fprintf(&b, "--- last %d lines of %s ---\n%s\n", n, s.etcd.logPath, tailFile(s.etcd.logPath, n))
	}
	return b.String()
}

func (s *Server) etcdHealthy() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.etcd.running() && s.etcdReady(ctx) == nil
}
