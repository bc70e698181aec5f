// Command shopgen sends a small shop's traces to a collector over OTLP/gRPC: frontend calls
// catalog and checkout, checkout calls payments, every 100 ms, each call as the caller's CLIENT
// span and the callee's SERVER span. --fail makes a share of one service's calls fail (HTTP 503).
//
//	go run ./testbed/cmd/shopgen [--endpoint localhost:4317] [--duration 30s] [--fail payments=0.5]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/vigil-collector/vigil/testbed/shop"
)

type fails []string

func (f *fails) String() string     { return fmt.Sprint(*f) }
func (f *fails) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	endpoint := flag.String("endpoint", "localhost:4317", "OTLP/gRPC endpoint of the collector")
	duration := flag.Duration("duration", 30*time.Second, "how long to send")
	tick := flag.Duration("tick", 100*time.Millisecond, "time between batches")
	host := flag.String("host", "", "host.name on every span (empty: none)")
	var fail fails
	flag.Var(&fail, "fail", "service=ratio: that share of the service's calls fail (repeatable)")
	flag.Parse()

	s := shop.New(shop.DefaultEdges)
	s.Host = *host
	for _, f := range fail {
		name, ratio, err := shop.ParseFail(f)
		if err == nil {
			err = s.SetFail(name, ratio)
		}
		if err != nil {
			log.Fatalf("shopgen: --fail: %v", err)
		}
	}
	sender, err := shop.Dial(*endpoint)
	if err != nil {
		log.Fatal(err)
	}
	defer sender.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := sender.Run(ctx, s, *tick, *duration); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("shopgen: sent %d spans to %s\n", sender.Spans.Load(), *endpoint)
}
