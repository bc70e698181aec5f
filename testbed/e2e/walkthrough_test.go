package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/testbed/harness"
)

// readmeCommands returns the commands of the README's "Try it" section, in order: every line of
// its sh blocks that is not a comment (continuation lines joined).
func readmeCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "README.md"))
	require.NoError(t, err)
	text := string(b)
	start := strings.Index(text, "\n## Try it\n")
	require.GreaterOrEqual(t, start, 0, "README has no Try it section")
	section := text[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var cmds []string
	inSh, cont := false, ""
	sc := bufio.NewScanner(strings.NewReader(section))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sh"):
			inSh = true
		case strings.HasPrefix(line, "```"):
			inSh = false
		case inSh && strings.HasSuffix(line, "\\"):
			cont += strings.TrimSuffix(line, "\\")
		case inSh && strings.TrimSpace(line) != "" && !strings.HasPrefix(strings.TrimSpace(line), "#"):
			cmds = append(cmds, cont+line)
			cont = ""
		}
	}
	return cmds
}

// walkthroughChecks say what a command's output must show, by a part of the command.
var walkthroughChecks = []struct{ command, want string }{
	{"curl -s localhost:13133/health/status", `"healthy":true`},
	{"shopgen --endpoint localhost:4317 --duration 30s", `shopgen: sent \d{4,} spans`},
	{"system_cpu_utilization_ratio|healthcheck_status", `(?m)^healthcheck_status\{.*\} 1$`},
	{"grep '^health_score{'", `service_name="payments"`},
	{"grep '^health_status{'", `(?m)^health_status\{health_status="healthy".*service_name="payments".*\} 1$`},
	{"/v1/dependencies", `"payments"`},
	{"traces_span_metrics_calls_total", `service_name="frontend"`},
	{`service_name="(payments|checkout)"`, `(?m)^health_status\{health_status="unhealthy".*service_name="payments".*\} 1$`},
	{`service_name="(payments|checkout)"`, `(?m)^health_status\{health_status="healthy".*service_name="checkout".*\} 1$`},
	{`service_name="(payments|checkout)"`, `(?m)^health_score\{[^}]*service_name="payments"[^}]*\} 0\.[0-4]`},
	{"grep '^health_root_cause{'", `(?m)^health_root_cause\{[^}]*service_name="payments"[^}]*\} 1$`},
	{`health_signal_name="dependencies"`, `service_name="checkout"`},
	{"breakers/payments?peek=true", `"state":"open"`},
	{"breakers/catalog?peek=true", `"state":"closed"`},
	{"/v1/status?status=unhealthy,degraded", `"name":"payments","status":"unhealthy"`},
	{"/v1/incidents?service=payments", `"kind":"breaker","service":"payments","from":"closed","to":"open"`},
	{"/v1/health/payments", `^503`},
	{`"forced_open"`, `"mode":"forced_open"`},
	{`{"mode":"auto"}`, `"mode":"auto"`},
	{`grep '"target":"payments"' .vigil-state/healing-audit.jsonl`, `"rule":"(service-unhealthy|breaker-open)"`},
	{"make audit-verify", `chain intact`},
	{"grep '^predict_'", `no predictions yet`},
	{"otelcol_receiver_accepted_spans", `receiver="otlp"`},
}

// TestReadmeWalkthrough runs every command of the README's "Try it" section in order, as a user
// would, from the repository root: `make run` in the background (as in its own terminal), the
// rest one after another, in a network namespace of its own so the default ports are free. Each
// command must succeed, and the outputs must tell the README's story.
func TestReadmeWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("about 3 minutes")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace of its own (the walk-through uses the default ports)")
	}
	for _, tool := range []string{"unshare", "ip", "curl", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	harness.Binary(t)
	cmds := readmeCommands(t)
	require.Equal(t, "make run", cmds[0], "the walk-through starts Vigil first")

	root := harness.RepoRoot()
	// The walk-through writes .vigil-state/ in the repository: keep a developer's own aside.
	state := filepath.Join(root, ".vigil-state")
	if _, err := os.Stat(state); err == nil {
		aside := filepath.Join(t.TempDir(), "vigil-state")
		require.NoError(t, os.Rename(state, aside))
		t.Cleanup(func() {
			_ = os.RemoveAll(state)
			_ = os.Rename(aside, state)
		})
	} else {
		t.Cleanup(func() { _ = os.RemoveAll(state) })
	}

	// One script: loopback up, `make run` as its own process group (Ctrl-C reaches all of it),
	// then each command with its output and exit code kept apart.
	out := t.TempDir()
	var script strings.Builder
	script.WriteString("set -m\nip link set lo up\n")
	fmt.Fprintf(&script, "make run >%s/run.log 2>&1 &\nrun=$!\n", out)
	for i, c := range cmds[1:] {
		fmt.Fprintf(&script, "( %s ) >%s/%d.out 2>&1; echo $? >%s/%d.code\n", c, out, i, out, i)
	}
	fmt.Fprintf(&script, "kill -INT -- -$run\nfor i in $(seq 200); do kill -0 $run 2>/dev/null || break; sleep 0.1; done\nwait $run; echo $? >%s/run.code\n", out)
	path := filepath.Join(out, "walkthrough.sh")
	require.NoError(t, os.WriteFile(path, []byte(script.String()), 0o600))

	cmd := exec.Command("unshare", "--net", "--", "bash", path)
	cmd.Dir = root
	done := make(chan struct{})
	var output []byte
	var err error
	go func() {
		output, err = cmd.CombinedOutput()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(8 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the walk-through did not end within 8 minutes")
	}
	require.NoError(t, err, "%s", output)

	results := map[string]string{}
	for i, c := range cmds[1:] {
		code, _ := os.ReadFile(filepath.Join(out, strconv.Itoa(i)+".code"))
		text, _ := os.ReadFile(filepath.Join(out, strconv.Itoa(i)+".out"))
		results[c] = string(text)
		assert.Equal(t, "0", strings.TrimSpace(string(code)), "%s\n%s", c, text)
		t.Logf("$ %s\n%s", c, limitLines(string(text), 6))
	}
	runLog, _ := os.ReadFile(filepath.Join(out, "run.log"))
	runCode, _ := os.ReadFile(filepath.Join(out, "run.code"))
	assert.Contains(t, string(runLog), "Shutdown complete", "make run stopped by Ctrl-C")
	t.Logf("make run exit code after Ctrl-C: %s", strings.TrimSpace(string(runCode)))

	for _, chk := range walkthroughChecks {
		found := false
		for c, text := range results {
			if strings.Contains(c, chk.command) {
				found = true
				assert.Regexp(t, regexp.MustCompile(chk.want), text, "output of %s", c)
			}
		}
		assert.True(t, found, "the README no longer has a command with %q", chk.command)
	}
	if t.Failed() {
		t.Logf("make run:\n%s", limitLines(string(runLog), 200))
	}
}

func limitLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("... (%d more lines)", len(lines)-n))
	}
	return strings.Join(lines, "\n")
}
