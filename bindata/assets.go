// Package bindata embeds the manifests the operator applies at run time.
// Everything the CVO applies once per release lives in manifests/ instead.
package bindata

import (
	"embed"
	"fmt"
)

//go:embed assets/*.yaml
var assets embed.FS

// Asset returns the content of the named file, e.g. "assets/daemonset.yaml".
// Its signature is library-go's resourceapply.AssetFunc.
func Asset(name string) ([]byte, error) {
	data, err := assets.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("bindata: %w", err)
	}
	return data, nil
}

// MustAsset is Asset for files that are part of the binary: a missing one is
// a build bug, not a run-time condition.
func MustAsset(name string) []byte {
	data, err := Asset(name)
	if err != nil {
		panic(err)
	}
	return data
}
