package registry

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxNameLength is the default cap, in bytes, of a name a registry accepts: the breaker's
// max_target_length and the healthscore processor's max_name_length default to it.
const DefaultMaxNameLength = 256

// Errors of names, one per NameProblem.
var (
	ErrEmptyName   = errors.New("name is empty")
	ErrNameTooLong = errors.New("name is too long")
	ErrInvalidName = errors.New("name is not UTF-8 or holds control or bidirectional-control characters")
	ErrBlankName   = errors.New(`name is blank (only spaces) or a dot segment ("." or "..")`)
)

// NameProblem says why a name is refused (NameOK: it is not).
type NameProblem uint8

// Name problems.
const (
	NameOK NameProblem = iota
	NameEmpty
	NameTooLong
	NameInvalid
	NameBlank
)

// Err returns the sentinel error of p (nil for NameOK).
func (p NameProblem) Err() error {
	switch p {
	case NameEmpty:
		return ErrEmptyName
	case NameTooLong:
		return ErrNameTooLong
	case NameInvalid:
		return ErrInvalidName
	case NameBlank:
		return ErrBlankName
	}
	return nil
}

// CheckName is the one name rule of every bounded set of names (breaker targets, components,
// hosts, series, incidents) and of the config fields that name them: non-empty, at most maxLen
// bytes, valid UTF-8, no control character (unicode.IsControl: C0, DEL and C1, so U+0085 is
// refused as well as '\n'), no bidirectional control (U+202E and its kin make a name read as
// another in a terminal or a page), not only spaces, and not "." or "..". Names become metric
// attributes, API path segments and log fields, where a control character forges lines and a
// dot segment walks a path. It does not allocate.
func CheckName(name string, maxLen int) NameProblem {
	switch {
	case name == "":
		return NameEmpty
	case len(name) > maxLen:
		return NameTooLong
	}
	blank := true
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return NameInvalid
			}
			blank = blank && c == ' '
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(name[i:])
		if r == utf8.RuneError && size == 1 || unicode.IsControl(r) || isBidiControl(r) {
			return NameInvalid
		}
		blank = blank && unicode.IsSpace(r)
		i += size
	}
	if blank || name == "." || name == ".." {
		return NameBlank
	}
	return NameOK
}

// isBidiControl reports the bidirectional formatting characters (Unicode's Bidi_Control).
func isBidiControl(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// ValidName is CheckName as an error that wraps the problem's sentinel and, for a name too long,
// gives both lengths.
func ValidName(name string, maxLen int) error {
	switch p := CheckName(name, maxLen); p {
	case NameOK:
		return nil
	case NameTooLong:
		return fmt.Errorf("%w (%d bytes, at most %d)", ErrNameTooLong, len(name), maxLen)
	default:
		return p.Err()
	}
}
