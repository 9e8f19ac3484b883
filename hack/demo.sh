#!/usr/bin/env bash
# make demo: the HTTP-01 challenge proxy on a simulated bare-metal OpenShift
# cluster, from a fresh clone, as root.
#
#   1. builds what is missing: the operator (make build), the pinned tools
#      (hack/build-tools.sh), iproute2 and nftables;
#   2. brings up the local cluster "demo" (hack/local-cluster/up.sh): a
#      control plane on loopback, 3 control-plane nodes and 2 workers
#      simulated by kwok, each control-plane node with a network namespace,
#      the operator as a local process;
#   3. enables the proxy as an admin would (kubectl patch);
#   4. waits for the ClusterOperator and the config's Ready condition;
#   5. runs the README's journey with the real cert-manager: its
#      ClusterIssuer, pointed at Pebble (an ACME CA in an "internet"
#      namespace) and trusting Pebble's root, and its Certificate for
#      api.cluster.example.test in openshift-config; cert-manager's solver
#      pod is reachable only through the router (the ingress VIP), so its
#      self-check and the CA's validation must go through the API VIP, the
#      nftables redirect and the proxy; then the README's step 4, which
#      names the Secret in the APIServer's namedCertificates;
#   6. checks every hop with the operator's diagnose subcommand, run where
#      the CA is;
#   7. prints what happened, and leaves the cluster running.
#
# make demo-down (hack/demo-down.sh) removes everything it created.
set -euo pipefail

# shellcheck source=hack/local-cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/local-cluster/lib.sh"

INSTANCE=demo
DIR="$(localcluster::dir "${INSTANCE}")"
KUBECONFIG="${DIR}/kubeconfig"
export KUBECONFIG
CONFIG=http01challengeproxies.config.openshift.io/cluster
CLUSTER_OPERATOR=clusteroperator/http01-challenge-proxy
WAIT_TIMEOUT=180s

localcluster::require_root
if localcluster::running "${INSTANCE}"; then
  cat >&2 <<EOF
A demo cluster is already running; this run changes nothing.
  Use it:    export KUBECONFIG=${KUBECONFIG}
  Remove it: make demo-down
EOF
  exit 1
fi

started=${SECONDS}
localcluster::prepare

