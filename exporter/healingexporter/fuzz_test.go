package healingexporter

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// FuzzHostileTelemetry throws hostile attribute values (shell metacharacters, $(), backticks,
// newlines, NUL, --flags, 1 MiB values, invalid UTF-8) at the target and matcher attributes of a
// rule whose actions are a real allow-listed script and a webhook, and checks that nothing
// escapes: the script always gets its fixed argv, VIGIL_TARGET only when it matches the pattern,
// the webhook only its fixed path, no file appears beyond the expected ones, and the audit chain
// verifies. Seeds: testdata/fuzz/FuzzHostileTelemetry.
func FuzzHostileTelemetry(f *testing.F) {
	for _, s := range []string{"checkout", "$(touch /tmp/pwned)", "`id`", "a;b|c&d", "x\ny", "nul\x00byte", "--help", "-rf",
		"../../etc/passwd", "http://evil.example/", "\xff\xfe\xfd", strings.Repeat("A", 1<<20), "svc name", "%0a%0d", "${IFS}"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, target, other string) {
		dir := t.TempDir()
		out := filepath.Join(dir, "calls")
		script := filepath.Join(dir, "heal.sh")
		require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\n{ printf 'argv=%s|' \"$@\"; printf 'target=%s\\n' \"$VIGIL_TARGET\"; } >> "+out+"\n"), 0o755))
		hook := newHookServer(t, "k")
		cfg := createDefaultConfig().(*Config)
		cfg.Audit.Path = filepath.Join(dir, "audit.jsonl")
		cfg.AllowedCommands = []string{script}
		cfg.Limits.PerTarget.Burst, cfg.Limits.Global.Burst = 100, 100
		cfg.Actions = map[string]ActionConfig{
			"fix":    {Type: ActionExec, Exec: ExecConfig{Command: script, Args: []string{"restart", "--safe"}, TargetPattern: defaultTargetPattern, Timeout: 5 * time.Second, MaxOutputBytes: 100}},
			"notify": {Type: ActionWebhook, Webhook: WebhookConfig{URL: hook.URL + "/hook", Secret: "k", Timeout: 2 * time.Second}},
		}
		cfg.Rules = []RuleConfig{
			{Name: "r1", When: WhenConfig{Metric: "m", Op: ">", Threshold: 0}, Target: "svc", Actions: []string{"fix", "notify"}, EscalateAfter: 1, Severity: "info"},
			{Name: "r2", When: WhenConfig{Metric: "m", Op: ">", Threshold: 0, Match: map[string]string{"kind": other}}, Target: "svc", Actions: []string{"notify"}, EscalateAfter: 1, Severity: "info"},
		}
		require.NoError(t, validate(cfg))
		exp := startExporter(t, cfg)
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("svc", target)
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("m")
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetDoubleValue(1)
		dp.Attributes().PutStr("kind", other)
		require.NoError(t, exp.ConsumeMetrics(context.Background(), md))
		waitSettled(t, cfg.Audit.Path)
		require.NoError(t, exp.Shutdown(context.Background()))

		pattern := regexp.MustCompile(defaultTargetPattern)
		if b, err := os.ReadFile(out); err == nil {
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				assert.True(t, strings.HasPrefix(line, "argv=restart|argv=--safe|target="), "argv is fixed: %q", line)
				got := strings.TrimPrefix(line, "argv=restart|argv=--safe|target=")
				assert.Equal(t, target, got)
				assert.True(t, pattern.MatchString(got), "only pattern-matching targets reach the command")
			}
		} else {
			assert.False(t, pattern.MatchString(target) && len(target) <= maxTargetBytes && target != "", "a valid target runs the script")
		}
		hook.mu.Lock()
		for _, p := range hook.paths {
			assert.Equal(t, "/hook", p, "the webhook URL never changes")
		}
		hook.mu.Unlock()
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			assert.Contains(t, []string{"calls", "heal.sh", "audit.jsonl", "audit.jsonl.checkpoint"}, e.Name(), "no other file appears")
		}
		auditDecisions(t, cfg.Audit.Path)
	})
}
