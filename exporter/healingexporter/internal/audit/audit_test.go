package audit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeSome(t *testing.T, path string, n int) {
	t.Helper()
	l, _, _, err := Open(path)
	require.NoError(t, err)
	for i := range n {
		v := float64(i) / 3
		require.NoError(t, l.Write(&Record{Time: time.Unix(1700000000, int64(i)).UTC(), Decision: DecisionFired, Rule: "r", Target: "svc-" + string(rune('a'+i%26)), Value: &v}))
	}
	require.NoError(t, l.Close())
}

// written returns the path of a new audit file holding n records, and its content.
func written(t *testing.T, n int) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	writeSome(t, path, n)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return path, data
}

// assertVerifies asserts the audit file at path verifies and holds n records.
func assertVerifies(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	got, err := Verify(f)
	require.NoError(t, err)
	assert.Equal(t, n, got)
}

func TestChainRoundTripAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	writeSome(t, path, 5)
	writeSome(t, path, 3) // reopen continues the chain
	l, recs, torn, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, l.Close())
	assert.Zero(t, torn)
	require.Len(t, recs, 8)
	for i, r := range recs {
		assert.Equal(t, uint64(i+1), r.Seq)
	}
	assertVerifies(t, path, 8)
}

func TestTamperingIsFoundAtTheRecord(t *testing.T) {
	_, data := written(t, 6)
	lines := strings.SplitAfter(string(data), "\n")

	edited := append([]string(nil), lines...)
	edited[3] = strings.Replace(edited[3], `"decision":"fired"`, `"decision":"dry_run"`, 1)
	removed := append(append([]string(nil), lines[:2]...), lines[3:]...)
	swapped := append([]string(nil), lines...)
	swapped[1], swapped[2] = swapped[2], swapped[1]
	garbage := append([]string(nil), lines...)
	garbage[4] = "not json\n"

	for name, tc := range map[string]struct {
		text string
		line int
	}{
		"edited":  {strings.Join(edited, ""), 4},
		"removed": {strings.Join(removed, ""), 3},
		"swapped": {strings.Join(swapped, ""), 2},
		"garbage": {strings.Join(garbage, ""), 5},
	} {
		_, err := Verify(strings.NewReader(tc.text))
		var be *BrokenError
		require.True(t, errors.As(err, &be), "%s: %v", name, err)
		assert.Equal(t, tc.line, be.Line, name)
	}
}

func TestTornLastLineIsCut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	writeSome(t, path, 3)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"seq":4,"time":"2026-`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	l, recs, torn, err := Open(path)
	require.NoError(t, err)
	assert.Len(t, recs, 3)
	assert.Equal(t, int64(len(`{"seq":4,"time":"2026-`)), torn)
	require.NoError(t, l.Write(&Record{Time: time.Now().UTC(), Decision: DecisionResolved}))
	require.NoError(t, l.Close())
	assertVerifies(t, path, 4)
}

func TestOpenRefusesBrokenChain(t *testing.T) {
	path, data := written(t, 3)
	require.NoError(t, os.WriteFile(path, bytes.Replace(data, []byte(`"rule":"r"`), []byte(`"rule":"x"`), 1), 0o600))
	_, _, _, err := Open(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "chain broken at line 1")
}

// FuzzRecordRoundTrip: any strings in any field survive the write/verify round trip, and a
// record's text never breaks out of its line.
func FuzzRecordRoundTrip(f *testing.F) {
	for _, s := range []string{"", "svc", "a\nb", "\x00", "$(rm -rf /)", "`id`", "--flag", "\xff\xfe", strings.Repeat("x", 1<<20), `"},{"seq":1`, "\u2028\u2029", "<script>&"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, target, detail string) {
		var buf bytes.Buffer
		path := filepath.Join(t.TempDir(), "a.jsonl")
		l, _, _, err := Open(path)
		require.NoError(t, err)
		require.NoError(t, l.Write(&Record{Time: time.Unix(0, 1).UTC(), Decision: DecisionFired, Target: target, Detail: detail}))
		require.NoError(t, l.Write(&Record{Time: time.Unix(0, 2).UTC(), Decision: DecisionResolved, Target: target}))
		require.NoError(t, l.Close())
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		buf.Write(data)
		assert.Equal(t, 2, bytes.Count(data, []byte("\n")), "one line per record")
		n, err := Verify(&buf)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
	})
}
