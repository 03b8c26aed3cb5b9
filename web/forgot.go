package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/airlockhq/airlock/edge"
	"github.com/airlockhq/airlock/mail"
)

func (s *Server) forgotPage(r *http.Request) *page {
	p := s.newPage(r, "", "forgot.title")
	p.form("email")
	p.focusFirst = true
	return p
}

func (s *Server) handleForgotForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "forgot", s.forgotPage(r))
}

// handleForgotSubmit answers the same page whatever the account: existing,
// unknown or inactive. Only the shape of the input or the client's own rate
// can change the answer. The page repeats the address typed (so a typo
// shows) and offers to send the link again: that posts the same form here,
// under the same limits, and gets this same answer.
func (s *Server) handleForgotSubmit(w http.ResponseWriter, r *http.Request) {
	p := s.forgotPage(r)
	f, err := edge.ReadForm(w, r, "email")
	if err == nil {
		p.Values["email"] = f.Get("email")
		var flow string
		if flow, err = s.accounts.RequestReset(r.Context(), f.Get("email"), s.meta(r)); err == nil {
			// Every request gets its flow alike, whatever the account.
			s.setCookie(w, flowCookie, flow, s.accounts.FlowLife())
		}
	}
	if err != nil {
		s.render(w, s.applyError(w, p, err), "forgot", p)
		return
	}
	sent := s.newPage(r, "", "forgot.sent.title")
	sent.Data["Email"] = strings.TrimSpace(f.Get("email"))
	sent.Data["ValidFor"] = mail.Duration(s.accounts.Config().ResetTokenTTL, sent.Lang)
	if wait := s.countAsked(w, r); wait > 0 {
		// A fourth link within the hour would be dropped by the per-account
		// limit: say when asking again can help, instead of a button.
		sent.Data["AskAgainIn"] = mail.Duration(wait, sent.Lang)
	}
	s.render(w, http.StatusOK, "forgot_sent", sent)
}

// countAsked records in this browser's cookie that it asked now, and says
// how long until it may usefully ask again: zero while it has asked fewer
// times in the window than the per-account limit allows.
func (s *Server) countAsked(w http.ResponseWriter, r *http.Request) time.Duration {
	limit := s.accounts.Config().LimitResetPerAccount
	if limit.N <= 0 {
		return 0
	}
	now := s.accounts.Now()
	var kept []string
	var times []time.Time
	for _, v := range strings.Split(s.cookie(r, askedCookie), ".") {
		sec, err := strconv.ParseInt(v, 10, 64)
		if at := time.Unix(sec, 0); err == nil && now.Sub(at) < limit.Per && !at.After(now) {
			kept, times = append(kept, v), append(times, at)
		}
	}
	kept, times = append(kept, strconv.FormatInt(now.Unix(), 10)), append(times, now)
	if len(kept) > limit.N {
		kept, times = kept[len(kept)-limit.N:], times[len(times)-limit.N:]
	}
	s.setCookie(w, askedCookie, strings.Join(kept, "."), limit.Per)
	if len(times) < limit.N {
		return 0
	}
	return times[0].Add(limit.Per).Sub(now)
}
