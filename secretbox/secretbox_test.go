package secretbox

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpenRotate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	oldPath, newPath := filepath.Join(dir, "old.key"), filepath.Join(dir, "new.key")
	for _, p := range []string{oldPath, newPath} {
		if err := NewKeyFile(p); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %v", fi.Mode().Perm())
		}
	}
	if err := NewKeyFile(oldPath); err == nil {
		t.Fatal("a key file was overwritten")
	}
	old, err := Parse("file:" + oldPath)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := old.Seal([]byte("top secret"), []byte("user-1"))
	if err != nil || bytes.Contains(sealed, []byte("top secret")) {
		t.Fatal(err)
	}
	// Rotation: the new key seals, the old one still opens.
	both, err := Parse("file:" + newPath + ", file:" + oldPath)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := both.Open(sealed, []byte("user-1")); err != nil || string(got) != "top secret" {
		t.Fatalf("open with the rotated box: %q %v", got, err)
	}
	// Bound to its place, and tamper-evident.
	if _, err := both.Open(sealed, []byte("user-2")); err == nil {
		t.Fatal("opened for another user")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := both.Open(sealed, []byte("user-1")); err == nil {
		t.Fatal("opened a tampered value")
	}
	onlyNew, _ := Parse("file:" + newPath)
	fresh, _ := both.Seal([]byte("x"), nil)
	if _, err := onlyNew.Open(fresh, nil); err != nil {
		t.Fatal("the first key does not seal")
	}
	if _, err := onlyNew.Open(sealed, []byte("user-1")); err != ErrNoKey {
		t.Fatalf("a value of a removed key: %v", err)
	}
}

func TestParseNeverEchoesAKey(t *testing.T) {
	t.Parallel()
	short := base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))
	for _, v := range []string{short, "not base64 at all!", "file:/no/such/file"} {
		_, err := Parse(v)
		if err == nil || strings.Contains(err.Error(), short) {
			t.Fatalf("Parse(%q) = %v", v, err)
		}
	}
	k := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	if _, err := Parse(k); err != nil {
		t.Fatal(err)
	}
}

// TestKeyFileWithACommaInItsPath: serve's key file sits beside the SQLite
// file, wherever the operator put it; a comma in that path is part of the
// name (Parse would read it as a list of keys).
func TestKeyFileWithACommaInItsPath(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "site a, site b", "airlock.db.key")
	if err := NewKeyFile(p); err != nil {
		t.Fatal(err)
	}
	box, err := FromFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := box.Seal([]byte("x"), nil)
	again, err := FromFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Open(sealed, nil); err != nil || string(got) != "x" {
		t.Fatalf("the same file read twice: %q %v", got, err)
	}
	if _, err := FromFile(p + ".missing"); err == nil {
		t.Fatal("a missing key file read")
	}
}

func TestDerive(t *testing.T) {
	a, _ := New(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32))
	a2, _ := New(bytes.Repeat([]byte{1}, 32))
	b, _ := New(bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{1}, 32))
	if !bytes.Equal(a.Derive("x"), a2.Derive("x")) {
		t.Fatal("the same first key derives differently")
	}
	if bytes.Equal(a.Derive("x"), b.Derive("x")) || bytes.Equal(a.Derive("x"), a.Derive("y")) || len(a.Derive("x")) != 32 {
		t.Fatal("derived keys do not depend on the first key and the label")
	}
}
