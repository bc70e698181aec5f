package validation

import (
	"errors"
	"testing"

	"go.opentelemetry.io/collector/confmap"
)

var errA, errB, errC = errors.New("a: bad"), errors.New("b: worse"), errors.New("c: worst")

func TestJoin(t *testing.T) {
	if err := Join(nil, nil); err != nil {
		t.Fatalf("Join(nil, nil) = %v, want nil", err)
	}
	if err := Join(nil, errA); err != errA {
		t.Fatalf("Join(nil, errA) = %v, want errA itself", err)
	}
	err := Join(Join(errA, nil, errB), errC)
	if got, want := err.Error(), "a: bad; b: worse; c: worst"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	for _, e := range []error{errA, errB, errC} {
		if !errors.Is(err, e) {
			t.Fatalf("errors.Is(%v, %v) = false", err, e)
		}
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 3 {
		t.Fatalf("nested joins are not flattened: %d errors", n)
	}
}

type inner struct{ A, B bool }

func (i inner) Validate() error {
	var a, b error
	if i.A {
		a = errA
	}
	if i.B {
		b = errB
	}
	return Join(a, b)
}

type outer struct {
	Items []inner `mapstructure:"items"`
}

// TestEveryErrorKeepsItsPath checks the reason for Join: under the collector's validation, both
// errors of one nested value stay on the line that carries its path.
func TestEveryErrorKeepsItsPath(t *testing.T) {
	err := confmap.Validate(&outer{Items: []inner{{}, {A: true, B: true}}})
	if got, want := err.Error(), "items::1: a: bad; b: worse"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
