package guardprocessor

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// printableBytes is the byte-at-a-time rule printable implements 8 bytes at a time.
func printableBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b >= 0x7f {
			return false
		}
	}
	return true
}

// TestPrintableMatchesByteRule: every byte value, at every position of strings of 1 to 24 bytes
// in a printable run (so each of the word's lanes and the tail is reached, next to the bounds
// 0x20 and 0x7e), and random strings biased to the bounds, get the byte rule's answer.
func TestPrintableMatchesByteRule(t *testing.T) {
	for n := 1; n <= 24; n++ {
		for pos := range n {
			for b := range 256 {
				for _, fill := range []byte{' ', '~', 'a'} {
					s := []byte(strings.Repeat(string(fill), n))
					s[pos] = byte(b)
					if got, want := printable(string(s)), printableBytes(string(s)); got != want {
						t.Fatalf("printable(%q) = %v, want %v", s, got, want)
					}
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	near := []byte{0x00, 0x1f, 0x20, 0x21, 0x7e, 0x7f, 0x80, 0x81, 0xff, 'a'}
	for range 200_000 {
		s := make([]byte, rng.IntN(40))
		for i := range s {
			if rng.IntN(2) == 0 {
				s[i] = near[rng.IntN(len(near))]
			} else {
				s[i] = byte(0x20 + rng.IntN(0x5f))
			}
		}
		if got, want := printable(string(s)), printableBytes(string(s)); got != want {
			t.Fatalf("printable(%q) = %v, want %v", s, got, want)
		}
	}
	if !printable("") || !printable("GET /api/items/{id} HTTP/1.1 ~") {
		t.Fatal("plain ASCII is printable")
	}
}
