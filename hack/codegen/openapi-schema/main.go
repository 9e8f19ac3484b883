//go:build ignore

// Command openapi-schema writes the OpenAPI definitions of our API types, and
// of the OpenShift and Kubernetes types they embed, as one swagger document.
//
// applyconfiguration-gen embeds that document so that the generated Extract
// functions can tell which fields a field manager owns. Without it the
// library-go operator client cannot extract what it applied before, and
// would rewrite the operator status on every sync.
//
// hack/update-codegen.sh generates the definitions into ./generated (not
// committed) and runs this file with go run.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"

	openapi "github.com/openshift/cluster-http01-challenge-proxy-operator/hack/codegen/openapi-schema/generated"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: openapi-schema <output.json>")
		os.Exit(2)
	}
	if err := writeSchema(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func writeSchema(path string) error {
	ref := func(name string) spec.Ref { return spec.MustCreateRef("#/definitions/" + definitionName(name)) }
	all := spec.Definitions{}
	for name, def := range openapi.GetOpenAPIDefinitions(ref) {
		all[definitionName(name)] = v2Schema(def)
	}
	definitions := reachableFrom(all, ourPrefix)
	doc := &spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger:     "2.0",
		Info:        &spec.Info{InfoProps: spec.InfoProps{Title: "cluster-http01-challenge-proxy-operator", Version: "unversioned"}},
		Definitions: definitions,
	}}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// ourPrefix selects our own types; everything else is kept only when they
// refer to it, so the schema embedded in the binary stays small.
const ourPrefix = "com.github.openshift.cluster-http01-challenge-proxy-operator."

func reachableFrom(all spec.Definitions, prefix string) spec.Definitions {
	kept := spec.Definitions{}
	var visit func(name string)
	visit = func(name string) {
		if _, done := kept[name]; done {
			return
		}
		schema, ok := all[name]
		if !ok {
			return
		}
		kept[name] = schema
		for _, ref := range refsOf(schema) {
			visit(ref)
		}
	}
	for name := range all {
		if strings.HasPrefix(name, prefix) {
			visit(name)
		}
	}
	return kept
}

// refsOf lists the definitions a schema refers to, at any depth.
func refsOf(schema spec.Schema) []string {
	data, err := json.Marshal(schema)
	if err != nil {
		return nil
	}
	var refs []string
	var walk func(v interface{})
	walk = func(v interface{}) {
		switch t := v.(type) {
		case map[string]interface{}:
			for k, child := range t {
				if s, ok := child.(string); ok && k == "$ref" {
					refs = append(refs, strings.TrimPrefix(s, "#/definitions/"))
				}
				walk(child)
			}
		case []interface{}:
			for _, child := range t {
				walk(child)
			}
		}
	}
	var generic interface{}
	if json.Unmarshal(data, &generic) == nil {
		walk(generic)
	}
	return refs
}

// v2Schema prefers the swagger 2.0 form where a type ships one, because
// the structured-merge-diff parser reads swagger 2.0.
func v2Schema(def common.OpenAPIDefinition) spec.Schema {
	if v2, ok := def.Schema.Extensions[common.ExtensionV2Schema]; ok {
		if schema, ok := v2.(spec.Schema); ok {
			return schema
		}
	}
	return def.Schema
}

// definitionName turns a Go type name such as
// "github.com/openshift/api/operator/v1.OperatorSpec" into the reverse-domain
// name applyconfiguration-gen looks up: "com.github.openshift.api.operator.v1.OperatorSpec".
func definitionName(goName string) string {
	pkg, typ := goName, ""
	if i := strings.LastIndex(goName, "."); i >= 0 {
		pkg, typ = goName[:i], goName[i+1:]
	}
	parts := strings.Split(pkg, "/")
	host := strings.Split(parts[0], ".")
	for i, j := 0, len(host)-1; i < j; i, j = i+1, j-1 {
		host[i], host[j] = host[j], host[i]
	}
	name := strings.Join(append(host, parts[1:]...), ".")
	if typ != "" {
		name += "." + typ
	}
	return name
}
