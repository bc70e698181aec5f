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

func TestVerifyKeyedWithCheckpoint(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	keyFile := filepath.Join(dir, "key")
	require.NoError(t, os.WriteFile(keyFile, []byte("0123456789abcdef0123456789abcdef-key\n"), 0o600))
	require.NoError(t, auditverify.AppendWith(path, []byte("0123456789abcdef0123456789abcdef-key"),
		&auditverify.Record{Time: time.Unix(1, 0).UTC(), Decision: "fired", Target: "svc"},
		&auditverify.Record{Time: time.Unix(2, 0).UTC(), Decision: "resolved", Target: "svc"}))

	var out, errOut bytes.Buffer
	assert.Equal(t, 0, run([]string{"verify", "-key-file", keyFile, path}, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "2 records, chain intact, signed with the key, checkpoint seq 2 matches")

	errOut.Reset()
	assert.Equal(t, 1, run([]string{"verify", path}, &out, &errOut), "a keyed file without its key")
	assert.Contains(t, errOut.String(), "give the key")

	// Cut the tail: the checkpoint shows it.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	first := strings.SplitAfter(string(data), "\n")[0]
	require.NoError(t, os.WriteFile(path, []byte(first), 0o600))
	errOut.Reset()
	assert.Equal(t, 1, run([]string{"verify", "-key-file", keyFile, path}, &out, &errOut))
	assert.Contains(t, errOut.String(), "truncated: the checkpoint names seq 2, the file ends at seq 1")
}
