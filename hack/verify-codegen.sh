#!/usr/bin/env bash
# Fails when anything generated from pkg/apis is out of date. It regenerates
# in place and compares with a copy taken first; on a difference it puts the
# copy back, so that the check leaves the tree as it found it.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${REPO_ROOT}"

copy_generated() {
	local dest=$1
	mkdir -p "${dest}"
	cp -r --parents pkg/generated manifests/*.crd.yaml pkg/apis/*/*/zz_generated.deepcopy.go "${dest}"
}

work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT

copy_generated "${work}/before"
hack/update-codegen.sh
copy_generated "${work}/after"

if ! diff -ruN "${work}/before" "${work}/after"; then
	rm -rf pkg/generated
	cp -r "${work}/before/." .
	echo "generated code is out of date: run 'make update' and commit the result" >&2
	exit 1
fi
