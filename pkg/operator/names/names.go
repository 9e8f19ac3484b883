// Package names holds every fixed name the operator shares with manifests/,
// the daemon and the admins: namespaces, objects, environment variables and
// ports. manifests/ is written against these values; change both together.
package names

const (
	// OperatorNamespace is where the operator's Deployment runs and where its
	// events and leader-election lease live.
	OperatorNamespace = "openshift-http01-challenge-proxy-operator"
	// OperatorServiceAccount is the operator Deployment's ServiceAccount.
	OperatorServiceAccount = "http01-challenge-proxy-operator"
	// OperatorName names the operator in events, leader election and logs.
	OperatorName = "http01-challenge-proxy-operator"

	// OperandNamespace holds the proxy DaemonSet. The CVO creates it from
	// manifests/ with the privileged pod-security level the daemon needs.
	OperandNamespace = "openshift-http01-challenge-proxy"
	// OperandName names the proxy's DaemonSet, ServiceAccount, Role and
	// RoleBinding, and is the value of their "app" label.
	OperandName = "http01-challenge-proxy"
	// SecurityContextConstraints is the SCC in manifests/ that lets the
	// proxy use the host network and NET_ADMIN.
	SecurityContextConstraints = "http01-challenge-proxy"
	// OperandSCCRBAC names the Role and RoleBinding that grant the proxy's
	// ServiceAccount the use of SecurityContextConstraints.
	OperandSCCRBAC = OperandName + "-scc"

	// ClusterOperator is the ClusterOperator this operator reports on.
	ClusterOperator = "http01-challenge-proxy"
	// SingletonName is the name of both HTTP01ChallengeProxy singletons and
	// of the Infrastructure singleton.
	SingletonName = "cluster"
)

const (
	// OperandImageEnv names the operator's environment variable holding the
	// image the DaemonSet runs: the operator's own image, whose binary also
	// has the daemon subcommand.
	OperandImageEnv = "OPERAND_IMAGE"
	// ReleaseVersionEnv names the operator's environment variable holding the
	// OpenShift release version, reported on the ClusterOperator once the
	// DaemonSet of this release has rolled out.
	ReleaseVersionEnv = "RELEASE_VERSION"
	// OperatorVersionName is the ClusterOperator status.versions entry the
	// CVO waits for during an upgrade.
	OperatorVersionName = "operator"
)

const (
	// DaemonHealthPort is where the daemon serves /healthz and /readyz on
	// 127.0.0.1: outside 9000-9999, which OpenShift's host-port registry
	// keeps for reachable ports (docs/host-ports.md). The config API forbids
	// it as spec.customDeployment.internalPort.
	DaemonHealthPort int32 = 29448
	// DaemonMetricsPort is where the daemon serves /metrics over TLS on every
	// address of the node, for Prometheus to scrape. The config API forbids
	// it as spec.customDeployment.internalPort.
	DaemonMetricsPort int32 = 9450
)

// The daemon's metrics: a Service for Prometheus to discover the pods by,
// the serving certificate the service-ca operator issues for that Service,
// and the CA bundle that Prometheus's client certificate is verified
// against. bindata/ and manifests/ use the same names.
const (
	// MetricsService is the headless Service in the operand namespace that
	// the daemon's ServiceMonitor selects; its name is in the serving
	// certificate and in the ServiceMonitor's tlsConfig.serverName.
	MetricsService = "http01-challenge-proxy-metrics"
	// MetricsServingCertSecret is the Secret the service-ca operator fills
	// for MetricsService and the DaemonSet mounts.
	MetricsServingCertSecret = "metrics-serving-cert"
	// MetricsClientCAConfigMap is the operand namespace's copy of
	// AuthenticationConfigMap, which the DaemonSet mounts.
	MetricsClientCAConfigMap = "metrics-client-ca"
	// MetricsClientCAKey is the key of the client CA bundle in both
	// ConfigMaps.
	MetricsClientCAKey = "client-ca-file"

	// AuthenticationNamespace and AuthenticationConfigMap hold the CA
	// bundle that signs client certificates for this cluster, Prometheus's
	// among them. kube-apiserver publishes it there.
	AuthenticationNamespace = "kube-system"
	AuthenticationConfigMap = "extension-apiserver-authentication"
)
