package api

// The administrators' actions on one user that take no input (a reset
// email, an invitation, turning two-step sign-in off), and the user's
// emails.

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/edge"
)

// adminAction is the handler of an administrator's action on the user of
// the path that takes no input: the body, if any, must be empty or {}; the
// answer is done (202 Accepted for work that goes on, such as an email, or
// 204 No Content).
func (s *Server) adminAction(action func(ctx context.Context, actor *airlock.User, id string, m account.Meta) error, done int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := edge.ReadBody(w, r)
		// Only JSON's own whitespace makes a body empty: anything else
		// (a no-break space, U+2028) is a body, which must then be {}.
		if err == nil && len(bytes.Trim(body, " \t\r\n")) > 0 {
			var empty struct{}
			err = edge.DecodeJSON(body, &empty)
		}
		if err == nil {
			err = action(r.Context(), userFrom(r), r.PathValue("id"), s.meta(r))
		}
		switch {
		case err != nil:
			s.fail(w, r, err)
		case done == http.StatusAccepted:
			writeAccepted(w)
		default:
			w.WriteHeader(done)
		}
	}
}

// emailJSON is one email of a user's outbox and its history.
type emailJSON struct {
	ID            int64      `json:"id"`
	Kind          string     `json:"kind"`
	State         string     `json:"state"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	SentAt        *time.Time `json:"sent_at,omitempty"`
	Problem       string     `json:"problem,omitempty"`
	ServerReply   string     `json:"server_reply,omitempty"`
	MessageID     string     `json:"message_id,omitempty"`
}

func (s *Server) handleUserEmails(w http.ResponseWriter, r *http.Request) {
	u, err := s.accounts.AdminGetUser(r.Context(), userFrom(r), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := airlock.EmailFilter{UserID: u.ID, State: r.URL.Query().Get("state"), Limit: 50}
	emails, err := s.accounts.AdminListEmails(r.Context(), userFrom(r), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]emailJSON, len(emails))
	for i, j := range emails {
		e := emailJSON{ID: j.ID, Kind: j.EmailKind, State: j.State, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
			Attempts: j.Attempts, Problem: account.DeliveryProblem(j), MessageID: j.MessageID}
		switch j.State {
		case airlock.EmailSent:
			e.SentAt, e.ServerReply = &j.SentAt, j.Reply
		case airlock.EmailDeferred:
			e.NextAttemptAt, e.ServerReply = &j.RunAt, j.LastError
		case airlock.EmailFailed:
			e.ServerReply = j.LastError
		}
		out[i] = e
	}
	writeJSON(w, http.StatusOK, map[string]any{"emails": out})
}
