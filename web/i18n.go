package web

import (
	"net/http"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/i18n"
)

// T translates key into lang, formatting args into it; the words are in
// the message files of package i18n.
func T(lang, key string, args ...any) string { return i18n.Messages().T(lang, key, args...) }

// lang picks the page language: the signed-in user's, else the one the
// browser's Accept-Language prefers among those Airlock speaks, else
// English.
func (s *Server) lang(r *http.Request) string {
	if u := userFrom(r); u != nil && i18n.Supported(u.Language) {
		return u.Language
	}
	return i18n.Negotiate(r.Header.Get("Accept-Language"))
}

// errorText says a domain error in lang: the message of its key.
func errorText(lang string, e *airlock.Error) string { return i18n.ErrorText(lang, e) }
