// Package auditverify checks a healing exporter audit file from outside the exporter (the
// vigil-audit command uses it).
package auditverify

import (
	"io"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/audit"
)

// BrokenError names the first record that breaks the chain.
type BrokenError = audit.BrokenError

// Verify checks a whole audit stream and returns the number of records, or a *BrokenError.
func Verify(r io.Reader) (int, error) { return audit.Verify(r) }

// Record is one audited decision, as stored.
type Record = audit.Record

// Append adds records to the audit file at path, continuing its chain (tests and tools that
// seed a file use it; the exporter writes through its own log).
func Append(path string, recs ...*Record) error {
	l, _, _, err := audit.Open(path)
	if err != nil {
		return err
	}
	if err := l.Write(recs...); err != nil {
		l.Close()
		return err
	}
	return l.Close()
}
