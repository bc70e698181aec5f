// Package statustest starts the real status extension for other components' tests: a
// component that publishes into it checks what it published through the extension's own API.
package statustest // import "github.com/vigil-collector/vigil/extension/statusextension/statustest"

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/vigil-collector/vigil/extension/statusextension"
	"github.com/vigil-collector/vigil/internal/proctest"
)

// ID is the status extension's ID in Host.
var ID = component.MustNewID("status")

// Host is a component.Host offering extensions.
type Host struct {
	component.Host
	Extensions map[component.ID]component.Component
}

// GetExtensions implements component.Host.
func (h Host) GetExtensions() map[component.ID]component.Component { return h.Extensions }

// NewHost returns a host offering exts.
func NewHost(exts map[component.ID]component.Component) Host {
	return Host{Host: componenttest.NewNopHost(), Extensions: exts}
}

// Start creates the status extension through its factory on a free loopback port (its config
// changed by mutate), starts it with host (componenttest's nop host when nil), stops it when the
// test ends, and returns it with its base URL.
func Start(tb testing.TB, host component.Host, mutate ...func(*statusextension.Config)) (component.Component, string) {
	tb.Helper()
	f := statusextension.NewFactory()
	cfg := f.CreateDefaultConfig().(*statusextension.Config)
	cfg.NetAddr.Endpoint = proctest.FreeAddr(tb)
	for _, m := range mutate {
		m(cfg)
	}
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if host == nil {
		host = componenttest.NewNopHost()
	}
	if err := ext.Start(context.Background(), host); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := ext.Shutdown(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	return ext, "http://" + cfg.NetAddr.Endpoint
}

// GetJSON gets url from the extension's API and decodes its JSON body into v, failing the test
// on any error (with the body in the message), and returns the body.
func GetJSON(tb testing.TB, url string, v any) []byte {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		tb.Fatalf("%s: %v", raw, err)
	}
	return raw
}
