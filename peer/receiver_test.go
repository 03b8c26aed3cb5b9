package peer_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/testsvc"
	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/mail"
	"github.com/airlockhq/airlock/peer"
	"github.com/airlockhq/airlock/secretbox"
	"github.com/airlockhq/airlock/store"
)

func TestMain(m *testing.M) { os.Exit(testutil.Main(m, 2)) }

func key(b byte) ed25519.PrivateKey {
	box, _ := secretbox.New(bytes.Repeat([]byte{b}, 32))
	return peer.KeyFrom(box)
}

// TestOneQuestionOnce: of parallel deliveries of one signed question, on
// either database, exactly one is taken.
func TestOneQuestionOnce(t *testing.T) {
	testutil.EachStore(t, func(t *testing.T, db *store.DB) {
		clock := testutil.NewClock()
		clock.Advance(time.Since(clock.Now()))
		public, _ := url.Parse("https://na.example.com")
		acc := testsvc.New(t, db, clock, testsvc.Config(public), "", testsvc.Options{Sender: mail.NewDevMailbox(db, clock.Now)})
		eu := key(1)
		srv := httptest.NewServer(&peer.Receiver{Accounts: acc, Self: "https://na.example.com",
			Peers: []peer.Peer{{URL: "https://eu.example.com", Key: eu.Public().(ed25519.PublicKey)}}})
		defer srv.Close()
		body, sig, _ := peer.Sign(eu, peer.Request{From: "https://eu.example.com", To: "https://na.example.com", Email: "ada@example.com",
			At: clock.Now().UnixMilli(), Nonce: "a-nonce-of-twenty-chars"})
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		for range 8 {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, srv.URL+peer.Path, bytes.NewReader(body))
				req.Header.Set(peer.Signature, sig)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				mu.Lock()
				codes[res.StatusCode]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if codes[202] != 1 || codes[401] != 7 {
			t.Fatalf("answers to one question sent 8 times at once: %v", codes)
		}
		n, err := testutil.CountJobs(db, airlock.JobForgot)
		if err != nil || n != 1 {
			t.Fatalf("%d forgot jobs queued, want 1 (%v)", n, err)
		}
	})
}

// TestPeerDownDropped: a peer that does not answer is asked three times
// in all, then the question is dropped and counted; the per-address limit
// bounds what one address makes this server ask.
func TestPeerDownDropped(t *testing.T) {
	db := testutil.OpenStore(t)
	clock := testutil.NewClock()
	var mu sync.Mutex
	tries := 0
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tries++
		mu.Unlock()
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer down.Close()
	public, _ := url.Parse("https://eu.example.com")
	cfg := testsvc.Config(public)
	cfg.Peers = []account.Peer{{URL: down.URL, Name: "North America"}}
	cfg.PeerAsker = &peer.Client{Self: "https://eu.example.com", Key: key(1), HTTP: down.Client(), Now: clock.Now}
	acc := testsvc.New(t, db, clock, cfg, "", testsvc.Options{Sender: mail.NewDevMailbox(db, clock.Now)})
	ctx := context.Background()
	if _, err := acc.RequestReset(ctx, "nobody@example.com", account.Meta{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := acc.ProcessDue(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Advance(2 * time.Hour) // past any backoff
	}
	if sent, dropped := acc.Referrals(); sent != 0 || dropped != 1 || tries != 3 {
		t.Fatalf("sent %d, dropped %d after %d tries; want 0, 1, 3", sent, dropped, tries)
	}
	if n, _ := testutil.CountJobs(db, account.JobReferral); n != 0 {
		t.Fatalf("%d questions still queued", n)
	}
}

// TestQuestionsPerAddress: one address makes this server ask a peer at
// most 3 times an hour, however often it is asked for.
func TestQuestionsPerAddress(t *testing.T) {
	db := testutil.OpenStore(t)
	clock := testutil.NewClock()
	var mu sync.Mutex
	asked := 0
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked++
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer up.Close()
	public, _ := url.Parse("https://eu.example.com")
	cfg := testsvc.Config(public)
	cfg.Peers = []account.Peer{{URL: up.URL, Name: "North America"}}
	cfg.PeerAsker = &peer.Client{Self: "https://eu.example.com", Key: key(1), HTTP: up.Client(), Now: clock.Now}
	acc := testsvc.New(t, db, clock, cfg, "", testsvc.Options{Sender: mail.NewDevMailbox(db, clock.Now)})
	ctx := context.Background()
	for range 5 {
		if _, err := acc.RequestReset(ctx, "nobody@example.com", account.Meta{IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := acc.ProcessDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if sent, _ := acc.Referrals(); sent != 3 || asked != 3 {
		t.Fatalf("asked the peer %d times (%d counted), want 3", asked, sent)
	}
}

// TestPeerBusyNotAskedAgain: a peer that says it is busy (429: its limit
// for this server) is not asked again about that question.
func TestPeerBusyNotAskedAgain(t *testing.T) {
	db := testutil.OpenStore(t)
	clock := testutil.NewClock()
	var mu sync.Mutex
	tries := 0
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tries++
		mu.Unlock()
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer busy.Close()
	public, _ := url.Parse("https://eu.example.com")
	cfg := testsvc.Config(public)
	cfg.Peers = []account.Peer{{URL: busy.URL, Name: "North America"}}
	cfg.PeerAsker = &peer.Client{Self: "https://eu.example.com", Key: key(1), HTTP: busy.Client(), Now: clock.Now}
	acc := testsvc.New(t, db, clock, cfg, "", testsvc.Options{Sender: mail.NewDevMailbox(db, clock.Now)})
	ctx := context.Background()
	if _, err := acc.RequestReset(ctx, "nobody@example.com", account.Meta{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := acc.ProcessDue(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Advance(2 * time.Hour)
	}
	if _, dropped := acc.Referrals(); dropped != 1 || tries != 1 {
		t.Fatalf("dropped %d after %d tries; want 1 after 1", dropped, tries)
	}
}
