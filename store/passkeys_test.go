package store_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/store"
)

// testPasskeys: a passkey is kept with everything a later use needs, read
// back with its user's count, its counter only goes up (of parallel uses
// carrying one counter, one is written), a credential id belongs to one
// account, and a ceremony ends once.
func testPasskeys(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if err := db.CreateUser(ctx, newUser("u1", "pk@example.com")); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, newUser("u2", "other@example.com")); err != nil {
		t.Fatal(err)
	}
	p := &airlock.Passkey{ID: []byte{1, 2, 3}, UserID: "u1", Name: "Work phone", PublicKey: []byte("cose"), AttestationFormat: "none",
		SignCount: 5, BackupEligible: true, BackupState: true, Transports: []string{"hybrid", "internal"}, AAGUID: bytes.Repeat([]byte{7}, 16),
		CreatedAt: t0}
	if err := db.CreatePasskey(ctx, p); err != nil {
		t.Fatal(err)
	}
	again := *p
	again.UserID = "u2"
	if err := db.CreatePasskey(ctx, &again); airlock.ErrorCode(err) != airlock.CodeConflict {
		t.Fatalf("one credential id on two accounts: %v", err)
	}
	got, err := db.PasskeyByID(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Work phone" || got.SignCount != 5 || !got.BackupEligible || !got.BackupState || len(got.Transports) != 2 ||
		!bytes.Equal(got.AAGUID, p.AAGUID) || string(got.PublicKey) != "cose" || !got.CreatedAt.Equal(t0) || !got.LastUsedAt.IsZero() {
		t.Fatalf("read back: %+v", got)
	}
	u, err := db.UserByID(ctx, "u1")
	if err != nil || u.Passkeys != 1 || !u.SecondStep() {
		t.Fatalf("user's passkeys: %v %v", u, err)
	}
	if ok, err := db.UsePasskey(ctx, p.ID, 5, false, t0.Add(time.Minute)); err != nil || ok {
		t.Fatalf("a counter that does not go up was written: %v %v", ok, err)
	}
	// Parallel uses with one counter: one is written.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.Update(ctx, func(tx airlock.Tx) error {
				ok, err := tx.UsePasskey(ctx, p.ID, 9, false, t0.Add(2*time.Minute))
				if ok {
					wins.Add(1)
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d parallel uses with one counter were written", wins.Load())
	}
	got, _ = db.PasskeyByID(ctx, p.ID)
	if got.SignCount != 9 || got.BackupState || !got.LastUsedAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("after use: %+v", got)
	}
	// An authenticator without a counter sends zero every time.
	zero := &airlock.Passkey{ID: []byte{9}, UserID: "u1", Name: "Key", PublicKey: []byte("k"), CreatedAt: t0.Add(time.Second)}
	if err := db.CreatePasskey(ctx, zero); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.UsePasskey(ctx, zero.ID, 0, false, t0); err != nil || !ok {
		t.Fatalf("a counter-less use: %v %v", ok, err)
	}
	list, err := db.ListPasskeys(ctx, "u1")
	if err != nil || len(list) != 2 || list[0].Name != "Work phone" {
		t.Fatalf("list: %v %v", list, err)
	}
	if ok, err := db.DeletePasskey(ctx, "u2", p.ID); err != nil || ok {
		t.Fatalf("another user removed it: %v %v", ok, err)
	}
	if ok, err := db.DeletePasskey(ctx, "u1", p.ID); err != nil || !ok {
		t.Fatalf("remove: %v %v", ok, err)
	}
	if n, err := db.DeleteUserPasskeys(ctx, "u1"); err != nil || n != 1 {
		t.Fatalf("remove all: %d %v", n, err)
	}

	c := &airlock.PasskeyCeremony{IDHash: []byte("ceremony-hash"), Purpose: airlock.CeremonySignIn, State: []byte(`{}`),
		CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
	if err := db.CreatePasskeyCeremony(ctx, c); err != nil {
		t.Fatal(err)
	}
	c2 := &airlock.PasskeyCeremony{IDHash: []byte("ceremony-2"), Purpose: airlock.CeremonyRegister, UserID: "u1", BoundHash: []byte("s"),
		State: []byte(`{}`), CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
	if err := db.CreatePasskeyCeremony(ctx, c2); err != nil {
		t.Fatal(err)
	}
	back, err := db.PasskeyCeremonyByHash(ctx, c2.IDHash)
	if err != nil || back.UserID != "u1" || string(back.BoundHash) != "s" || back.Purpose != airlock.CeremonyRegister || !back.ExpiresAt.Equal(c2.ExpiresAt) {
		t.Fatalf("ceremony: %+v %v", back, err)
	}
	var ended atomic.Int32
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := db.DeletePasskeyCeremony(ctx, c.IDHash); err != nil {
				t.Error(err)
			} else if ok {
				ended.Add(1)
			}
		}()
	}
	wg.Wait()
	if ended.Load() != 1 {
		t.Fatalf("a ceremony ended %d times", ended.Load())
	}
	if err := db.Cleanup(ctx, t0.Add(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PasskeyCeremonyByHash(ctx, c2.IDHash); err == nil {
		t.Fatal("an expired ceremony outlived the cleanup")
	}
}
