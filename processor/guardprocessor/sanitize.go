package guardprocessor

import (
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// replacement stands in for every character that must never reach an exposition page, a log
// line or a terminal raw.
const replacement = "\uFFFD"

// cleaner cuts long values and replaces unsafe characters, counting what it changed.
type cleaner struct {
	maxLen    int
	truncated int64
	sanitized int64
}

// unsafeRune reports the characters replaced: C0 and C1 controls (NUL, ESC, newline, tab...),
// DEL, and the bidirectional controls that make a name read differently from what it is.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// clean returns s cut to maxLen bytes at a UTF-8 boundary with unsafe characters and invalid
// UTF-8 replaced, and whether it changed. Plain printable ASCII within the limit returns at once.
func (c *cleaner) clean(s string) (string, bool) {
	if len(s) <= c.maxLen && printable(s) {
		return s, false
	}
	if len(s) > c.maxLen {
		c.truncated++
	}
	out := make([]byte, 0, min(len(s), c.maxLen))
	replaced := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		piece := s[i : i+size]
		if (r == utf8.RuneError && size == 1) || unsafeRune(r) {
			piece = replacement
			replaced = true
		}
		if len(out)+len(piece) > c.maxLen {
			break
		}
		out = append(out, piece...)
		i += size
	}
	if replaced {
		c.sanitized++
	}
	return string(out), true
}

// cleanMap cleans every key and string value of m, recursing into maps and slices.
func (c *cleaner) cleanMap(m pcommon.Map) {
	var badKeys []string
	m.Range(func(k string, v pcommon.Value) bool {
		if _, changed := c.cleanKeyProbe(k); changed {
			badKeys = append(badKeys, k)
		}
		c.cleanValue(v)
		return true
	})
	for _, k := range badKeys {
		v, ok := m.Get(k)
		if !ok {
			continue
		}
		nk, _ := c.clean(k)
		moved := pcommon.NewValueEmpty()
		v.CopyTo(moved)
		m.Remove(k)
		if _, exists := m.Get(nk); exists {
			continue // two keys that differ only in what was cut or replaced: the first one wins
		}
		moved.CopyTo(m.PutEmpty(nk))
	}
}

// cleanKeyProbe tells whether a key would change, without counting it twice.
func (c *cleaner) cleanKeyProbe(k string) (string, bool) {
	probe := cleaner{maxLen: c.maxLen}
	return probe.clean(k)
}

func (c *cleaner) cleanValue(v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if s, changed := c.clean(v.Str()); changed {
			v.SetStr(s)
		}
	case pcommon.ValueTypeMap:
		c.cleanMap(v.Map())
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		for i := 0; i < sl.Len(); i++ {
			c.cleanValue(sl.At(i))
		}
	}
}

// cleanName cleans a name and writes it back with set only when cleaning changed it (a name that
// passes is not written again).
func (c *cleaner) cleanName(s string, set func(string)) {
	if out, changed := c.clean(s); changed {
		set(out)
	}
}

// printable reports whether s is printable ASCII (0x20 to 0x7e) only: every value and name passes
// here, so it looks at 8 bytes at a time. A word has a byte of 0x80 or more when its high bit is
// set; below 0x20 when subtracting 0x20 from it borrows ((x - 0x20…) &^ x, exact for whether any
// does); 0x7f when that byte of x ^ 0x7f… is zero.
func printable(s string) bool {
	const one, high = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		del := x ^ 0x7f*one
		if (x|(x-0x20*one)&^x|(del-one)&^del)&high != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b >= 0x7f {
			return false
		}
	}
	return true
}
