package process

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestStopEndsAProcessWithSIGTERM: a process that exits on SIGTERM gives its exit code and its
// output.
func TestStopEndsAProcessWithSIGTERM(t *testing.T) {
	p, err := Start("sh", []string{"-c", `echo "up $GREETING"; trap 'echo bye; exit 3' TERM; while :; do sleep 0.05; done`}, []string{"GREETING=hello"}, 0)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return strings.Contains(p.Logs(), "up hello") }, 10*time.Second, 10*time.Millisecond)
	assert.False(t, p.Exited())
	code, err := p.Stop(10 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, 3, code)
	assert.True(t, p.Exited())
	assert.Contains(t, p.Logs(), "bye")
}

// TestStopKillsAProcessThatIgnoresSIGTERM: past the timeout the process is killed and the error
// says it did not exit.
func TestStopKillsAProcessThatIgnoresSIGTERM(t *testing.T) {
	p, err := Start("sh", []string{"-c", `trap '' TERM; echo ready; while :; do sleep 0.05; done`}, nil, 0)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return strings.Contains(p.Logs(), "ready") }, 10*time.Second, 10*time.Millisecond)
	code, err := p.Stop(200 * time.Millisecond)
	require.ErrorContains(t, err, "did not exit within 200ms of SIGTERM")
	assert.Equal(t, -1, code)
}

// TestWaitReady: ready once the URL answers 200; an error when the process exits first.
func TestWaitReady(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()

	p, err := Start("sleep", []string{"30"}, nil, 0)
	require.NoError(t, err)
	require.NoError(t, p.WaitReady(srv.URL, 10*time.Second))
	assert.ErrorContains(t, p.WaitReady("http://127.0.0.1:1/", 300*time.Millisecond), "not ready at http://127.0.0.1:1/ within 300ms")
	p.Kill()

	gone, err := Start("true", nil, nil, 0)
	require.NoError(t, err)
	assert.ErrorContains(t, gone.WaitReady("http://127.0.0.1:1/", 10*time.Second), "exited before it was ready")
}

// TestOutputKeepsTheTail: with a bound, the last output is kept and the total stays near it.
func TestOutputKeepsTheTail(t *testing.T) {
	o := &output{keep: 1000}
	for i := range 100 {
		_, err := o.Write([]byte(strings.Repeat("x", 99) + string(rune('a'+i%26))))
		require.NoError(t, err)
	}
	got := o.String()
	assert.LessOrEqual(t, len(got), 1100)
	assert.True(t, strings.HasSuffix(got, strings.Repeat("x", 99)+"v"), "the last write is kept")
	all := &output{}
	_, _ = all.Write([]byte(strings.Repeat("y", 5000)))
	assert.Len(t, all.String(), 5000, "no bound: everything is kept")
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
