package health

import (
	"unicode"
	"unicode/utf8"
)

// checkName reports why a component or host name is refused, or skipNone: names are non-empty,
// at most maxLen bytes, UTF-8 without control characters (they become metric attributes, breaker
// targets and API path segments).
func checkName(name string, maxLen int) reason {
	switch {
	case name == "":
		return skipInvalidName
	case len(name) > maxLen:
		return skipNameTooLong
	case !utf8.ValidString(name):
		return skipInvalidName
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return skipInvalidName
		}
	}
	return skipNone
}
