package account_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/airlockhq/airlock/account"
)

// TestImportFileIsBounded: what is kept of a file once read is its users
// and the first 100 bad lines, never the words of every bad line nor the
// rows refused: the memory it holds does not grow with the bad lines (a
// 16 MiB file of them took 1.6 GB in serve; bench/RESULTS.md has the
// measure). The report still counts every bad line.
func TestImportFileIsBounded(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		line func(i int) string
		bad  int
	}{
		{"wrong number of fields", func(int) string { return "a\n" }, 300_000},
		{"rows refused", func(i int) string { return fmt.Sprintf("field.worker%d@example.com,xx\n", i) }, 50_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("email,language\n")
			for i := range tc.bad {
				b.WriteString(tc.line(i))
			}
			file := b.String()
			before := liveHeap()
			f, err := account.ParseUsersCSV(strings.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			// A problem kept is about 200 bytes; 100 of them, and room to spare.
			held := liveHeap() - before
			runtime.KeepAlive(file) // counted in both measures, not in the difference
			t.Logf("%d bad lines read: %d KiB held", tc.bad, held>>10)
			if held > 256<<10 {
				t.Errorf("%d bad lines read: %d KiB held", tc.bad, held>>10)
			}
			_, err = e.svc.AdminImportUsers(context.Background(), account.Operator, f, false, meta, nil)
			var ie *account.ImportError
			if !errorAs(err, &ie) || len(ie.Problems) != account.MaxImportProblems || ie.More != tc.bad-account.MaxImportProblems {
				t.Fatalf("report: %v", err)
			}
			for i, p := range ie.Problems {
				if p.Line != i+2 {
					t.Fatalf("problem %d is on line %d, want the first bad lines in order", i, p.Line)
				}
			}
		})
	}
}

// liveHeap returns the bytes of the heap still in use after a collection.
func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
