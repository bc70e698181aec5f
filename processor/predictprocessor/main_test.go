package predictprocessor

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func attributeKey(s string) attribute.Key { return attribute.Key(s) }
