// Package process runs one child process of the testbed (a collector under test, Prometheus): its
// output kept in memory for the report, its exit awaited in a goroutine of its own, readiness
// polled over HTTP, and SIGTERM then SIGKILL to stop it.
package process

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is a started child process.
type Process struct {
	cmd     *exec.Cmd
	out     *output
	done    chan struct{}
	waitErr error
}

// Start starts name with args, env (KEY=VALUE) added to this process's environment. Its stdout and
// stderr are kept together; keep > 0 bounds what is kept to about the last keep bytes (a process
// under attack may log a lot), 0 keeps everything.
func Start(name string, args, env []string, keep int) (*Process, error) {
	p := &Process{out: &output{keep: keep}, done: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Logs returns what the process has written so far.
func (p *Process) Logs() string { return p.out.String() }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// WaitReady polls url until it answers 200; it fails when the process exits first or timeout
// passes.
func (p *Process) WaitReady(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("exited before it was ready (%v)", p.waitErr)
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not ready at %s within %s", url, timeout)
}

// Stop sends SIGTERM (unless the process has ended) and waits up to timeout for it to exit; one
// that does not is killed, and the error says so. It returns the exit code (-1 when killed).
func (p *Process) Stop(timeout time.Duration) (int, error) {
	if !p.Exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	var err error
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.Kill()
		err = fmt.Errorf("did not exit within %s of SIGTERM", timeout)
	}
	return p.cmd.ProcessState.ExitCode(), err
}

// Kill ends the process with SIGKILL (no chance to flush anything) and waits for it.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// output is the process's stdout and stderr, safe for its writers and the readers of Logs.
type output struct {
	mu   sync.Mutex
	keep int
	buf  bytes.Buffer
}

func (o *output) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.keep > 0 && o.buf.Len() > o.keep {
		tail := append([]byte(nil), o.buf.Bytes()[o.buf.Len()-o.keep/2:]...)
		o.buf.Reset()
		o.buf.Write(tail)
	}
	return o.buf.Write(b)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
