package harness

import (
	"testing"

	"github.com/vigil-collector/vigil/testbed/internal/confmerge"
)

// Compose renders each fragment (a text/template of a YAML collector config, see Render) with
// data and merges them, in order, into one config, as the collector merges several --config files
// (confmerge): mappings key by key, any other value of a later fragment (a scalar, a list such as
// service.extensions) replacing the earlier one. A test states what it adds to a shared base
// instead of repeating the whole config.
func Compose(tb testing.TB, data any, fragments ...string) string {
	tb.Helper()
	docs := make([]string, len(fragments))
	for i, f := range fragments {
		docs[i] = Render(tb, f, data)
	}
	config, err := confmerge.Merge(docs...)
	if err != nil {
		tb.Fatal(err)
	}
	return config
}
