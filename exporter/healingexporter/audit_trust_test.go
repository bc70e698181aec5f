package healingexporter

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/metadata"
)

// TestForgedAuditStopsHealingOnly: a keyed audit file edited by a writer without the key makes
// the healing exporter report a permanent error and act on nothing, while it keeps accepting
// data (the collector's other exporters keep theirs); the clean file runs as usual.
func TestForgedAuditStopsHealingOnly(t *testing.T) {
	hook := newHookServer(t, "s3cr3t")
	cfg := testConfig(t, hook.URL)
	keyFile := filepath.Join(t.TempDir(), "audit.key")
	require.NoError(t, os.WriteFile(keyFile, []byte("an-audit-key-of-more-than-32-bytes-0123\n"), 0o600))
	cfg.Audit.KeyFile = keyFile

	// A first run writes a keyed chain and its checkpoint.
	exp := startExporter(t, cfg)
	require.NoError(t, exp.ConsumeMetrics(context.Background(), statusMetrics(map[string]int64{"payments": 0})))
	require.NoError(t, exp.Shutdown(context.Background()))
	data, err := os.ReadFile(cfg.Audit.Path)
	require.NoError(t, err)
	require.NotEmpty(t, data)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		assert.Equal(t, 1, strings.Count(line, `"hash":`))
	}
	_, err = os.Stat(cfg.Audit.Path + ".checkpoint")
	require.NoError(t, err, "the checkpoint sits beside the file by default")

	// Edit a record in place (its hash no longer matches).
	require.NoError(t, os.WriteFile(cfg.Audit.Path, []byte(strings.Replace(string(data), `"target":"payments"`, `"target":"paymentz"`, 1)), 0o600))

	before := len(hook.got()) // the first run may or may not have called the hook before its shutdown
	host := &statusHost{}
	exp, err = NewFactory().CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), host), "a bad audit file does not stop the collector")
	assert.Equal(t, "StatusPermanentError", host.last())
	require.NoError(t, exp.ConsumeMetrics(context.Background(), statusMetrics(map[string]int64{"checkout": 0})))
	time.Sleep(100 * time.Millisecond)
	assert.Len(t, hook.got(), before, "nothing runs on an untrusted record")
	require.NoError(t, exp.Shutdown(context.Background()))
	after, err := os.ReadFile(cfg.Audit.Path)
	require.NoError(t, err)
	assert.NotContains(t, string(after), "checkout", "nothing is appended to an untrusted file")
}
