// Command vigil-audit checks a healing exporter audit file: every record's hash (an HMAC under
// the audit key when the file is keyed), its link to the record before it, the sequence, and the
// checkpoint kept beside it (a file cut short). It prints the number of records, or names the
// first broken record and exits 1.
//
//	vigil-audit verify [-key-file KEY] [-checkpoint FILE.checkpoint] FILE
//
// The checkpoint defaults to FILE.checkpoint when that exists. Without the key, a keyed file
// does not verify; a plain (unkeyed) file verifies without one but proves only that nothing was
// changed by accident: whoever can write it can recompute its chain.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vigil-collector/vigil/exporter/healingexporter/auditverify"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = "usage: vigil-audit verify [-key-file KEY] [-checkpoint CHECKPOINT] FILE"

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 || args[0] != "verify" {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyFile := fs.String("key-file", "", "file holding the audit key (audit.key_file)")
	cpPath := fs.String("checkpoint", "", "checkpoint file (default FILE.checkpoint when it exists)")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	path := fs.Arg(0)
	var key []byte
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			fmt.Fprintln(stderr, "vigil-audit:", err)
			return 2
		}
		key = bytes.TrimRight(b, "\r\n")
	}
	if *cpPath == "" {
		if _, err := os.Stat(path + ".checkpoint"); err == nil {
			*cpPath = path + ".checkpoint"
		}
	}
	var cp *auditverify.Checkpoint
	if *cpPath != "" {
		var err error
		if cp, err = auditverify.ReadCheckpoint(*cpPath, key); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
			return 1
		}
	}
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(stderr, "vigil-audit:", err)
		return 2
	}
	defer f.Close()
	n, err := auditverify.VerifyWith(f, key, cp)
	var broken *auditverify.BrokenError
	switch {
	case errors.As(err, &broken):
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "vigil-audit:", err)
		return 2
	}
	what := "chain intact"
	if key != nil {
		what += ", signed with the key"
	} else {
		what += " (no key given: proves no accidental change, not the absence of forgery)"
	}
	if cp != nil {
		what += fmt.Sprintf(", checkpoint seq %d matches", cp.Seq)
	}
	fmt.Fprintf(stdout, "%s: %d records, %s\n", path, n, what)
	return 0
}
