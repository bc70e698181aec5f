package engine

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/audit"
)

// TestOneActionsQueueDoesNotStarveAnother: a hung webhook ("hook") holds its queue full; a rule
// with another action ("log") still dispatches.
func TestOneActionsQueueDoesNotStarveAnother(t *testing.T) {
	s := settings()
	s.Rules = []Rule{
		{Name: "to-hook", Actions: []string{"hook"}, EscalateAfter: 1},
		{Name: "to-log", Actions: []string{"log"}, EscalateAfter: 1},
	}
	s.QueueSize = 10
	e, m := newEngine(t, s)
	var hook int
	for i := range 50 {
		hook += len(observe(t, e, t0, firing(0, fmt.Sprintf("svc-%d", i))))
	}
	assert.Equal(t, 10, hook, "the hung action's own queue bounds it")
	assert.Equal(t, 10, e.InFlightOf("hook"))
	assert.Contains(t, m.decisions(), "suppressed(queue_full)")

	var logs int
	for i := range 5 {
		logs += len(observe(t, e, t0, firing(1, fmt.Sprintf("other-%d", i))))
	}
	assert.Equal(t, 5, logs, "another action is not starved by the full queue")
	assert.Equal(t, 15, e.InFlight())
}

// TestRenotifyAfterRestart: an intent interrupted by a crash is run again after the restart when
// its action asks for it and the incident still fires; an action without it stays at most once.
func TestRenotifyAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s := settings()
	s.Rules = []Rule{
		{Name: "page-me", Cooldown: time.Hour, Actions: []string{"page"}, EscalateAfter: 1},
		{Name: "fix-me", Cooldown: time.Hour, Actions: []string{"exec"}, EscalateAfter: 1},
	}
	s.RenotifyAfterRestart = map[string]bool{"page": true}
	open := func(at time.Time) (*Engine, *audit.Log) { return openOnAudit(t, path, s, at) }
	e, l := open(t0)
	require.Len(t, observe(t, e, t0, firing(0, "payments")), 1)
	require.Len(t, observe(t, e, t0, firing(1, "billing")), 1)
	require.NoError(t, l.Close()) // both dispatched, neither completed: the collector dies

	e, l = open(t0.Add(time.Minute))
	defer l.Close()
	assert.Equal(t, map[string]int{"page": 1, "exec": 1}, e.Interrupted())
	again := observe(t, e, t0.Add(61*time.Second), firing(0, "payments"))
	require.Len(t, again, 1, "paging is at least once: the still firing incident pages again")
	assert.Equal(t, "page", again[0].Action)
	assert.Empty(t, observe(t, e, t0.Add(61*time.Second), firing(1, "billing")), "exec stays at most once")
	require.NoError(t, e.Complete(t0.Add(62*time.Second), again[0], nil, ""))
	assert.Empty(t, observe(t, e, t0.Add(63*time.Second), firing(0, "payments")), "once delivered, deduplicated again")
}
