package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/edge"
	"github.com/airlockhq/airlock/i18n"
)

// Error codes of the JSON API (SPEC §4).
const (
	codeInvalidRequest         = "invalid_request"
	codeInvalidGrant           = "invalid_grant"
	codeUnauthorized           = "unauthorized"
	codeForbidden              = "forbidden"
	codePasswordChangeRequired = "password_change_required"
	codeNotFound               = "not_found"
	codeMethodNotAllowed       = "method_not_allowed"
	codeConflict               = "conflict"
	codeTooLarge               = "too_large"
	codePasswordPolicy         = "password_policy"
	codeRateLimited            = "rate_limited"
	codeUnavailable            = "unavailable"
	codeTwoFactorRequired      = "two_factor_required"
	codeInternal               = "internal"
)

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Field   string   `json:"field,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// acceptedBody is the one answer of the requests that queue work (the
// forgot request above all, the most flooded): written as bytes, and the
// same bytes whatever happened.
var acceptedBody = []byte(`{"status":"accepted"}` + "\n")

func writeAccepted(w http.ResponseWriter) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusAccepted)
	w.Write(acceptedBody)
}

// writeFlow is the answer of a forgot request: accepted, with its flow id,
// the same shape and bytes but the flow's whatever the address (SPEC §6.1).
// A flow id is base64url: it needs no escaping.
func writeFlow(w http.ResponseWriter, flow string) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusAccepted)
	w.Write([]byte(`{"status":"accepted","flow":"` + flow + `"}` + "\n"))
}

var jsonContentType = []string{"application/json"}

func writeErr(w http.ResponseWriter, status int, d errorDetail) {
	writeJSON(w, status, errorBody{Error: d})
}

// fail answers err with its status and stable code. Errors without a code
// are logged in full and answered with a generic message.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := airlock.AsError(err)
	if e == nil {
		if errors.Is(err, context.Canceled) {
			// The client went away: not our failure, and not an error to log.
			s.log.Debug("api request abandoned by the client", "path", edge.LogPath(r))
			// Never read; 499 (as proxies write it) so that no 5xx is counted.
			writeErr(w, 499, errorDetail{Code: codeInvalidRequest, Message: english("error.api.abandoned")})
			return
		}
		s.log.Error("api request failed", "path", edge.LogPath(r), "err", err)
		writeErr(w, http.StatusInternalServerError, errorDetail{Code: codeInternal, Message: english("error.internal")})
		return
	}
	// API messages are English (SPEC §4): the codes are the contract.
	d := errorDetail{Message: i18n.ErrorText("en", e), Field: e.Field}
	status := http.StatusBadRequest
	switch e.Code {
	case airlock.CodeInvalid:
		d.Code = codeInvalidRequest
	case airlock.CodeInvalidToken:
		d.Code = codeInvalidGrant
	case airlock.CodeUnauthorized:
		d.Code, status = codeUnauthorized, http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="airlock"`)
	case airlock.CodeForbidden:
		d.Code, status = codeForbidden, http.StatusForbidden
	case airlock.CodeTwoFactorRequired:
		// The password was right; send it again with otp. No tokens were issued.
		d.Code, status = codeTwoFactorRequired, http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="airlock", error="two_factor_required"`)
	case airlock.CodeNotFound:
		d.Code, status = codeNotFound, http.StatusNotFound
	case airlock.CodeConflict:
		d.Code, status = codeConflict, http.StatusConflict
	case airlock.CodeTooLarge:
		d.Code, status = codeTooLarge, http.StatusRequestEntityTooLarge
	case airlock.CodePasswordPolicy:
		d.Code, status, d.Reasons = codePasswordPolicy, http.StatusUnprocessableEntity, e.Reasons
		d.Field = "password"
	case airlock.CodeRateLimited:
		d.Code, status = codeRateLimited, http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(int((max(e.RetryAfter, time.Second)+time.Second-1)/time.Second)))
	case airlock.CodeUnavailable:
		d.Code, status = codeUnavailable, http.StatusServiceUnavailable
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(e.RetryAfter/time.Second))))
	default:
		s.log.Error("api request failed", "path", edge.LogPath(r), "err", err)
		d = errorDetail{Code: codeInternal, Message: english("error.internal")}
		status = http.StatusInternalServerError
	}
	writeErr(w, status, d)
}

// english is the message of key, with args, in English: the API's
// messages come from the message files like the pages' (SPEC §4: English,
// whatever the client asks; the codes are the contract).
func english(key string, args ...any) string { return i18n.Messages().T("en", key, args...) }
