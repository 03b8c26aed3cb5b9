package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/airlockhq/airlock/password"
)

// messages holds every string of the pages, by language.
var messages = map[string]map[string]string{
	"en": {
		"app":                                  "Airlock",
		"skip":                                 "Skip to content",
		"email":                                "Email",
		"password":                             "Password",
		"new_password":                         "New password",
		"password_confirm":                     "Confirm the new password",
		"current_password":                     "Current password",
		"login.title":                          "Sign in",
		"login.submit":                         "Sign in",
		"login.forgot":                         "Forgotten password",
		"forgot.title":                         "Forgotten password",
		"forgot.intro":                         "Enter the email address of your account. We will send you a link to choose a new password.",
		"forgot.submit":                        "Reset password",
		"forgot.back":                          "Back to sign in",
		"forgot.sent.title":                    "Check your inbox",
		"forgot.sent.body":                     "If an account exists for this address, we have sent it a link to choose a new password. The link is valid for %s.",
		"forgot.sent.spam":                     "Nothing after a few minutes? Check your spam folder, or make sure you typed the address of your account.",
		"reset.title":                          "Choose a new password",
		"reset.intro":                          "Choose a new password for %s.",
		"reset.submit":                         "Set the new password",
		"reset.invalid.title":                  "This link no longer works",
		"reset.invalid.expired":                "This password reset link has expired.",
		"reset.invalid.used":                   "This password reset link was already used, or a newer link was sent.",
		"reset.invalid.unknown":                "This password reset link is not valid.",
		"reset.invalid.again":                  "Ask for a new link",
		"password.hint":                        "At least %d characters. A long phrase you can remember is best.",
		"password.mismatch":                    "The two passwords are not the same.",
		"account.title":                        "Your account",
		"account.name":                         "Name",
		"account.language":                     "Language",
		"account.groups":                       "Groups",
		"account.change_password":              "Change your password",
		"account.sign_out":                     "Sign out",
		"change.title":                         "Change your password",
		"change.forced":                        "You must choose a new password before you continue.",
		"change.submit":                        "Change password",
		"notice.reset":                         "Your password has been changed. Sign in with your new password.",
		"notice.signed_out":                    "You are signed out.",
		"notice.password_changed":              "Your password has been changed. Your other sessions were signed out.",
		"return_to_app":                        "Return to the app",
		"error.title":                          "Something went wrong",
		"error.internal":                       "Something went wrong on our side. Try again in a moment.",
		"error.not_found":                      "This page does not exist.",
		"error.rate_limited":                   "Too many attempts. Wait a few minutes and try again.",
		"error.busy":                           "The server is busy. Try again in a moment.",
		"error.bad_credentials":                "Wrong email or password.",
		"error.bad_current":                    "The current password is wrong.",
		"error.temp_expired":                   "Your temporary password has expired. Ask your administrator for a new one, or reset your password.",
		"error.policy":                         "Choose another password:",
		"reason." + password.ReasonTooShort:    "it must have at least %d characters;",
		"reason." + password.ReasonTooLong:     "it must have at most 128 characters;",
		"reason." + password.ReasonCommon:      "it is too common: it appears in lists of leaked passwords;",
		"reason." + password.ReasonHasEmail:    "it must not contain your email address;",
		"reason." + password.ReasonHasName:     "it must not contain your name;",
		"reason." + password.ReasonInvalidText: "it contains characters that are not valid text;",
		"reason." + password.ReasonUnchanged:   "it must differ from the current one;",
		"lang.en":                              "English",
		"lang.fr":                              "Français",
		"devmail.title":                        "Dev mailbox",
		"devmail.intro":                        "No SMTP server is configured, so emails are kept here instead of being sent. This page does not exist in production.",
		"devmail.empty":                        "No email yet.",
		"devmail.to":                           "To",
		"devmail.links":                        "Links",
		"nav.users":                            "Users",
		"nav.audit":                            "Audit log",
		"nav.account":                          "Your account",
		"error.forbidden.title":                "Not allowed",
		"error.forbidden":                      "You need administrator rights to see this page.",
		"admin.users.title":                    "Users",
		"admin.search":                         "Search",
		"admin.search.hint":                    "Name or email",
		"admin.any":                            "Any",
		"admin.status":                         "Status",
		"admin.active":                         "Active",
		"admin.inactive":                       "Inactive",
		"admin.search.submit":                  "Filter",
		"admin.new.title":                      "New user",
		"admin.count":                          "%d users",
		"admin.temporary_password":             "temporary password",
		"admin.pages":                          "Pages",
		"admin.prev":                           "Previous",
		"admin.next":                           "Next",
		"admin.page":                           "Page %d of %d",
		"group.admin":                          "Administrator",
		"group.web_reader":                     "Web reader",
		"group.web_contributor":                "Web contributor",
		"group.mobile":                         "Mobile user",
		"admin.new.password_hint":              "Optional. Leave empty to let the user choose one through a reset email.",
		"admin.temporary":                      "Temporary: the user must choose a new password at next sign-in",
		"admin.own_password":                   "This is your own account: change your password on your account page, with your current password.",
		"admin.own_email_hint":                 "To change your own email address, enter your current password.",
		"admin.new.submit":                     "Create user",
		"admin.user.title":                     "User",
		"admin.password.none":                  "No password is set. Send a reset email so the user can choose one.",
		"admin.password.temporary":             "A temporary password is set; it expires %s.",
		"admin.password.set":                   "Password last changed %s.",
		"admin.send_reset":                     "Send reset email",
		"admin.set_password":                   "Set password",
		"admin.profile":                        "Profile",
		"admin.save":                           "Save",
		"admin.created":                        "Created %s",
		"admin.audit_for_user":                 "Security events of this user",
		"admin.first_name":                     "First name",
		"admin.last_name":                      "Last name",
		"admin.audit.title":                    "Audit log",
		"admin.audit.user":                     "User (email or id)",
		"admin.audit.kind":                     "Event",
		"admin.audit.count":                    "%d events",
		"admin.audit.time":                     "Time",
		"admin.audit.outcome":                  "Outcome",
		"admin.audit.actor":                    "Actor",
		"admin.audit.subject":                  "Subject",
		"admin.audit.client":                   "Client",
		"admin.notice.created":                 "User created.",
		"admin.notice.created_no_password":     "User created without a password. Send a reset email so they can choose one.",
		"admin.notice.saved":                   "Changes saved.",
		"admin.notice.reset_sent":              "A reset email is on its way to the user.",
		"admin.notice.password_set":            "Password set. The user's sessions were signed out and they were told by email.",
	},
	"fr": {
		"app":                                  "Airlock",
		"skip":                                 "Aller au contenu",
		"email":                                "Adresse e-mail",
		"password":                             "Mot de passe",
		"new_password":                         "Nouveau mot de passe",
		"password_confirm":                     "Confirmez le nouveau mot de passe",
		"current_password":                     "Mot de passe actuel",
		"login.title":                          "Connexion",
		"login.submit":                         "Se connecter",
		"login.forgot":                         "Mot de passe oublié",
		"forgot.title":                         "Mot de passe oublié",
		"forgot.intro":                         "Saisissez l'adresse e-mail de votre compte. Nous vous enverrons un lien pour choisir un nouveau mot de passe.",
		"forgot.submit":                        "Réinitialiser le mot de passe",
		"forgot.back":                          "Retour à la connexion",
		"forgot.sent.title":                    "Consultez votre messagerie",
		"forgot.sent.body":                     "Si un compte existe pour cette adresse, nous lui avons envoyé un lien pour choisir un nouveau mot de passe. Le lien est valable %s.",
		"forgot.sent.spam":                     "Rien après quelques minutes ? Regardez dans vos indésirables, ou vérifiez l'adresse de votre compte.",
		"reset.title":                          "Choisissez un nouveau mot de passe",
		"reset.intro":                          "Choisissez un nouveau mot de passe pour %s.",
		"reset.submit":                         "Enregistrer le mot de passe",
		"reset.invalid.title":                  "Ce lien ne fonctionne plus",
		"reset.invalid.expired":                "Ce lien de réinitialisation a expiré.",
		"reset.invalid.used":                   "Ce lien de réinitialisation a déjà servi, ou un lien plus récent a été envoyé.",
		"reset.invalid.unknown":                "Ce lien de réinitialisation n'est pas valide.",
		"reset.invalid.again":                  "Demander un nouveau lien",
		"password.hint":                        "Au moins %d caractères. Une longue phrase facile à retenir est idéale.",
		"password.mismatch":                    "Les deux mots de passe ne sont pas identiques.",
		"account.title":                        "Votre compte",
		"account.name":                         "Nom",
		"account.language":                     "Langue",
		"account.groups":                       "Groupes",
		"account.change_password":              "Changer votre mot de passe",
		"account.sign_out":                     "Se déconnecter",
		"change.title":                         "Changer votre mot de passe",
		"change.forced":                        "Vous devez choisir un nouveau mot de passe pour continuer.",
		"change.submit":                        "Changer le mot de passe",
		"notice.reset":                         "Votre mot de passe a été modifié. Connectez-vous avec le nouveau.",
		"notice.signed_out":                    "Vous êtes déconnecté.",
		"notice.password_changed":              "Votre mot de passe a été modifié. Vos autres sessions ont été déconnectées.",
		"return_to_app":                        "Retourner à l'application",
		"error.title":                          "Un problème est survenu",
		"error.internal":                       "Un problème est survenu de notre côté. Réessayez dans un instant.",
		"error.not_found":                      "Cette page n'existe pas.",
		"error.rate_limited":                   "Trop de tentatives. Patientez quelques minutes puis réessayez.",
		"error.busy":                           "Le serveur est occupé. Réessayez dans un instant.",
		"error.bad_credentials":                "Adresse e-mail ou mot de passe incorrect.",
		"error.bad_current":                    "Le mot de passe actuel est incorrect.",
		"error.temp_expired":                   "Votre mot de passe temporaire a expiré. Demandez-en un nouveau à votre administrateur, ou réinitialisez votre mot de passe.",
		"error.policy":                         "Choisissez un autre mot de passe :",
		"reason." + password.ReasonTooShort:    "il doit comporter au moins %d caractères ;",
		"reason." + password.ReasonTooLong:     "il doit comporter au plus 128 caractères ;",
		"reason." + password.ReasonCommon:      "il est trop courant : il figure dans des listes de mots de passe divulgués ;",
		"reason." + password.ReasonHasEmail:    "il ne doit pas contenir votre adresse e-mail ;",
		"reason." + password.ReasonHasName:     "il ne doit pas contenir votre nom ;",
		"reason." + password.ReasonInvalidText: "il contient des caractères qui ne sont pas du texte valide ;",
		"reason." + password.ReasonUnchanged:   "il doit être différent de l'actuel ;",
		"lang.en":                              "English",
		"lang.fr":                              "Français",
		"devmail.title":                        "Boîte de développement",
		"devmail.intro":                        "Aucun serveur SMTP n'est configuré : les e-mails sont gardés ici au lieu d'être envoyés. Cette page n'existe pas en production.",
		"devmail.empty":                        "Aucun e-mail pour l'instant.",
		"devmail.to":                           "À",
		"devmail.links":                        "Liens",
		"nav.users":                            "Utilisateurs",
		"nav.audit":                            "Journal d'audit",
		"nav.account":                          "Votre compte",
		"error.forbidden.title":                "Accès refusé",
		"error.forbidden":                      "Cette page est réservée aux administrateurs.",
		"admin.users.title":                    "Utilisateurs",
		"admin.search":                         "Rechercher",
		"admin.search.hint":                    "Nom ou adresse e-mail",
		"admin.any":                            "Tous",
		"admin.status":                         "Statut",
		"admin.active":                         "Actif",
		"admin.inactive":                       "Inactif",
		"admin.search.submit":                  "Filtrer",
		"admin.new.title":                      "Nouvel utilisateur",
		"admin.count":                          "%d utilisateurs",
		"admin.temporary_password":             "mot de passe temporaire",
		"admin.pages":                          "Pages",
		"admin.prev":                           "Précédent",
		"admin.next":                           "Suivant",
		"admin.page":                           "Page %d sur %d",
		"group.admin":                          "Administrateur",
		"group.web_reader":                     "Lecteur web",
		"group.web_contributor":                "Contributeur web",
		"group.mobile":                         "Utilisateur mobile",
		"admin.new.password_hint":              "Facultatif. Laissez vide pour que l'utilisateur en choisisse un via un e-mail de réinitialisation.",
		"admin.temporary":                      "Temporaire : l'utilisateur devra choisir un nouveau mot de passe à sa prochaine connexion",
		"admin.own_password":                   "C'est votre propre compte : changez votre mot de passe depuis la page de votre compte, avec votre mot de passe actuel.",
		"admin.own_email_hint":                 "Pour changer votre propre adresse e-mail, saisissez votre mot de passe actuel.",
		"admin.new.submit":                     "Créer l'utilisateur",
		"admin.user.title":                     "Utilisateur",
		"admin.password.none":                  "Aucun mot de passe. Envoyez un e-mail de réinitialisation pour que l'utilisateur en choisisse un.",
		"admin.password.temporary":             "Un mot de passe temporaire est défini ; il expire le %s.",
		"admin.password.set":                   "Mot de passe modifié pour la dernière fois le %s.",
		"admin.send_reset":                     "Envoyer l'e-mail de réinitialisation",
		"admin.set_password":                   "Définir le mot de passe",
		"admin.profile":                        "Profil",
		"admin.save":                           "Enregistrer",
		"admin.created":                        "Créé le %s",
		"admin.audit_for_user":                 "Événements de sécurité de cet utilisateur",
		"admin.first_name":                     "Prénom",
		"admin.last_name":                      "Nom",
		"admin.audit.title":                    "Journal d'audit",
		"admin.audit.user":                     "Utilisateur (e-mail ou id)",
		"admin.audit.kind":                     "Événement",
		"admin.audit.count":                    "%d événements",
		"admin.audit.time":                     "Date",
		"admin.audit.outcome":                  "Résultat",
		"admin.audit.actor":                    "Auteur",
		"admin.audit.subject":                  "Sujet",
		"admin.audit.client":                   "Client",
		"admin.notice.created":                 "Utilisateur créé.",
		"admin.notice.created_no_password":     "Utilisateur créé sans mot de passe. Envoyez un e-mail de réinitialisation pour qu'il en choisisse un.",
		"admin.notice.saved":                   "Modifications enregistrées.",
		"admin.notice.reset_sent":              "Un e-mail de réinitialisation a été envoyé à l'utilisateur.",
		"admin.notice.password_set":            "Mot de passe défini. Les sessions de l'utilisateur ont été fermées et il a été prévenu par e-mail.",
	},
}

// T translates key into lang, formatting args into it.
func T(lang, key string, args ...any) string {
	m, ok := messages[lang]
	if !ok {
		m = messages["en"]
	}
	s, ok := m[key]
	if !ok {
		s = messages["en"][key]
		if s == "" {
			return key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// lang picks the page language: the signed-in user's, else the browser's
// Accept-Language among en and fr, else English.
func (s *Server) lang(r *http.Request) string {
	if u := userFrom(r); u != nil {
		return u.Language
	}
	return acceptLanguage(r.Header.Get("Accept-Language"))
}

func acceptLanguage(h string) string {
	best, bestQ := "en", -1.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if (primary == "en" || primary == "fr") && q > bestQ {
			best, bestQ = primary, q
		}
	}
	return best
}