# From here on a failure leaves the cluster up for inspection.
cluster_up=""
on_error() {
  local status=$?
  if [[ -n "${cluster_up}" ]]; then
    cat >&2 <<EOF

The demo failed (exit ${status}). The cluster is left running for inspection:
  export KUBECONFIG=${KUBECONFIG}
  logs: ${DIR}/logs (operator.log; pods/ holds the proxies' logs)
make demo-down removes it.
EOF
  fi
}
trap on_error ERR

localcluster::step "Bringing up the local cluster"
"${LOCAL_CLUSTER_BIN}" up --instance="${INSTANCE}"
cluster_up=1

patch='{"spec":{"mode":"DefaultDeployment"}}'
localcluster::step "Enabling the proxy, as an admin would: kubectl patch ${CONFIG} --type=merge -p '${patch}'"
"${KUBECTL}" patch "${CONFIG}" --type=merge -p "${patch}"

localcluster::step "Waiting for the ClusterOperator to roll the proxy out (Disabled=False, Available=True, Progressing=False) and the config to be Ready"
"${KUBECTL}" wait "${CLUSTER_OPERATOR}" --timeout="${WAIT_TIMEOUT}" \
  --for=jsonpath='{.status.conditions[?(@.type=="Disabled")].status}'=False
"${KUBECTL}" wait "${CLUSTER_OPERATOR}" --timeout="${WAIT_TIMEOUT}" --for=condition=Available=True
"${KUBECTL}" wait "${CLUSTER_OPERATOR}" --timeout="${WAIT_TIMEOUT}" --for=condition=Progressing=False
"${KUBECTL}" wait "${CONFIG}" --timeout="${WAIT_TIMEOUT}" --for=condition=Ready=True

# conditions prints the ClusterOperator's conditions that admins read, as
# Type=Status.
conditions() {
  local type line=""
  for type in Available Progressing Degraded Upgradeable Disabled; do
    line+="${type}=$("${KUBECTL}" get "${CLUSTER_OPERATOR}" -o jsonpath="{.status.conditions[?(@.type==\"${type}\")].status}") "
  done
  echo "${line% }"
}

localcluster::step "The README's journey: its ClusterIssuer (server: Pebble) and its Certificate for api.cluster.example.test; waiting for cert-manager to make it Ready"
certificate="$("${LOCAL_CLUSTER_BIN}" issue --instance="${INSTANCE}")"
"${KUBECTL}" wait -n openshift-config certificates.cert-manager.io/api-cert --timeout="${WAIT_TIMEOUT}" --for=condition=Ready=True >/dev/null

# The README's step 4, for this cluster's name.
serve_patch="$(sed -n "s/^ *oc patch apiserver cluster --type=merge -p '\(.*\)'\$/\1/p" "${REPO_ROOT}/README.md" | head -n 1)"
[[ -n "${serve_patch}" ]] || localcluster::die "README.md has no 'oc patch apiserver cluster' step"
serve_patch="${serve_patch//api.mycluster.example.com/api.cluster.example.test}"
localcluster::step "The README's step 4: kubectl patch apiserver cluster --type=merge -p '${serve_patch}'"
"${KUBECTL}" patch apiservers.config.openshift.io cluster --type=merge -p "${serve_patch}"

localcluster::step "Checking every hop with the operator's diagnose subcommand, from the internet namespace"
diagnosis="$("${LOCAL_CLUSTER_BIN}" diagnose --instance="${INSTANCE}")"
# The proxy of the node holding the API VIP, whose log shows the challenges.
holder_pod="$("${KUBECTL}" -n openshift-http01-challenge-proxy get pods --field-selector spec.nodeName=master-0 -o name)"

cat <<EOF

==============================================================================
 Done in $((SECONDS - started))s. The proxy serves ACME HTTP-01 challenges for the API hostname.
==============================================================================

\$ oc get clusteroperator http01-challenge-proxy
$("${KUBECTL}" get "${CLUSTER_OPERATOR}")
$(conditions)

\$ oc get http01challengeproxies.config.openshift.io cluster -o wide
$("${KUBECTL}" get "${CONFIG}" -o wide)
$("${KUBECTL}" get "${CONFIG}" -o jsonpath='API VIPs {.status.apiServerVIPs} -> port {.status.internalPort} -> ingress VIPs {.status.ingressVIPs}; {.status.readyNodes}/{.status.desiredNodes} control-plane nodes ready')

\$ oc -n openshift-config get certificate api-cert
$("${KUBECTL}" -n openshift-config get certificates.cert-manager.io api-cert -o wide)

${certificate}

\$ oc get apiserver cluster -o jsonpath='{.spec.servingCerts}'
$("${KUBECTL}" get apiservers.config.openshift.io cluster -o jsonpath='{.spec.servingCerts}')
(kube-apiserver's operator would now roll out a revision serving it; the local cluster has none.)

\$ oc -n openshift-http01-challenge-proxy get pods -o wide
$("${KUBECTL}" -n openshift-http01-challenge-proxy get pods -o wide)

\$ oc -n openshift-http01-challenge-proxy logs ${holder_pod} --tail=4   # its containerd and kubelet are real
$("${KUBECTL}" -n openshift-http01-challenge-proxy logs "${holder_pod}" --tail=4 | cut -c1-220)

\$ cluster-http01-challenge-proxy-operator diagnose --domain api.cluster.example.test   # from the internet, with the CA's DNS server
${diagnosis}

The cluster keeps running:
  export KUBECONFIG=${KUBECONFIG}
  export PATH=${TOOLS_BIN_DIR}:\$PATH      # the pinned kubectl
  kubectl get clusteroperator http01-challenge-proxy
  kubectl -n openshift-http01-challenge-proxy get daemonset,pods -o wide
  kubectl patch ${CONFIG} --type=merge -p '{"spec":{"mode":"CustomDeployment","customDeployment":{"internalPort":18888}}}'
  kubectl -n openshift-config get certificate,certificaterequest,order,challenge
  ${LOCAL_CLUSTER_BIN#"${REPO_ROOT}/"} issue                      # renew the Certificate, as cmctl renew does
  ${LOCAL_CLUSTER_BIN#"${REPO_ROOT}/"} move-api-vip --to=master-1 # fail the API VIP over, then renew again
  ${LOCAL_CLUSTER_BIN#"${REPO_ROOT}/"} diagnose                   # check every hop again
  kubectl -n openshift-http01-challenge-proxy logs ${holder_pod}
  logs: ${DIR#"${REPO_ROOT}/"}/logs (operator.log, cert-manager.log, kubelet-<node>.log, containerd-<node>.log; pods/ holds each solver's log)
make demo-down removes everything.
EOF
