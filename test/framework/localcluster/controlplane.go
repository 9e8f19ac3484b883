package localcluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
)

const loopback = "127.0.0.1"

// Identities of the components. kube-controller-manager and kube-scheduler
// get the users the bootstrap RBAC policy has roles for, the kubelets the
// Node authorizer's; the simulators (kwok, service-ca, the router) are
// cluster admins, as they are not part of what is being tested; the operator authenticates as its ServiceAccount, so that
// it has exactly the RBAC of manifests/.
const (
	userControllerManager = "system:kube-controller-manager"
	userScheduler         = "system:kube-scheduler"
	userKwok              = "local-cluster:kwok"
	userServiceCA         = "local-cluster:service-ca"
	userRouter            = "local-cluster:router"
	groupMasters          = "system:masters"
	frontProxyUser        = "front-proxy-client"
	// prometheusUser is the identity of the in-cluster Prometheus.
	prometheusUser = "system:serviceaccount:openshift-monitoring:prometheus-k8s"
)

// Files of <dir>/pki that other processes read.
const (
	serviceCACertFile  = "service-ca.crt"
	serviceCAKeyFile   = "service-ca.key"
	prometheusCertFile = "prometheus-k8s.crt"
	prometheusKeyFile  = "prometheus-k8s.key"
)

// operatorUser is the user name of the operator's ServiceAccount.
func operatorUser() (string, []string) {
	return "system:serviceaccount:" + names.OperatorNamespace + ":" + names.OperatorServiceAccount,
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + names.OperatorNamespace}
}

// credentials are the cluster's PKI, written under <dir>/pki and
// <dir>/kubeconfigs.
type credentials struct {
	dir        string
	apiURL     string
	servingCA  *apiserver.CertificateAuthority
	clientCA   *apiserver.CertificateAuthority
	kubeconfig map[string]string // component -> kubeconfig path
	admin      *rest.Config
}

func (c *credentials) file(name string) string { return filepath.Join(c.dir, pkiDir, name) }

// newCredentials generates every key, certificate and kubeconfig of a
// cluster whose kube-apiserver listens on apiPort.
func newCredentials(dir string, apiPort int, adminKubeconfig string, kubeletNodes []Node, egressSocket string) (*credentials, error) {
	c := &credentials{dir: dir, apiURL: "https://" + net.JoinHostPort(loopback, strconv.Itoa(apiPort)), kubeconfig: map[string]string{}}
	var err error
	if c.servingCA, err = apiserver.NewCertificateAuthority("local-cluster-serving-ca"); err != nil {
		return nil, err
	}
	if c.clientCA, err = apiserver.NewCertificateAuthority("local-cluster-client-ca"); err != nil {
		return nil, err
	}
	serviceIP, err := firstServiceIP()
	if err != nil {
		return nil, err
	}
	servingCert, servingKey, err := c.servingCA.IssueServing("kube-apiserver",
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		[]net.IP{net.ParseIP(loopback), net.IPv6loopback, serviceIP})
	if err != nil {
		return nil, err
	}
	saKey, saPub, err := apiserver.NewServiceAccountKey()
	if err != nil {
		return nil, err
	}
	// The front proxy's CA and client certificate: kube-apiserver publishes
	// the CA in kube-system/extension-apiserver-authentication, where the
	// operator's delegated authentication expects it, as on OpenShift.
	frontProxyCA, err := apiserver.NewCertificateAuthority("local-cluster-front-proxy-ca")
	if err != nil {
		return nil, err
	}
	frontProxyCert, frontProxyKey, err := frontProxyCA.IssueClient(frontProxyUser, nil)
	if err != nil {
		return nil, err
	}
	// The service CA signs what OpenShift's service-ca operator would sign:
	// the serving certificates that Services ask for by annotation (see
	// ServiceCA). Its key is kept, for the service-ca process.
	serviceCA, err := apiserver.NewCertificateAuthority("local-cluster-service-ca")
	if err != nil {
		return nil, err
	}
	serviceCAKey, err := serviceCA.KeyPEM()
	if err != nil {
		return nil, err
	}
	// Prometheus' client certificate: the daemons let only it scrape
	// their metrics, which Issue reads as evidence.
	prometheusCert, prometheusKey, err := c.clientCA.IssueClient(prometheusUser, nil)
	if err != nil {
		return nil, err
	}
	kubeletClientCert, kubeletClientKey, err := c.clientCA.IssueClient(kubeletClientUser, nil)
	if err != nil {
		return nil, err
	}
	opUser, opGroups := operatorUser()
	cmUser, cmGroups := certManagerUser()
	files := map[string][]byte{
		serviceCACertFile:     serviceCA.CertPEM(),
		serviceCAKeyFile:      serviceCAKey,
		prometheusCertFile:    prometheusCert,
		prometheusKeyFile:     prometheusKey,
		"serving-ca.crt":      c.servingCA.CertPEM(),
		"client-ca.crt":       c.clientCA.CertPEM(),
		"apiserver.crt":       servingCert,
		"apiserver.key":       servingKey,
		"sa.key":              saKey,
		"sa.pub":              saPub,
		"front-proxy-ca.crt":  frontProxyCA.CertPEM(),
		"front-proxy.crt":     frontProxyCert,
		"front-proxy.key":     frontProxyKey,
		auditPolicyFile:       []byte(auditPolicy(opUser)),
		kubeletClientCertFile: kubeletClientCert,
		kubeletClientKeyFile:  kubeletClientKey,
		egressSelectorFile:    []byte(egressSelectorConfig(egressSocket)),
	}
	for name, data := range files {
		if err := os.WriteFile(c.file(name), data, 0o600); err != nil {
			return nil, err
		}
	}

	identities := map[string]struct {
		user   string
		groups []string
	}{
		"admin":                   {apiserver.AdminUser, []string{groupMasters}},
		"kube-controller-manager": {userControllerManager, nil},
		"kube-scheduler":          {userScheduler, nil},
		"kwok":                    {userKwok, []string{groupMasters}},
		"service-ca":              {userServiceCA, []string{groupMasters}},
		"operator":                {opUser, opGroups},
		"cert-manager":            {cmUser, cmGroups},
		// The router reads Ingresses, Services and EndpointSlices.
		"router": {userRouter, []string{groupMasters}},
	}
	// Real kubelets have the identities the Node authorizer knows.
	for _, n := range kubeletNodes {
		identities[nodeRuntime{node: n}.kubeletName()] = struct {
			user   string
			groups []string
		}{"system:node:" + n.Name, []string{"system:nodes"}}
	}
	for component, id := range identities {
		cert, key, err := c.clientCA.IssueClient(id.user, id.groups)
		if err != nil {
			return nil, err
		}
		cfg := &rest.Config{Host: c.apiURL, TLSClientConfig: rest.TLSClientConfig{CAData: c.servingCA.CertPEM(), CertData: cert, KeyData: key}}
		path := filepath.Join(dir, kubeconfigs, component+".kubeconfig")
		if component == "admin" {
			path = adminKubeconfig
			c.admin = cfg
		}
		if err := apiserver.WriteKubeconfigFile(path, cfg, id.user); err != nil {
			return nil, err
		}
		c.kubeconfig[component] = path
	}
	return c, nil
}

