package account_test

import (
	"os"
	"testing"

	"github.com/airlockhq/airlock/internal/testutil"
)

func TestMain(m *testing.M) {
	os.Exit(testutil.Main(m, 4))
}
