package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testKey = []byte("0123456789abcdef0123456789abcdef-test-key")

func writeWith(t *testing.T, path string, opt Options, n int) {
	t.Helper()
	l, _, _, err := OpenWith(path, opt)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, l.Write(&Record{Time: time.Unix(1700000000, int64(i)).UTC(), Decision: DecisionExecuting, Rule: "r", Target: "payments", Action: "page"}))
	}
	require.NoError(t, l.Close())
}

// forge rewrites the file as a writer without the key would: edit a record, then recompute the
// whole chain with plain SHA-256 (the 10-line script).
func forge(t *testing.T, path string, edit func(*Record)) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out bytes.Buffer
	prev := genesis
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r Record
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		edit(&r)
		r.Prev, r.Hash = prev, ""
		b, err := json.Marshal(r)
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		r.Hash = hex.EncodeToString(sum[:])
		b, err = json.Marshal(r)
		require.NoError(t, err)
		out.Write(append(b, '\n'))
		prev = r.Hash
	}
	require.NoError(t, os.WriteFile(path, out.Bytes(), 0o600))
}

func TestOneHashKeyPerLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	writeWith(t, path, Options{}, 3)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		assert.Equal(t, 1, strings.Count(line, `"hash":`), line)
	}
}

func TestForgeryIsDetectedWithAKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	opt := Options{Key: testKey, CheckpointPath: filepath.Join(dir, "audit.checkpoint")}
	writeWith(t, path, opt, 5)
	forge(t, path, func(r *Record) {
		if r.Seq == 3 {
			r.Target = "someone-else"
		}
	})
	_, _, _, err := OpenWith(path, opt)
	var be *BrokenError
	require.ErrorAs(t, err, &be)
	assert.Contains(t, be.Why, "differs from the checkpoint", "the recomputed chain cannot reproduce the keyed hash the checkpoint holds")

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	_, err = Verify(f)
	assert.NoError(t, err, "without the key, a recomputed plain chain verifies: why the key matters")
}

func TestKeyedTailCannotBeReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	writeWith(t, path, Options{Key: testKey}, 3)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(data), "\n")
	// Re-append record 3 edited and plainly hashed after keyed records 1 and 2.
	var r Record
	require.NoError(t, json.Unmarshal([]byte(lines[2]), &r))
	r.Target, r.Hash = "someone-else", ""
	b, _ := json.Marshal(r)
	r.Hash = plainHash(b)
	b, _ = json.Marshal(r)
	forged := lines[0] + lines[1] + string(b) + "\n"
	_, err = VerifyWith(strings.NewReader(forged), testKey, nil)
	var be *BrokenError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, 3, be.Line)
	assert.Contains(t, be.Why, "not signed with the audit key")

	_, err = Verify(strings.NewReader(string(data)))
	require.Error(t, err, "a keyed file does not verify without its key")
	assert.Contains(t, err.Error(), "give the key")
	n, err := VerifyWith(strings.NewReader(string(data)), testKey, nil)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
}

func TestTruncationIsDetectedByTheCheckpoint(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	for _, opt := range []Options{{CheckpointPath: filepath.Join(dir, "plain.checkpoint")}, {Key: testKey, CheckpointPath: filepath.Join(dir, "keyed.checkpoint")}} {
		require.NoError(t, os.RemoveAll(path))
		writeWith(t, path, opt, 6)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		lines := strings.SplitAfter(string(data), "\n")
		require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines[:4], "")), 0o600))
		_, _, _, err = OpenWith(path, opt)
		var be *BrokenError
		require.ErrorAs(t, err, &be)
		assert.Contains(t, be.Why, "truncated: the checkpoint names seq 6, the file ends at seq 4")
	}
}

func TestCheckpointCannotBeForgedWithoutTheKey(t *testing.T) {
	dir := t.TempDir()
	path, cpPath := filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "audit.checkpoint")
	writeWith(t, path, Options{Key: testKey, CheckpointPath: cpPath}, 4)
	cp, err := ReadCheckpoint(cpPath, testKey)
	require.NoError(t, err)
	assert.Equal(t, uint64(4), cp.Seq)
	b, _ := json.Marshal(Checkpoint{Seq: 2, Hash: cp.Hash, MAC: cp.MAC})
	require.NoError(t, os.WriteFile(cpPath, b, 0o600))
	_, _, _, err = OpenWith(path, Options{Key: testKey, CheckpointPath: cpPath})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not signed with the audit key")
}

func TestUpgradeKeepsThePlainPrefix(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	writeWith(t, path, Options{}, 2)
	opt := Options{Key: testKey, CheckpointPath: filepath.Join(dir, "audit.checkpoint")}
	writeWith(t, path, opt, 2)
	_, recs, _, err := OpenWith(path, opt)
	require.NoError(t, err)
	assert.Len(t, recs, 4)
}

func TestLegacyDuplicateHashKeyFilesStillVerify(t *testing.T) {
	// Two records as the earlier writer stored them: the hashed encoding with "hash":"" and the
	// hash appended as a second key.
	var buf bytes.Buffer
	prev := genesis
	for i := range 2 {
		b := []byte(fmt.Sprintf(`{"seq":%d,"time":"2023-11-14T22:13:20Z","decision":"fired","target":"svc","prev":"%s","hash":""}`, i+1, prev))
		h := plainHash(b)
		buf.Write(append(b[:len(b)-1], []byte(`,"hash":"`+h+`"}`+"\n")...))
		prev = h
	}
	require.Contains(t, buf.String(), `"hash":"","hash":"`)
	n, err := Verify(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

func TestShortKeyIsRefused(t *testing.T) {
	_, _, _, err := OpenWith(filepath.Join(t.TempDir(), "a.jsonl"), Options{Key: []byte("short")})
	require.Error(t, err)
	assert.True(t, !errors.Is(err, os.ErrNotExist))
	assert.Contains(t, err.Error(), "at least 32")
}
