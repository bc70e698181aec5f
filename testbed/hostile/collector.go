package hostile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Collector is an otelcol-vigil child process started by this package.
type Collector struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan struct{}
	err  error
}

// StartCollector starts binary on the config file with the extra environment.
func StartCollector(binary, configPath string, env []string) (*Collector, error) {
	c := &Collector{logs: &lockedBuffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(binary, "--config="+configPath)
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// Pid is the process id.
func (c *Collector) Pid() int { return c.cmd.Process.Pid }

// Logs returns what the collector wrote so far.
func (c *Collector) Logs() string { return c.logs.String() }

// WaitReady polls url until it answers 200.
func (c *Collector) WaitReady(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			return fmt.Errorf("collector exited before it was ready (%v); logs:\n%s", c.err, c.Logs())
		default:
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("collector not ready at %s within %s; logs:\n%s", url, timeout, c.Logs())
}

// Stop sends SIGTERM, waits up to timeout, then kills; it returns the exit code.
func (c *Collector) Stop(timeout time.Duration) (int, error) {
	select {
	case <-c.done:
	default:
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(timeout):
			_ = c.cmd.Process.Kill()
			<-c.done
			return -1, fmt.Errorf("collector did not exit within %s of SIGTERM", timeout)
		}
	}
	return c.cmd.ProcessState.ExitCode(), nil
}

// RSS returns the resident set size of pid in bytes (VmRSS of /proc/pid/status).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("VmRSS not found")
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Keep the last 4 MiB: a collector under attack may log a lot.
	if b.buf.Len() > 4<<20 {
		tail := append([]byte(nil), b.buf.Bytes()[b.buf.Len()-(2<<20):]...)
		b.buf.Reset()
		b.buf.Write(tail)
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