func firstServiceIP() (net.IP, error) {
	_, ipNet, err := net.ParseCIDR(ServiceCIDR)
	if err != nil {
		return nil, err
	}
	ip := append(net.IP(nil), ipNet.IP.To4()...)
	ip[len(ip)-1]++
	return ip, nil
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

// Control-plane component command lines. The components listen on loopback
// only, on ports chosen at start, so that several clusters (the demo's and
// the tests') can run side by side.

func etcdArgs(dir string, clientPort, peerPort int) []string {
	client := "http://" + net.JoinHostPort(loopback, strconv.Itoa(clientPort))
	peer := "http://" + net.JoinHostPort(loopback, strconv.Itoa(peerPort))
	return []string{
		"--name=local",
		"--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=local=" + peer,
		"--initial-cluster-state=new",
		// A throwaway cluster need not survive a power cut; fsync would
		// make every write wait for the disk.
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	}
}

func kubeAPIServerArgs(c *credentials, etcdPort, port int) []string {
	return []string{
		"--etcd-servers=http://" + net.JoinHostPort(loopback, strconv.Itoa(etcdPort)),
		"--bind-address=" + loopback,
		"--advertise-address=" + loopback,
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + c.file("kube-apiserver"),
		"--tls-cert-file=" + c.file("apiserver.crt"),
		"--tls-private-key-file=" + c.file("apiserver.key"),
		"--client-ca-file=" + c.file("client-ca.crt"),
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=" + apiserver.ServiceAccountIssuer,
		"--service-account-key-file=" + c.file("sa.pub"),
		"--service-account-signing-key-file=" + c.file("sa.key"),
		"--service-cluster-ip-range=" + ServiceCIDR,
		"--requestheader-client-ca-file=" + c.file("front-proxy-ca.crt"),
		"--requestheader-allowed-names=" + frontProxyUser,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + c.file("front-proxy.crt"),
		"--proxy-client-key-file=" + c.file("front-proxy.key"),
		"--allow-privileged=true",
		"--kubelet-client-certificate=" + c.file(kubeletClientCertFile),
		"--kubelet-client-key=" + c.file(kubeletClientKeyFile),
		"--kubelet-preferred-address-types=InternalIP",
		"--egress-selector-config-file=" + c.file(egressSelectorFile),
		// The only address is loopback, which Endpoints may not hold.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--audit-policy-file=" + c.file(auditPolicyFile),
		"--audit-log-path=" + filepath.Join(c.dir, logDir, AuditLogFile),
		"--audit-log-maxbackup=1",
		"--audit-log-maxsize=100",
	}
}

const auditPolicyFile = "audit-policy.yaml"

// Files of the API server's connections to the kubelets.
const (
	kubeletClientCertFile = "kubelet-client.crt"
	kubeletClientKeyFile  = "kubelet-client.key"
	egressSelectorFile    = "egress-selector.yaml"
)

// AuditLogFile, under the cluster's logs directory, records every request of
// the operator's ServiceAccount and every write, by anyone, to what the
// operator is judged on: its config, its DaemonSet and that DaemonSet's
// pods. The performance script counts the operator's idle writes by resource
// from it, and it answers "who changed this?" when a demo misbehaves. Only
// metadata: no bodies, so Secrets never reach the log. Everything else,
// notably the simulated nodes' heartbeats, is not logged, so the log stays
// small with 1000 nodes.
const AuditLogFile = "kube-apiserver-audit.log"

func auditPolicy(operatorUser string) string {
	return `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: [` + strconv.Quote(operatorUser) + `]
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
  resources:
  - group: config.openshift.io
    resources: [http01challengeproxies]
  - group: operator.openshift.io
    resources: [http01challengeproxies]
  - group: apps
    resources: [daemonsets]
  - group: ""
    resources: [pods, pods/status, pods/binding]
    namespaces: [` + strconv.Quote(names.OperandNamespace) + `]
- level: None
`
}

func kubeControllerManagerArgs(c *credentials, port int) []string {
	kubeconfig := c.kubeconfig["kube-controller-manager"]
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=" + loopback,
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + c.file("kube-controller-manager"),
		// One instance: leader election would only delay the start.
		"--leader-elect=false",
		// Each controller acts as its own ServiceAccount, with the
		// bootstrap policy's roles, as on a real cluster.
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + c.file("sa.key"),
		"--root-ca-file=" + c.file("serving-ca.crt"),
		"--cluster-name=" + ClusterName,
		"--profiling=false",
	}
}

