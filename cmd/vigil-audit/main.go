// Command vigil-audit checks a healing exporter audit file: every record's hash, its link to the
// record before it and the sequence. It prints the number of records, or names the first broken
// record and exits 1.
//
//	vigil-audit verify FILE
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vigil-collector/vigil/exporter/healingexporter/auditverify"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: vigil-audit verify FILE")
		return 2
	}
	f, err := os.Open(args[1])
	if err != nil {
		fmt.Fprintln(stderr, "vigil-audit:", err)
		return 2
	}
	defer f.Close()
	n, err := auditverify.Verify(f)
	var broken *auditverify.BrokenError
	switch {
	case errors.As(err, &broken):
		fmt.Fprintf(stderr, "%s: %v\n", args[1], err)
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "vigil-audit:", err)
		return 2
	}
	fmt.Fprintf(stdout, "%s: %d records, chain intact\n", args[1], n)
	return 0
}
