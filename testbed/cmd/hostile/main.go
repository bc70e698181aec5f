// Command hostile runs the hostile-input suite at full size against the built binary, one shipped
// config after the other, and prints the figures side by side with the idle collector:
//
//	go run ./testbed/cmd/hostile --binary _build/otelcol-vigil
//
// Attacks: 100,000 distinct service names (half over each OTLP transport), 300 requests each carrying a
// 1 MiB service name, names with control and bidi characters; the legitimate services keep
// sending all along. The run stops an attack early if the collector's RSS passes --rss-ceiling.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-collector/vigil/testbed/hostile"
)

func main() {
	binary := flag.String("binary", "_build/otelcol-vigil", "collector binary under test")
	root := flag.String("config-root", ".", "folder holding otelcol-config.yaml and deploy/ (the shipped configs)")
	configs := flag.String("configs", "default,gateway,agent", "shipped configs to attack, comma-separated")
	names := flag.Int("names", 100_000, "distinct service names, half over each transport")
	perBatch := flag.Int("per-batch", 1000, "names per request")
	huge := flag.Int("huge", 300, "requests carrying one huge service name (half per transport)")
	hugeSize := flag.Int("huge-size", 1<<20, "bytes of a huge service name")
	rounds := flag.Int("rounds", 1, "attack rounds, each with new names")
	roundGap := flag.Duration("round-gap", 61*time.Second, "pause between rounds (past the guard's 1 min interval)")
	workers := flag.Int("workers", 4, "concurrent requests")
	warm := flag.Duration("warm", 20*time.Second, "legitimate traffic before the idle figures")
	settle := flag.Duration("settle", 35*time.Second, "wait after the attack before the settled figures")
	ceiling := flag.Int64("rss-ceiling-mib", 4096, "stop an attack when the collector's RSS passes this")
	hung := flag.Bool("hung-webhook", true, "also run the hung-webhook scenario: 1,500 alerts to a webhook that never answers, then 10 of a rule with a log action")
	check := flag.Bool("check", true, "exit 1 unless RSS <= idle + 300 MiB, page <= 20 MB, scrape <= 1 s, no raw control bytes, legit services scored")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed := false
	for _, name := range strings.Split(*configs, ",") {
		if name == "" {
			continue
		}
		dir, err := os.MkdirTemp("", "vigil-hostile-"+name+"-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		res, err := hostile.RunCardinality(ctx, hostile.CardinalityOptions{
			Binary: *binary, RepoRoot: *root, Config: name, Dir: dir,
			Names: *names, PerBatch: *perBatch, Workers: *workers,
			Huge: *huge, HugeSize: *hugeSize, Rounds: *rounds, RoundGap: *roundGap,
			Warm: *warm, Settle: *settle, RSSCeiling: *ceiling << 20, Log: os.Stderr,
		})
		_ = os.RemoveAll(filepath.Clean(dir))
		if err != nil {
			fmt.Fprintf(os.Stderr, "hostile: %s: %v\n", name, err)
			failed = true
			continue
		}
		hostile.Table(os.Stdout, name, res.Rows)
		verdict := res.Verdict()
		fmt.Printf("%-8s peak RSS %s MiB, ceiling hit: %v, legit scored: %v, requests %d (%d refused)\n%-8s %s\n\n",
			name, hostile.MiB(res.PeakRSS), res.CeilingHit, res.LegitScored, res.Sent, res.Failed, name, verdictText(verdict))
		if len(verdict) > 0 {
			failed = true
		}
	}
	if *hung && !runHung(ctx, *binary) {
		failed = true
	}
	if failed && *check {
		os.Exit(1)
	}
}

// runHung runs the hung-webhook scenario and reports whether the log action was starved.
func runHung(ctx context.Context, binary string) bool {
	dir, err := os.MkdirTemp("", "vigil-hostile-hung-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return false
	}
	defer os.RemoveAll(dir)
	res, err := hostile.RunHungWebhook(ctx, binary, dir, 1500, 10, 35*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile: hung webhook:", err)
		return false
	}
	fmt.Printf("hung-webhook: %d alerts to a webhook that never answers, then %d to a log action\n", res.HookAlerts, res.LogAlerts)
	fmt.Printf("  log executed %d, log suppressed(queue_full) %d, hook suppressed(queue_full) %d\n", res.LogExecuted, res.LogQueueFull, res.HookQueueFull)
	fmt.Printf("  pending:\n%s  oldest age (s):\n%s  healing status: %s\n", indent(res.Pending), indent(res.OldestAge), res.Health)
	ok := res.LogExecuted == res.LogAlerts
	if ok {
		fmt.Println("  isolated: every log action ran beside the hung webhook")
	} else {
		fmt.Println("  NOT isolated: the hung webhook starved the log action")
	}
	return ok
}

func indent(s string) string {
	if s == "" {
		return "    (none)\n"
	}
	return "    " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n    ") + "\n"
}

func verdictText(problems []string) string {
	if len(problems) == 0 {
		return "bounded: every goal met"
	}
	return "NOT bounded: " + strings.Join(problems, "; ")
}
