package action

import (
	"context"

	"go.uber.org/zap"
)

// Log writes a structured log record only.
type Log struct {
	Name   string
	Logger *zap.Logger
}

// Resolvable implements Runner.
func (l *Log) Resolvable() bool { return true }

// Run implements Runner.
func (l *Log) Run(_ context.Context, r Request) (string, error) {
	state := "firing"
	if r.Resolve {
		state = "resolved"
	}
	l.Logger.Warn("healing action",
		zap.String("action", l.Name), zap.String("state", state), zap.String("rule", r.Rule),
		zap.String("incident", r.Incident), zap.String(r.TargetAttr, r.Target),
		zap.Float64("value", r.Value), zap.String("severity", r.Severity), zap.String("summary", r.Summary))
	return "logged", nil
}
