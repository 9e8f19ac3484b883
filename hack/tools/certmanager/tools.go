// Package tools builds cert-manager from its pinned root module:
// cmd/cert-manager-controller and cmd/cert-manager-acmesolver are thin
// mains over the packages it exports, because its own cmd/* are modules
// that the module proxy does not serve. hack/build-tools.sh builds them
// into _output/tools/bin, and copies the module's deploy/crds to
// _output/crds/cert-manager.
package tools
