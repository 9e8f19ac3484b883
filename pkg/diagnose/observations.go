// Package diagnose answers "which hop fails?" when cert-manager cannot get a
// certificate for api.<cluster>.<domain> through the HTTP-01 challenge
// proxy. It looks at every hop an ACME CA's validation request takes (DNS,
// port 80 of the API VIPs, the redirect and proxy, the router) and, with a
// kubeconfig, at what the cluster says about them (the configuration, the
// operator, the proxy's pods, cert-manager's Challenges), and prints one
// line per hop with what to do next.
//
// It is split in two: observe*.go gather Observations (DNS, HTTP, API
// reads), and verdict.go, a pure function of those, turns them into Checks.
// Tests judge recorded observations; the integration tests run the whole
// command against a real daemon.
package diagnose

import "net/netip"

// Observations is everything diagnose saw, the input of Judge.
type Observations struct {
	// Domain is the name being diagnosed, e.g. api.mycluster.example.com.
	Domain string
	DNS    DNSObservation
	// Addresses has one entry per resolved address, in DNS order.
	Addresses []AddressObservation
	// Cluster is nil when no kubeconfig was given.
	Cluster *ClusterObservation
}

// DNSObservation is the answer to an A and AAAA lookup of the domain.
type DNSObservation struct {
	// Server is the --dns-server asked, empty for the system resolver.
	Server    string
	Addresses []netip.Addr
	// NotFound: the name does not exist or has no A or AAAA record.
	NotFound bool
	// Failure says why the lookup failed otherwise.
	Failure string
}

// AddressObservation is what port 80 of one resolved address answered.
type AddressObservation struct {
	Address netip.Addr
	// Challenge is the answer to GET of a random, well-formed token.
	Challenge HTTPObservation
	// Filter is the answer to GET /, which the proxy must refuse.
	Filter HTTPObservation
	// Solvers are the answers for the tokens of pending cert-manager
	// Challenges for the domain.
	Solvers []SolverObservation
}

// HTTPObservation is one request's outcome: a Failure, or a response.
type HTTPObservation struct {
	// Failure says why no response came back ("connection refused").
	Failure string
	Status  int
	// Via, ProxyStatus and Server are the response's header values.
	Via, ProxyStatus, Server string
	// Body is the start of the response body.
	Body string
}

// Answered reports whether a response came back.
func (h HTTPObservation) Answered() bool { return h.Failure == "" }

// SolverObservation is the answer for a pending Challenge's own token.
type SolverObservation struct {
	Challenge ChallengeObservation
	Answer    HTTPObservation
}

// ClusterObservation is what the cluster's API says.
type ClusterObservation struct {
	Infrastructure InfrastructureObservation
	// The rest is read only when the Infrastructure could be read: if the
	// API cannot be reached, each would fail the same way.
	Config          ConfigObservation
	ClusterOperator ClusterOperatorObservation
	DaemonSet       DaemonSetObservation
	CertManager     CertManagerObservation
}

// InfrastructureObservation is config.openshift.io/v1 Infrastructure
// "cluster".
type InfrastructureObservation struct {
	// Failure says why it could not be read.
	Failure      string
	APIServerURL string
	Platform     string
	APIVIPs      []netip.Addr
	IngressVIPs  []netip.Addr
}

// Condition is a status condition, as any API kind writes it.
type Condition struct {
	Type, Status, Reason, Message string
}

// ConfigObservation is http01challengeproxies.config.openshift.io/cluster.
type ConfigObservation struct {
	Failure  string
	NotFound bool
	Mode     string
	// Ready is nil while the operator has not written it.
	Ready *Condition
}

// ClusterOperatorObservation is the operator's ClusterOperator.
type ClusterOperatorObservation struct {
	Failure    string
	NotFound   bool
	Conditions []Condition
}

// DaemonSetObservation is the proxy's pods and the control-plane nodes
// they should run on.
type DaemonSetObservation struct {
	// Failure says why the pods could not be listed.
	Failure string
	// NodesFailure says why the nodes could not be listed; the pods are
	// then judged on their own.
	NodesFailure string
	// ControlPlaneNodes are the nodes the DaemonSet selects.
	ControlPlaneNodes []string
	Pods              []PodObservation
}

// PodObservation is one pod of the proxy's DaemonSet.
type PodObservation struct {
	Name, Node string
	Ready      bool
	Phase      string
	// Waiting is the reason a container waits (CrashLoopBackOff), if any.
	Waiting string
}

// CertManagerObservation is cert-manager's view of the domain.
type CertManagerObservation struct {
	Failure string
	// Installed: the API serves acme.cert-manager.io/v1 challenges.
	Installed bool
	// Challenges are those for the domain, in all namespaces.
	Challenges []ChallengeObservation
	// SolverPods are the HTTP-01 solver pods in those Challenges'
	// namespaces that wait for something.
	SolverPods []SolverPodObservation
}

// ChallengeObservation is one acme.cert-manager.io/v1 Challenge.
type ChallengeObservation struct {
	Namespace, Name string
	Type            string
	State           string
	Reason          string
	Presented       bool
	// Token and Key are what the solver serves: GET of the token must
	// return the key.
	Token, Key string
}

// Ref is namespace/name.
func (c ChallengeObservation) Ref() string { return c.Namespace + "/" + c.Name }

// Pending reports whether the Challenge still waits for validation.
func (c ChallengeObservation) Pending() bool { return c.State != "valid" }

// SolverPodObservation is an HTTP-01 solver pod that does not run.
type SolverPodObservation struct {
	Namespace, Name string
	// Waiting is its container's waiting reason (ImagePullBackOff), and
	// Message the kubelet's explanation.
	Waiting, Message string
	// Image is the waiting container's image.
	Image string `json:",omitempty"`
}
