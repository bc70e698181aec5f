package healingexporter

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/metadata"
)

// TestStatusRecoversWhenAuditWritesDo: audit writes failing (a full disk) make the status a
// recoverable error and dispatch nothing; once writes succeed again the status returns to OK and
// healing acts.
func TestStatusRecoversWhenAuditWritesDo(t *testing.T) {
	hook := newHookServer(t, "s3cr3t")
	cfg := testConfig(t, hook.URL)
	e, err := newHealingExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	var full atomic.Bool
	e.auditFault = func() error {
		if full.Load() {
			return syscall.ENOSPC
		}
		return nil
	}
	host := &statusHost{}
	require.NoError(t, e.start(context.Background(), host))
	defer func() { require.NoError(t, e.shutdown(context.Background())) }()

	full.Store(true)
	require.Error(t, e.consumeMetrics(context.Background(), statusMetrics(map[string]int64{"payments": 0})))
	assert.Equal(t, "StatusRecoverableError", host.last(), "a full disk is recoverable, not permanent")
	_ = e.consumeMetrics(context.Background(), statusMetrics(map[string]int64{"payments": 0}))
	assert.Equal(t, "StatusRecoverableError", host.last())
	assert.Empty(t, hook.got(), "nothing runs without a durable intent")

	full.Store(false)
	require.NoError(t, e.consumeMetrics(context.Background(), statusMetrics(map[string]int64{"payments": 0})))
	assert.Equal(t, "StatusOK", host.last(), "writes succeed again: OK")
	require.Eventually(t, func() bool { return len(hook.got()) == 1 }, 5e9, 2e7, "healing acts again")
}
