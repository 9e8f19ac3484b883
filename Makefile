SHELL := /bin/bash

# Builds on openshift/build-machinery-go (vendored) for build, gofmt, vet and
# unit tests; the rest is ours.
all: build
.PHONY: all

# build-machinery-go asks `git describe` without silencing it; a repository
# without tags is normal here, so ask quietly first.
SOURCE_GIT_COMMIT ?= $(shell git rev-parse --short "HEAD^{commit}" 2>/dev/null)
SOURCE_GIT_TAG ?= $(shell git describe --long --tags --abbrev=7 --match 'v[0-9]*' 2>/dev/null || echo 'v0.0.0-unknown-$(SOURCE_GIT_COMMIT)')

include $(addprefix ./vendor/github.com/openshift/build-machinery-go/make/, \
	golang.mk \
)

# build-machinery-go stamps the build's wall-clock time, which changes the
# link on every run, so `make build` relinks both binaries each time. The
# commit's time instead (SOURCE_DATE_EPOCH's idea) keeps an unchanged tree's
# build a no-op and the binaries reproducible.
BUILD_DATE ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
define version-ldflags
-X $(1).versionFromGit="$(OS_GIT_VERSION)" \
-X $(1).commitFromGit="$(SOURCE_GIT_COMMIT)" \
-X $(1).gitTreeState="$(SOURCE_GIT_TREE_STATE)" \
-X $(1).buildDate="$(BUILD_DATE)"
endef

# Everything builds from vendor/, offline, with the Go on the machine. The
# module proxy is only asked for our pinned test tools (hack/tools/*), and
# the checksum database does not know the openshift modules.
export GOFLAGS := -mod=vendor
export GOTOOLCHAIN := local
export GONOSUMDB := github.com/openshift
export GOPROXY ?= https://proxy.golang.org

GO_BUILD_BINDIR := _output/bin
GO_BUILD_PACKAGES := ./cmd/...
GO_TEST_PACKAGES := ./pkg/... ./cmd/... ./test/manifests/...
GO_TEST_FLAGS := -race -count=1
INTEGRATION_PACKAGES := ./test/framework/... ./test/integration/...
INTEGRATION_TIMEOUT ?= 30m

# The README's test command: everything, from a fresh clone.
test: test-unit test-integration test-e2e
.PHONY: test

tools:
	hack/build-tools.sh
.PHONY: tools

test-integration: build tools
	hack/ensure-packages.sh
	go test -tags integration -count=1 -p 1 -timeout $(INTEGRATION_TIMEOUT) $(INTEGRATION_PACKAGES) $(GO_TEST_ARGS)
.PHONY: test-integration

# The end-to-end suite (test/e2e, driven by KUBECONFIG only) against a
# local cluster of its own (instance e2e, beside a running demo), torn down
# even when the tests fail. As root. E2E_ARGS are passed to go test.
test-e2e:
	hack/local-cluster/e2e.sh
.PHONY: test-e2e

# The README's first command: a simulated bare-metal cluster with the proxy
# enabled and a certificate from a real ACME CA through it, left running.
# As root.
demo:
	hack/demo.sh
.PHONY: demo

# Removes every process, network namespace and file make demo created.
demo-down:
	hack/demo-down.sh
.PHONY: demo-down

update-codegen:
	hack/update-codegen.sh
.PHONY: update-codegen

verify-codegen:
	hack/verify-codegen.sh
.PHONY: verify-codegen

verify-deps:
	hack/verify-deps.sh
.PHONY: verify-deps

# Integration-tagged files are vetted too; plain `go vet` skips them.
verify-govet-integration:
	go vet -tags integration $(INTEGRATION_PACKAGES)
.PHONY: verify-govet-integration

update: update-gofmt update-codegen
.PHONY: update

verify: verify-gofmt verify-govet verify-govet-integration verify-codegen verify-deps
.PHONY: verify

clean:
	$(RM) -r _output/bin
.PHONY: clean
