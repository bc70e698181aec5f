// Package audit keeps the healing exporter's append-only, hash-chained JSON-lines record of every
// decision. Each record carries the SHA-256 of the one before it, so removing, reordering or
// editing a record breaks the chain at that record; Verify names the first broken one.
package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Decisions recorded.
const (
	DecisionFired       = "fired"       // an incident started firing
	DecisionSuppressed  = "suppressed"  // an action was not run; Reason says why
	DecisionDryRun      = "dry_run"     // an action would have run
	DecisionExecuting   = "executing"   // the intent, written and synced before the action runs
	DecisionExecuted    = "executed"    // the action succeeded
	DecisionFailed      = "failed"      // the action failed; Detail says how
	DecisionResolved    = "resolved"    // the incident's condition cleared
	DecisionInterrupted = "interrupted" // an intent found without outcome at start: never re-run
	DecisionRejected    = "rejected"    // a telemetry value refused by a pattern; nothing ran
)

// genesis is the Prev of the first record.
const genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Record is one audited decision.
type Record struct {
	Seq        uint64    `json:"seq"`
	Time       time.Time `json:"time"`
	Decision   string    `json:"decision"`
	Reason     string    `json:"reason,omitempty"`
	Rule       string    `json:"rule,omitempty"`
	Target     string    `json:"target,omitempty"`
	Incident   string    `json:"incident,omitempty"`
	Action     string    `json:"action,omitempty"`
	Step       int       `json:"step,omitempty"`
	Value      *float64  `json:"value,omitempty"`
	ObservedAt int64     `json:"observed_at,omitempty"` // the data point's time, Unix ns
	DryRun     bool      `json:"dry_run,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	Prev       string    `json:"prev"`
	Hash       string    `json:"hash"`
}

// hash returns the hex SHA-256 of the record's JSON encoding with an empty Hash.
func (r Record) hash() (string, []byte, error) {
	r.Hash = ""
	b, err := json.Marshal(r)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), b, nil
}

// sanitize makes every string valid UTF-8, so that the stored encoding re-encodes to the same
// bytes when verified (JSON would otherwise turn invalid bytes into U+FFFD on the way back).
func (r *Record) sanitize() {
	for _, s := range []*string{&r.Decision, &r.Reason, &r.Rule, &r.Target, &r.Incident, &r.Action, &r.Detail} {
		*s = strings.ToValidUTF8(*s, "\uFFFD")
	}
}

// Log appends records to an audit file. It is safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	seq  uint64
	prev string
}

// Open opens (creating if needed) the audit file at path, checks its chain, and returns the log
// positioned after the last record together with every record already in it. A torn last line
// (a crash during a write) is cut off and reported in torn; any other break is an error that
// names the first broken record.
func Open(path string) (l *Log, records []Record, torn int64, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("audit: open %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("audit: read %s: %w", path, err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		torn = int64(len(data) - (i + 1))
		data = data[:i+1]
		if err := f.Truncate(int64(len(data))); err != nil {
			return nil, nil, 0, fmt.Errorf("audit: cut torn last line of %s: %w", path, err)
		}
	}
	records, err = parseChain(bytes.NewReader(data))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("audit: %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return nil, nil, 0, err
	}
	l = &Log{f: f, w: bufio.NewWriterSize(f, 64<<10), prev: genesis}
	if n := len(records); n > 0 {
		l.seq, l.prev = records[n-1].Seq, records[n-1].Hash
	}
	return l, records, torn, nil
}

// Append adds records to the buffer, filling in Seq, Prev and Hash. Call Sync to make them durable.
func (l *Log) Append(recs ...*Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		r.sanitize()
		l.seq++
		r.Seq, r.Prev = l.seq, l.prev
		h, b, err := r.hash()
		if err != nil {
			return fmt.Errorf("audit: encode record %d: %w", r.Seq, err)
		}
		r.Hash = h
		// The stored line is the hashed encoding with the hash added as the last field.
		b = append(b[:len(b)-1], []byte(`,"hash":"`+h+`"}`+"\n")...)
		if _, err := l.w.Write(b); err != nil {
			return fmt.Errorf("audit: write: %w", err)
		}
		l.prev = h
	}
	return nil
}

// Sync flushes buffered records and fsyncs the file.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("audit: flush: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit: fsync: %w", err)
	}
	return nil
}

// Write appends records and syncs them: the group commit used for each decision batch.
func (l *Log) Write(recs ...*Record) error {
	if err := l.Append(recs...); err != nil {
		return err
	}
	return l.Sync()
}

// Close syncs and closes the file.
func (l *Log) Close() error {
	return errors.Join(l.Sync(), l.f.Close())
}

// BrokenError names the first record that breaks the chain.
type BrokenError struct {
	Line int    // 1-based line number
	Seq  uint64 // the record's seq, when it parsed
	Why  string
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("chain broken at line %d (seq %d): %s", e.Line, e.Seq, e.Why)
}

// Verify checks a whole audit stream and returns the number of records, or a *BrokenError.
func Verify(r io.Reader) (int, error) {
	recs, err := parseChain(r)
	return len(recs), err
}

func parseChain(r io.Reader) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var (
		out  []Record
		prev = genesis
		seq  uint64
		line int
	)
	for sc.Scan() {
		line++
		var rec Record
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return out, &BrokenError{Line: line, Why: "not a record: " + err.Error()}
		}
		switch {
		case rec.Seq != seq+1:
			return out, &BrokenError{Line: line, Seq: rec.Seq, Why: fmt.Sprintf("seq %d follows %d", rec.Seq, seq)}
		case rec.Prev != prev:
			return out, &BrokenError{Line: line, Seq: rec.Seq, Why: "prev does not match the hash of the record before"}
		}
		h, _, err := rec.hash()
		if err != nil || h != rec.Hash {
			return out, &BrokenError{Line: line, Seq: rec.Seq, Why: "hash does not match the record's content"}
		}
		out = append(out, rec)
		prev, seq = rec.Hash, rec.Seq
	}
	if err := sc.Err(); err != nil {
		return out, &BrokenError{Line: line + 1, Seq: seq + 1, Why: err.Error()}
	}
	return out, nil
}
