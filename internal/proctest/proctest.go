// Package proctest runs a real server program a test checks Vigil against (Prometheus,
// Alertmanager): on a free loopback address, awaited until its /-/ready answers 200, and stopped
// with SIGTERM, then SIGKILL, when the test ends.
package proctest

import (
	"net"
	"net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FreeAddr returns a loopback address (host:port) free a moment ago, for a server to listen on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Start starts cmd, a server listening on addr, and waits up to ready for its /-/ready to answer
// 200 (name is the server in the failure). When the test ends the server gets SIGTERM and stop
// to exit before it is killed.
func Start(t testing.TB, name string, cmd *exec.Cmd, addr string, ready, stop time.Duration) {
	t.Helper()
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(stop):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, ready, 100*time.Millisecond, name+" did not become ready")
}
