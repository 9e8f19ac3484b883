#!/usr/bin/env bash
# Fails when go.mod, go.sum or vendor/ do not match what the imports need.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${REPO_ROOT}"
export GONOSUMDB=github.com/openshift GOTOOLCHAIN=local GOFLAGS=-mod=mod

if ! go mod tidy -diff; then
	echo "go.mod/go.sum are not tidy: run 'go mod tidy && go mod vendor'" >&2
	exit 1
fi

fresh=$(mktemp -d)
trap 'rm -rf "${fresh}"' EXIT
go mod vendor -o "${fresh}/vendor"
if ! diff -r vendor "${fresh}/vendor" >/dev/null; then
	diff -r vendor "${fresh}/vendor" | head -20
	echo "vendor/ is out of date: run 'go mod vendor'" >&2
	exit 1
fi
