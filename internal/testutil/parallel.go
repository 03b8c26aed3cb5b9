package testutil

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"
)

// Main runs a package's tests from its TestMain: up to parallel of them at
// once (RaiseParallel), then drops the PostgreSQL database their schemas
// lived in (PostgresURL). It returns the exit code.
func Main(m *testing.M, parallel int) int {
	RaiseParallel(parallel)
	code := m.Run()
	if !DropDatabase() {
		code = 1
	}
	return code
}

// DropDatabase drops the PostgreSQL database the tests' schemas lived in
// (PostgresURL), if one was made, and says whether that went well.
func DropDatabase() bool {
	if err := shared.drop(); err != nil {
		fmt.Fprintln(os.Stderr, "drop the test database:", err)
		return false
	}
	return true
}

// RaiseParallel, called from a package's TestMain, runs up to n of its
// parallel tests at once unless the command line says otherwise
// (-parallel). go test's default is the number of cores, which suits tests
// that compute; these wait on databases, SMTP servers, serve processes and
// browsers far more than they compute, and at two at a time they left a
// 2-core machine idle two thirds of the time.
func RaiseParallel(n int) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", strconv.Itoa(n))
	}
}
