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

// Checkpoint names the last durable record of an audit file.
type Checkpoint = audit.Checkpoint

// ReadCheckpoint reads a checkpoint file; with a key its MAC must be valid.
func ReadCheckpoint(path string, key []byte) (*Checkpoint, error) {
	return audit.ReadCheckpoint(path, key)
}

// VerifyWith checks a stream with the audit key (nil: none) and a checkpoint (nil: none).
func VerifyWith(r io.Reader, key []byte, cp *Checkpoint) (int, error) {
	return audit.VerifyWith(r, key, cp)
}

// Record is one audited decision, as stored.
type Record = audit.Record

// Append adds records to the audit file at path, continuing its chain (tests and tools that
// seed a file use it; the exporter writes through its own log).
func Append(path string, recs ...*Record) error {
	return appendWith(path, audit.Options{}, recs)
}

// AppendWith adds records to a keyed audit file at path, writing its checkpoint beside it
// (path + ".checkpoint"), as the exporter does with audit.key_file.
func AppendWith(path string, key []byte, recs ...*Record) error {
	return appendWith(path, audit.Options{Key: key, CheckpointPath: path + ".checkpoint"}, recs)
}

// appendWith adds records to the audit file at path opened with opt.
func appendWith(path string, opt audit.Options, recs []*Record) error {
	l, _, _, err := audit.OpenWith(path, opt)
	if err != nil {
		return err
	}
	if err := l.Write(recs...); err != nil {
		l.Close()
		return err
	}
	return l.Close()
}