func kubeSchedulerArgs(c *credentials, port int) []string {
	kubeconfig := c.kubeconfig["kube-scheduler"]
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=" + loopback,
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + c.file("kube-scheduler"),
		"--leader-elect=false",
		"--profiling=false",
	}
}

func kwokArgs(c *credentials, stagesFile string) []string {
	return []string{
		"--kubeconfig=" + c.kubeconfig["kwok"],
		"--config=" + stagesFile,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=" + kwokNodeValue,
		// Heartbeats through node leases, as kubelets do: fewer writes than
		// node status updates, which matters with thousands of workers.
		"--node-lease-duration-seconds=40",
		"--cidr=" + PodCIDR,
		// Its INFO level logs every lease renewal.
		"--v=WARN",
	}
}

// kwokStages tells kwok which pods to simulate: those of its nodes, except,
// should one land there, the operand namespace's and cert-manager's solver
// pods, which must run for real. Nodes get
// kwok's default stages (initialisation, then lease heartbeats), which apply
// when a configuration has no node stage.
func kwokStages(realNamespace string) string {
	return fmt.Sprintf(`# Generated by test/framework/localcluster: the pods kwok simulates.
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: simulated-pod-running
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: .metadata.namespace
      operator: NotIn
      values: [%[1]q]
    - key: .metadata.labels["%[2]s"]
      operator: DoesNotExist
    - key: .metadata.deletionTimestamp
      operator: DoesNotExist
    - key: .status.phase
      operator: NotIn
      values: [Running, Succeeded, Failed]
  next:
    statusTemplate: |
      {{ $now := Now }}
      phase: Running
      startTime: {{ $now | Quote }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      conditions:
      - type: Initialized
        status: "True"
        lastTransitionTime: {{ $now | Quote }}
      - type: ContainersReady
        status: "True"
        lastTransitionTime: {{ $now | Quote }}
      - type: Ready
        status: "True"
        lastTransitionTime: {{ $now | Quote }}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        started: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: simulated-pod-deleted
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: .metadata.namespace
      operator: NotIn
      values: [%[1]q]
    - key: .metadata.labels["%[2]s"]
      operator: DoesNotExist
    - key: .metadata.deletionTimestamp
      operator: Exists
  next:
    finalizers:
      empty: true
    delete: true
`, realNamespace, SolverPodLabel)
}

// readinessCheck is polled by waitReady until it succeeds.
type readinessCheck func(ctx context.Context) error

// waitReady polls check until it succeeds, the process exits, or timeout
// passes; the error then includes the tail of the process's log.
func waitReady(ctx context.Context, what string, p ProcessRecord, timeout time.Duration, check readinessCheck) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if p.PID != 0 && !p.Alive() {
			return fmt.Errorf("%s exited before it was ready; last lines of %s:\n%s", what, p.Log, tail(p.Log, 20))
		}
		checkCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(checkCtx)
		cancel()
		if last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			logTail := ""
			if p.Log != "" {
				logTail = fmt.Sprintf("; last lines of %s:\n%s", p.Log, tail(p.Log, 20))
			}
			return fmt.Errorf("%s not ready after %v: %v%s", what, timeout, last, logTail)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// httpCheck succeeds when GET url answers 200 and, if want is not empty,
// a body containing want.
func httpCheck(client *http.Client, url, want string) readinessCheck {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64*1024))
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			return fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, body)
		}
		return nil
	}
}

// insecureLoopbackClient checks the health endpoints of components that
// serve a self-signed certificate on loopback; /healthz needs no
// credentials.
func insecureLoopbackClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:           nil,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // health checks of local processes
	}}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
