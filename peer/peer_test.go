package peer

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/secretbox"
)

func TestParse(t *testing.T) {
	box, _ := secretbox.New(bytes.Repeat([]byte{7}, 32))
	key := PublicKey(KeyFrom(box))
	ps, err := Parse(" https://na.example.com/=" + key + ", http://127.0.0.1:8081=" + key)
	if err != nil || len(ps) != 2 || ps[0].URL != "https://na.example.com" || !bytes.Equal(ps[0].Key, KeyFrom(box).Public().(ed25519.PublicKey)) {
		t.Fatalf("%+v %v", ps, err)
	}
	for _, bad := range []string{"https://na.example.com", "https://na.example.com=abc", "ftp://x=" + key, "https://u:p@x=" + key,
		"https://x/path=" + key, "https://x?q=1=" + key, "https://x=" + key + ",https://x/=" + key} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestVerify(t *testing.T) {
	boxA, _ := secretbox.New(bytes.Repeat([]byte{1}, 32))
	boxB, _ := secretbox.New(bytes.Repeat([]byte{2}, 32))
	a, b := KeyFrom(boxA), KeyFrom(boxB)
	peers := []Peer{{URL: "https://eu.example.com", Key: a.Public().(ed25519.PublicKey)}}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	req := Request{From: "https://eu.example.com", To: "https://na.example.com/", Email: "ada@example.com", At: now.UnixMilli(), Nonce: "0123456789abcdef0123"}
	body, sig, err := Sign(a, req)
	if err != nil {
		t.Fatal(err)
	}
	got, p, err := Verify(peers, "https://na.example.com", body, sig, now.Add(59*time.Second))
	if err != nil || got.Email != "ada@example.com" || p.URL != "https://eu.example.com" {
		t.Fatalf("a good request: %+v %v", got, err)
	}
	_, forgedSig, _ := Sign(b, req)
	tampered := bytes.Replace(body, []byte("ada@"), []byte("eve@"), 1)
	stale := req
	stale.At = now.Add(-61 * time.Second).UnixMilli()
	staleBody, staleSig, _ := Sign(a, stale)
	ahead := req
	ahead.At = now.Add(61 * time.Second).UnixMilli()
	aheadBody, aheadSig, _ := Sign(a, ahead)
	stranger := req
	stranger.From = "https://evil.example.com"
	strangerBody, strangerSig, _ := Sign(b, stranger)
	extra, _ := json.Marshal(map[string]any{"from": req.From, "to": req.To, "email": req.Email, "at": req.At, "nonce": req.Nonce, "admin": true})
	extraSig := string(mustSig(a, extra))
	trailing := append(append([]byte{}, body...), []byte(` {"x":1}`)...)
	trailingSig := string(mustSig(a, trailing))
	badLang := req
	badLang.Lang = "<script>"
	badLangBody, badLangSig, _ := Sign(a, badLang)
	for name, c := range map[string]struct {
		body []byte
		sig  string
		self string
		want error
	}{
		"signed by another key":   {body, forgedSig, "https://na.example.com", ErrForged},
		"body changed":            {tampered, sig, "https://na.example.com", ErrForged},
		"no signature":            {body, "", "https://na.example.com", ErrForged},
		"older than 60 s":         {staleBody, staleSig, "https://na.example.com", ErrStale},
		"more than 60 s ahead":    {aheadBody, aheadSig, "https://na.example.com", ErrStale},
		"for another server":      {body, sig, "https://ap.example.com", ErrMisdirected},
		"from an unknown server":  {strangerBody, strangerSig, "https://na.example.com", ErrUnknownPeer},
		"unknown field":           {extra, extraSig, "https://na.example.com", ErrMalformed},
		"not JSON":                {[]byte("hello"), sig, "https://na.example.com", ErrMalformed},
		"data after the question": {trailing, trailingSig, "https://na.example.com", ErrMalformed},
		"an unknown language":     {badLangBody, badLangSig, "https://na.example.com", ErrMalformed},
	} {
		if _, _, err := Verify(peers, c.self, c.body, c.sig, now); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if !strings.Contains(ErrForged.Error(), "forged") {
		t.Error(ErrForged.Error())
	}
}

func mustSig(k ed25519.PrivateKey, body []byte) []byte {
	_, sig, _ := signRaw(k, body)
	return []byte(sig)
}
