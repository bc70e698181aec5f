// Package audit keeps the healing exporter's append-only, hash-chained JSON-lines record of every
// decision. Each record carries the hash of the one before it, so removing, reordering or editing
// a record breaks the chain at that record; Verify names the first broken one.
//
// A plain SHA-256 chain only detects accidents: whoever can write the file can recompute it. With
// a secret key (Options.Key) every record's hash is an HMAC-SHA256, which cannot be recomputed
// without the key; and a checkpoint (the last seq and hash, also keyed) kept in a separate file
// detects a file cut short, which no chain can show by itself.
package audit

import (
	"bufio"
	"bytes"
	"crypto/hmac"
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
	Hash       string    `json:"hash,omitempty"`
}

// Options of an audit log.
type Options struct {
	// Key, when set, makes every new record's hash an HMAC-SHA256 under it, and the checkpoint
	// too. Records written before a key was configured (plain SHA-256) are accepted only ahead of
	// the first keyed one.
	Key []byte
	// CheckpointPath, when set, is where the last seq and hash are kept after every sync (written
	// to a temporary file and renamed); Open refuses a file that ends before it.
	CheckpointPath string
}

// MinKeyBytes is the shortest key accepted.
const MinKeyBytes = 32

// encode returns the record's encoding without its hash: what the hash covers.
func (r Record) encode() ([]byte, error) {
	r.Hash = ""
	return json.Marshal(r)
}

