package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
)

// TestSQLiteCheckpointsInTheBackground: what is committed reaches the
// database file without the writer checkpointing (it would only after 40
// MB of WAL) and without another write: the background checkpointer copies
// it, and so syncs the WAL, within a fraction of a second.
func TestSQLiteCheckpointsInTheBackground(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "airlock.db")
	db := openPath(t, path)
	ctx := context.Background()
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var kept []*airlock.DevMail
	for i := range 200 {
		kept = append(kept, &airlock.DevMail{At: t0, To: "ada@example.com", Subject: fmt.Sprint(i), Text: strings.Repeat("x", 8000), HTML: "<p></p>", MessageID: fmt.Sprint(i)})
	}
	err = db.Update(ctx, func(tx airlock.Tx) error { // about 1.6 MB, 400 pages, in one transaction
		for _, m := range kept {
			if err := tx.InsertDevMail(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() >= before.Size()+1500000 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes 10 s after the commit (%d before): nothing checkpointed", st.Size(), before.Size())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
