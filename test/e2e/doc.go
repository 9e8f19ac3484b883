// Package e2e is the end-to-end suite of the HTTP-01 challenge proxy
// operator (build tag e2e). It is driven by $KUBECONFIG only, so it runs
// unchanged against a real bare-metal OpenShift cluster:
//
//	KUBECONFIG=~/cluster/auth/kubeconfig go test -tags e2e -count=1 -v ./test/e2e/
//
// It enables the proxy, changes its port, disables it, checks that the API
// server rejects bad configurations and that the ClusterOperator's
// relatedObjects exist, and puts back the configuration it found.
//
// When $E2E_LOCAL_HARNESS names the state file of a local cluster (make
// test-e2e does that, see test/framework/localcluster), it also gets real
// certificates from Pebble through the proxies' data plane, and fails the
// API VIP over to another control-plane node. On a real cluster those parts
// are skipped: the suite never sends traffic to the cluster's VIPs.
package e2e