// plainHash is the hex SHA-256 of b.
func plainHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// keyedHash is the hex HMAC-SHA256 of b under key.
func keyedHash(key, b []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// legacyHash is the hash of a record as files with the duplicate hash key computed it: files
// written before one hash key per line hashed the encoding with an empty "hash" as its last key
// (Hash is the last field, and the encoding without it ends with the non-optional "prev").
func (r Record) legacyHash() string {
	b, err := r.encode()
	if err != nil {
		return ""
	}
	return plainHash(append(b[:len(b)-1], `,"hash":""}`...)) // b is our own fresh encoding
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
	mu       sync.Mutex
	f        *os.File
	w        *bufio.Writer
	seq      uint64
	prev     string
	opt      Options
	synced   uint64 // the seq the checkpoint names
	unsynced bool   // records appended since the last Sync
}

// Open opens the audit file at path without a key or a checkpoint (see OpenWith).
func Open(path string) (l *Log, records []Record, torn int64, err error) {
	return OpenWith(path, Options{})
}

// OpenWith opens (creating if needed) the audit file at path, checks its chain (and its
// checkpoint), and returns the log positioned after the last record together with every record
// already in it. A torn last line (a crash during a write) is cut off and reported in torn; any
// other break is an error that names the first broken record.
func OpenWith(path string, opt Options) (l *Log, records []Record, torn int64, err error) {
	if opt.Key != nil && len(opt.Key) < MinKeyBytes {
		return nil, nil, 0, fmt.Errorf("audit: key of %d bytes; at least %d needed", len(opt.Key), MinKeyBytes)
	}
	var cp *Checkpoint
	if opt.CheckpointPath != "" {
		if cp, err = ReadCheckpoint(opt.CheckpointPath, opt.Key); err != nil {
			return nil, nil, 0, fmt.Errorf("audit: %w", err)
		}
	}
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
	records, err = parseChain(bytes.NewReader(data), opt.Key, cp)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("audit: %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return nil, nil, 0, err
	}
	l = &Log{f: f, w: bufio.NewWriterSize(f, 64<<10), prev: genesis, opt: opt}
	if n := len(records); n > 0 {
		l.seq, l.prev = records[n-1].Seq, records[n-1].Hash
	}
	if cp != nil {
		l.synced = cp.Seq
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
		b, err := r.encode()
		if err != nil {
			return fmt.Errorf("audit: encode record %d: %w", r.Seq, err)
		}
		h := plainHash(b)
		if l.opt.Key != nil {
			h = keyedHash(l.opt.Key, b)
		}
		r.Hash = h
		// The stored line is the hashed encoding with the hash added as the last (only) hash field.
		b = append(b[:len(b)-1], []byte(`,"hash":"`+h+`"}`+"\n")...)
		if _, err := l.w.Write(b); err != nil {
			return fmt.Errorf("audit: write: %w", err)
		}
		l.prev = h
		l.unsynced = true
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
	if l.opt.CheckpointPath != "" && (l.unsynced || l.synced != l.seq) {
		// The file is durable up to l.seq: the checkpoint follows. A failed checkpoint write fails
		// the sync, so that no action runs on an intent the checkpoint does not cover.
		cp := Checkpoint{Seq: l.seq, Hash: l.prev}
		if err := writeCheckpoint(l.opt.CheckpointPath, cp, l.opt.Key); err != nil {
			return fmt.Errorf("audit: checkpoint: %w", err)
		}
		l.synced = l.seq
	}
	l.unsynced = false
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

// ErrUntrusted is matched (errors.Is) by every error that says the audit file or its checkpoint
// cannot be trusted: a broken chain, a forged or unreadable checkpoint, a file cut short.
var ErrUntrusted = errors.New("audit file not trusted")

// Is makes a BrokenError match ErrUntrusted.
func (e *BrokenError) Is(target error) bool { return target == ErrUntrusted }

func (e *BrokenError) Error() string {
	return fmt.Sprintf("chain broken at line %d (seq %d): %s", e.Line, e.Seq, e.Why)
}

// Verify checks a whole audit stream (plain or keyed records, no key, no checkpoint) and returns
// the number of records, or a *BrokenError. A keyed chain fails without its key.
func Verify(r io.Reader) (int, error) {
	recs, err := parseChain(r, nil, nil)
	return len(recs), err
}

// VerifyWith checks a stream with a key and/or a checkpoint: with a key, every record from the
// first keyed one on must carry a valid HMAC; with a checkpoint, the stream must hold the record it
// names, with the same hash.
func VerifyWith(r io.Reader, key []byte, cp *Checkpoint) (int, error) {
	recs, err := parseChain(r, key, cp)
	return len(recs), err
}

func parseChain(r io.Reader, key []byte, cp *Checkpoint) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var (
		out   []Record
		prev  = genesis
		seq   uint64
		line  int
		keyed bool // a keyed record was seen: every later one must be keyed
	)
	for sc.Scan() {
		line++
		raw := sc.Bytes()
		var rec Record
		dec := json.NewDecoder(bytes.NewReader(raw))
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
		b, err := rec.encode()
		if err != nil {
			return out, &BrokenError{Line: line, Seq: rec.Seq, Why: "cannot encode: " + err.Error()}
		}
		switch {
		case key != nil && hmac.Equal([]byte(keyedHash(key, b)), []byte(rec.Hash)):
			keyed = true
		case keyed:
			return out, &BrokenError{Line: line, Seq: rec.Seq, Why: "not signed with the audit key (a keyed record came before)"}
		case rec.Hash == plainHash(b):
		case bytes.Contains(raw, []byte(`"hash":"","hash":"`)) && rec.Hash == rec.legacyHash():
		case key == nil && len(rec.Hash) == 64:
			return out, &BrokenError{Line: line, Seq: rec.Seq, Why: "hash does not match the record's content (or the record is keyed: give the key)"}
		default:
			return out, &BrokenError{Line: line, Seq: rec.Seq, Why: "hash does not match the record's content"}
		}
		out = append(out, rec)
		prev, seq = rec.Hash, rec.Seq
	}
	if err := sc.Err(); err != nil {
		return out, &BrokenError{Line: line + 1, Seq: seq + 1, Why: err.Error()}
	}
	if cp != nil {
		switch {
		case seq < cp.Seq:
			return out, &BrokenError{Line: line, Seq: seq, Why: fmt.Sprintf("truncated: the checkpoint names seq %d, the file ends at seq %d", cp.Seq, seq)}
		case cp.Seq > 0 && out[cp.Seq-1].Hash != cp.Hash:
			return out, &BrokenError{Line: int(cp.Seq), Seq: cp.Seq, Why: "the record differs from the checkpoint"}
		}
	}
	return out, nil
}
