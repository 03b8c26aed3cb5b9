package peer

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

// Receiver answers the peers' questions (POST Path).
type Receiver struct {
	Accounts *account.Service
	Peers    []Peer
	// Names names each peer (by its URL) in the emails.
	Names          map[string]string
	Self           string
	TrustedProxies []netip.Prefix
}

// ServeHTTP verifies a question and hands it to account. Every question
// that verifies gets 202 at once, whatever the account: the work is queued,
// so the answer and its timing tell the asker nothing either.
func (h *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		w.Write([]byte(`{"error":"method_not_allowed"}`))
		return
	}
	m := account.Meta{IP: edge.ClientIP(r, h.TrustedProxies), UserAgent: r.UserAgent()}
	body, sig, err := ReadRequest(w, r)
	var req *Request
	var p *Peer
	if err == nil {
		req, p, err = Verify(h.Peers, h.Self, body, sig, h.Accounts.Now())
	}
	if err != nil {
		h.refuse(w, r, p, err, m)
		return
	}
	// The nonce is the sender's: bound to it, one sender cannot spend
	// another's.
	nonce := sha256.Sum256([]byte(p.URL + "\x00" + req.Nonce))
	err = h.Accounts.ReceiveReferral(r.Context(), account.Peer{URL: p.URL, Name: h.name(p.URL)}, req.Email, req.Lang, nonce[:], m)
	switch {
	case err == nil:
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"status":"accepted"}`))
	case account.IsReplay(err):
		h.refuse(w, r, p, ErrReplayed, m)
	case airlock.ErrorCode(err) == airlock.CodeRateLimited:
		if e := airlock.AsError(err); e != nil && e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds())+1))
		}
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":"rate_limited"}`))
	case airlock.ErrorCode(err) == airlock.CodeInvalid:
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_request"}`))
	default:
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"unavailable"}`))
	}
}

// refuse answers 401 and audits why (once per window and reason).
func (h *Receiver) refuse(w http.ResponseWriter, r *http.Request, p *Peer, err error, m account.Meta) {
	reason := "malformed"
	var ref *Refusal
	if errors.As(err, &ref) {
		reason = ref.Reason
	}
	claimed := "unknown"
	if p != nil {
		claimed = p.URL
	}
	aerr := h.Accounts.RefusePeer(r.Context(), claimed, reason, m)
	if airlock.ErrorCode(aerr) == airlock.CodeRateLimited {
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":"rate_limited"}`))
		return
	}
	if aerr != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"unavailable"}`))
		return
	}
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte(`{"error":"refused"}`))
}

func (h *Receiver) name(u string) string {
	if n := h.Names[u]; n != "" {
		return n
	}
	return u
}
