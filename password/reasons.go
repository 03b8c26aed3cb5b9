package password

import (
	"fmt"
	"strconv"
)

// reasonMessages words each reason code, by language, once for every edge
// (the pages, the command line). The words speak of "the" password, never
// "your": the same sentence serves a user choosing their own password and
// an administrator or operator setting someone else's. The too-short one
// holds the minimum length as %d.
var reasonMessages = map[string]map[string]string{
	"en": {
		ReasonTooShort:    "too short: at least %d characters",
		ReasonTooLong:     "too long: at most " + strconv.Itoa(MaxLength) + " characters",
		ReasonCommon:      "too common: it is in a list of common or leaked passwords",
		ReasonHasEmail:    "contains the email address",
		ReasonHasName:     "contains the first or last name",
		ReasonInvalidText: "contains characters that are not valid text",
		ReasonUnchanged:   "the same as the current password",
	},
	"fr": {
		ReasonTooShort:    "trop court : au moins %d caractères",
		ReasonTooLong:     "trop long : au plus " + strconv.Itoa(MaxLength) + " caractères",
		ReasonCommon:      "trop courant : il figure dans une liste de mots de passe courants ou divulgués",
		ReasonHasEmail:    "contient l'adresse e-mail",
		ReasonHasName:     "contient le prénom ou le nom",
		ReasonInvalidText: "contient des caractères qui ne sont pas du texte valide",
		ReasonUnchanged:   "identique au mot de passe actuel",
	},
}

// ReasonFormat returns the words of a reason code in lang ("en" or "fr";
// English for another language) as a format string, for a message
// catalogue that formats at render time: the ReasonTooShort one takes the
// minimum length as its one %d argument. An unknown code is returned as
// it is.
func ReasonFormat(lang, reason string) string {
	m, ok := reasonMessages[lang]
	if !ok {
		m = reasonMessages["en"]
	}
	if s, ok := m[reason]; ok {
		return s
	}
	return reason
}

// ReasonWords returns why a password was refused, in words, in lang
// (English for a language without words): "too short: at least 12
// characters". minLength is the policy's minimum length. An unknown code
// is returned as it is.
func ReasonWords(lang, reason string, minLength int) string {
	s := ReasonFormat(lang, reason)
	if reason == ReasonTooShort {
		return fmt.Sprintf(s, minLength)
	}
	return s
}
