package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/exporter/healingexporter/auditverify"
)

func TestVerifyCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	for i := range 3 {
		require.NoError(t, auditverify.Append(path, &auditverify.Record{Time: time.Unix(int64(i), 0).UTC(), Decision: "fired", Target: "svc"}))
	}

	var out, errOut bytes.Buffer
	assert.Equal(t, 0, run([]string{"verify", path}, &out, &errOut))
	assert.Contains(t, out.String(), "3 records, chain intact")

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(data), `"seq":2,"time":"1970-01-01T00:00:01Z","decision":"fired"`, `"seq":2,"time":"1970-01-01T00:00:01Z","decision":"executed"`, 1)), 0o600))
	out.Reset()
	assert.Equal(t, 1, run([]string{"verify", path}, &out, &errOut))
	assert.Contains(t, errOut.String(), "chain broken at line 2 (seq 2)")

	assert.Equal(t, 2, run([]string{"check"}, &out, &errOut))
}
