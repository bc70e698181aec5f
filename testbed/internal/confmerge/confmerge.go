// Package confmerge merges collector configs (YAML) the way the collector merges several --config
// files: mappings merge key by key, and any other value of a later document (a scalar, a list
// such as service.extensions or a pipeline's processors) replaces the earlier one. The testbed
// composes the config of a run from a shared base and what the run adds, instead of repeating the
// whole text.
package confmerge

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Merge merges docs, in order, into one YAML document.
func Merge(docs ...string) (string, error) {
	merged := map[string]any{}
	for i, d := range docs {
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(d), &doc); err != nil {
			return "", fmt.Errorf("config document %d: %w", i, err)
		}
		mergeInto(merged, doc)
	}
	out, err := yaml.Marshal(merged)
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	return string(out), nil
}

// mergeInto merges src into dst: mappings key by key, anything else replaced.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		sub, isMap := v.(map[string]any)
		into, wasMap := dst[k].(map[string]any)
		if isMap && wasMap {
			mergeInto(into, sub)
			continue
		}
		dst[k] = v
	}
}
