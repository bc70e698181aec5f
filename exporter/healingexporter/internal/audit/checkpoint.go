package audit

import (
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Checkpoint names the last durable record of an audit file: kept apart from it, it shows a file
// cut short (and, keyed, cannot be forged without the key).
type Checkpoint struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
	// MAC is the HMAC-SHA256 of seq and hash under the audit key; empty without a key.
	MAC string `json:"mac,omitempty"`
}

func (c Checkpoint) mac(key []byte) string {
	return keyedHash(key, []byte("vigil-audit-checkpoint\x00"+strconv.FormatUint(c.Seq, 10)+"\x00"+c.Hash))
}

// ReadCheckpoint reads the checkpoint at path; a missing file is (nil, nil): a new log, or one
// from before checkpoints. With a key, the checkpoint's MAC must be valid.
func ReadCheckpoint(path string, key []byte) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("checkpoint %s: not a checkpoint (%v): %w", path, err, ErrUntrusted)
	}
	if key != nil && !hmac.Equal([]byte(c.MAC), []byte(c.mac(key))) {
		return nil, fmt.Errorf("checkpoint %s: not signed with the audit key: %w", path, ErrUntrusted)
	}
	return &c, nil
}

// writeCheckpoint replaces the checkpoint at path: a temporary file, fsynced, then renamed.
func writeCheckpoint(path string, c Checkpoint, key []byte) error {
	if key != nil {
		c.MAC = c.mac(key)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename this finds nothing
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
