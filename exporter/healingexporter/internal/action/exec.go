package action

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"syscall"
	"time"
)

// Exec runs an allow-listed command as argv, never through a shell, in its own process group
// (killed whole at the timeout), with a minimal environment. The target reaches it only as
// VIGIL_TARGET, and only when it matches TargetPattern; output beyond MaxOutputBytes is dropped.
type Exec struct {
	Command        string
	Args           []string
	Env            map[string]string
	TargetPattern  *regexp.Regexp
	MaxOutputBytes int
}

// Resolvable implements Runner.
func (e *Exec) Resolvable() bool { return false }

// Admit checks a target value against the pattern.
func (e *Exec) Admit(target string) error {
	if !e.TargetPattern.MatchString(target) {
		return fmt.Errorf("target value (%d bytes) does not match %s", len(target), e.TargetPattern)
	}
	return nil
}

// Run implements Runner.
func (e *Exec) Run(ctx context.Context, r Request) (string, error) {
	if err := e.Admit(r.Target); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, e.Command, e.Args...)
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	keys := make([]string, 0, len(e.Env))
	for k := range e.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+e.Env[k])
	}
	env = append(env,
		"VIGIL_RULE="+r.Rule, "VIGIL_INCIDENT="+r.Incident, "VIGIL_TARGET="+r.Target,
		"VIGIL_VALUE="+strconv.FormatFloat(r.Value, 'g', -1, 64), "VIGIL_SEVERITY="+r.Severity)
	cmd.Env = env
	cmd.Dir = "/"
	cmd.Stdin = nil
	out := &cappedBuffer{max: e.MaxOutputBytes}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	detail := out.String()
	if out.dropped > 0 {
		detail += fmt.Sprintf("… (%d bytes of output dropped)", out.dropped)
	}
	if err != nil {
		if ctx.Err() != nil {
			return detail, fmt.Errorf("killed at the timeout: %w", errors.Join(err, ctx.Err()))
		}
		return detail, err
	}
	return detail, nil
}

// cappedBuffer keeps the first max bytes written and counts the rest.
type cappedBuffer struct {
	buf     bytes.Buffer
	max     int
	dropped int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	room := c.max - c.buf.Len()
	if room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
	if len(p) > room {
		c.dropped += len(p) - max(room, 0)
	}
	return len(p), nil
}

func (c *cappedBuffer) String() string { return c.buf.String() }
