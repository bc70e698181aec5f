package harness

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// Compose renders each fragment (a text/template of a YAML collector config, see Render) with
// data and merges them, in order, into one config, the way the collector merges several --config
// files: mappings merge key by key, and any other value of a later fragment (a scalar, a list such
// as service.extensions or a pipeline's processors) replaces the earlier one. A test states what
// it adds to a shared base instead of repeating the whole config.
func Compose(tb testing.TB, data any, fragments ...string) string {
	tb.Helper()
	merged := map[string]any{}
	for i, f := range fragments {
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(Render(tb, f, data)), &doc); err != nil {
			tb.Fatalf("config fragment %d: %v", i, err)
		}
		mergeInto(merged, doc)
	}
	out, err := yaml.Marshal(merged)
	if err != nil {
		tb.Fatalf("config: %v", err)
	}
	return string(out)
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
