#!/usr/bin/env bash
# Generates everything derived from pkg/apis: deepcopy, OpenAPI definitions,
# apply configurations, clientset, listers, informers and the CRD manifests.
# The generators are pinned in hack/tools/codegen/go.mod.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${REPO_ROOT}"
# Generators and controller-gen load our packages: read them from vendor/.
export GOFLAGS=-mod=vendor GOTOOLCHAIN=local GONOSUMDB=github.com/openshift

MODULE=github.com/openshift/cluster-http01-challenge-proxy-operator
APIS=(config/v1alpha1 operator/v1alpha1)
API_PKGS=("${APIS[@]/#/${MODULE}/pkg/apis/}")
GENERATED=pkg/generated
BOILERPLATE=hack/boilerplate.go.txt
BIN=${REPO_ROOT}/_output/tools/codegen

build_generators() {
	local stamp="${BIN}/.stamp" sum
	sum=$(cat hack/tools/codegen/go.mod hack/tools/codegen/go.sum | sha256sum | cut -d' ' -f1)
	if [[ -f "${stamp}" && "$(cat "${stamp}")" == "${sum}" ]]; then
		return
	fi
	echo "building code generators pinned in hack/tools/codegen/go.mod"
	(cd hack/tools/codegen && GOFLAGS=-mod=mod GOBIN="${BIN}" go install \
		k8s.io/code-generator/cmd/applyconfiguration-gen \
		k8s.io/code-generator/cmd/client-gen \
		k8s.io/code-generator/cmd/deepcopy-gen \
		k8s.io/code-generator/cmd/informer-gen \
		k8s.io/code-generator/cmd/lister-gen \
		k8s.io/kube-openapi/cmd/openapi-gen \
		sigs.k8s.io/controller-tools/cmd/controller-gen)
	echo "${sum}" >"${stamp}"
}

# The openshift operator/v1 types are embedded in our operator resource, so
# their OpenAPI definitions (and the Kubernetes ones they use) are generated
# alongside ours.
OPENAPI_PKGS=(
	"${API_PKGS[@]}"
	github.com/openshift/api/operator/v1
	k8s.io/apimachinery/pkg/apis/meta/v1
	k8s.io/apimachinery/pkg/runtime
	k8s.io/apimachinery/pkg/version
)
APPLY_EXTERNALS=$(printf 'github.com/openshift/api/operator/v1.%s:github.com/openshift/client-go/operator/applyconfigurations/operator/v1,' \
	OperatorSpec OperatorStatus OperatorCondition GenerationStatus)
APPLY_EXTERNALS=${APPLY_EXTERNALS%,}

generate() {
	local out=$1 tmp
	tmp=$(mktemp -d)
	trap 'rm -rf "${tmp}"' RETURN

	"${BIN}/deepcopy-gen" --go-header-file "${BOILERPLATE}" \
		--output-file zz_generated.deepcopy.go "${API_PKGS[@]}"

	# The OpenAPI definitions are an intermediate: only the schema that
	# applyconfiguration-gen embeds from them is committed.
	local openapi_dir=hack/codegen/openapi-schema/generated
	"${BIN}/openapi-gen" --go-header-file "${BOILERPLATE}" \
		--output-dir "${openapi_dir}" --output-pkg "${MODULE}/${openapi_dir}" \
		--output-file zz_generated.openapi.go --report-filename /dev/null "${OPENAPI_PKGS[@]}"
	go run ./hack/codegen/openapi-schema/main.go "${tmp}/openapi.json"
	rm -rf "${openapi_dir}"

	"${BIN}/applyconfiguration-gen" --go-header-file "${BOILERPLATE}" \
		--output-dir "${out}/${GENERATED}/applyconfiguration" --output-pkg "${MODULE}/${GENERATED}/applyconfiguration" \
		--external-applyconfigurations "${APPLY_EXTERNALS}" --openapi-schema "${tmp}/openapi.json" "${API_PKGS[@]}"

	"${BIN}/client-gen" --go-header-file "${BOILERPLATE}" \
		--output-dir "${out}/${GENERATED}/clientset" --output-pkg "${MODULE}/${GENERATED}/clientset" \
		--clientset-name versioned --input-base "" --input "$(IFS=,; echo "${API_PKGS[*]}")" \
		--apply-configuration-package "${MODULE}/${GENERATED}/applyconfiguration"

	"${BIN}/lister-gen" --go-header-file "${BOILERPLATE}" \
		--output-dir "${out}/${GENERATED}/listers" --output-pkg "${MODULE}/${GENERATED}/listers" "${API_PKGS[@]}"

	"${BIN}/informer-gen" --go-header-file "${BOILERPLATE}" \
		--output-dir "${out}/${GENERATED}/informers" --output-pkg "${MODULE}/${GENERATED}/informers" \
		--versioned-clientset-package "${MODULE}/${GENERATED}/clientset/versioned" \
		--listers-package "${MODULE}/${GENERATED}/listers" "${API_PKGS[@]}"

	generate_crds "${out}" "${tmp}"
}

# CRDs go to manifests/ under CVO run-level names, so that the file order is
# the apply order: CRDs right after the namespaces, before their instances.
generate_crds() {
	local out=$1 tmp=$2
	"${BIN}/controller-gen" crd paths=./pkg/apis/... output:crd:dir="${tmp}/crds"
	mkdir -p "${out}/manifests"
	cp "${tmp}/crds/config.openshift.io_http01challengeproxies.yaml" \
		"${out}/manifests/0000_50_http01-challenge-proxy_01_config.crd.yaml"
	cp "${tmp}/crds/operator.openshift.io_http01challengeproxies.yaml" \
		"${out}/manifests/0000_50_http01-challenge-proxy_01_operator.crd.yaml"
}

build_generators
rm -rf "${GENERATED}"
generate .
