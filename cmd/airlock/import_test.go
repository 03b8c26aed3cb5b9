package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUserImportReportIsBounded: a file of 250 bad lines prints the first
// 100 and how many more, and creates nobody.
func TestUserImportReportIsBounded(t *testing.T) {
	p := newProgram(t, nil)
	var b strings.Builder
	b.WriteString("email,language\n")
	for i := range 250 {
		fmt.Fprintf(&b, "worker%d@example.com,xx\n", i)
	}
	path := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := p.run("", "user", "import", path)
	logs := p.logs.String()
	if err == nil || !strings.Contains(err.Error(), "nothing was imported: 250 lines to fix") || strings.Count(logs, "\nline ") != 99 ||
		!strings.HasPrefix(logs, "line 2: The language must be en or fr.\n") || !strings.Contains(logs, "line 101: ") ||
		!strings.Contains(logs, "… and 150 lines more\n") {
		t.Fatalf("import of a bad file: %v\n%s", err, logs)
	}
	if list, _ := p.run("", "user", "list"); strings.Contains(list, "worker") {
		t.Fatal("a refused import created a user")
	}
}
