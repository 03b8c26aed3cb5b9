package web

import (
	"net/http"

	"github.com/airlockhq/airlock/account"
)

// routes lists every page of the web front.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	mux.HandleFunc("GET /{$}", s.handleHome)
	mux.HandleFunc("GET /login", s.handleLoginForm)
	mux.HandleFunc("POST /login", s.handleLoginSubmit)
	mux.HandleFunc("POST /logout", s.handleLogout)
	mux.HandleFunc("GET /login/two-factor", s.handleSecondStepForm)
	mux.HandleFunc("POST /login/two-factor", s.handleSecondStepSubmit)
	// Passkeys: the script asks for a ceremony's options, then the form
	// posts the browser's answer.
	mux.HandleFunc("POST /login/passkey/options", s.handlePasskeySignInOptions)
	mux.HandleFunc("POST /login/passkey", s.handlePasskeySignIn)
	mux.HandleFunc("POST /login/two-factor/passkey/options", s.handlePasskeyStepOptions)
	mux.HandleFunc("POST /login/two-factor/passkey", s.handlePasskeyStep)

	// An application's authorization request waits here for its person.
	mux.HandleFunc("GET /oauth2/continue", s.handleContinue)
	mux.HandleFunc("POST /oauth2/continue", s.handleConsent)

	mux.HandleFunc("GET /password/forgot", s.handleForgotForm)
	mux.HandleFunc("POST /password/forgot", s.handleForgotSubmit)
	mux.HandleFunc("GET /password/code", s.handleCodeForm)
	mux.HandleFunc("POST /password/code", s.handleCodeSubmit)
	mux.HandleFunc("GET /password/reset", s.handleResetForm)
	mux.HandleFunc("POST /password/reset", s.handleResetSubmit)
	mux.HandleFunc("POST /password/reset/passkey/options", s.handleResetPasskeyOptions)
	mux.HandleFunc("POST /password/reset/passkey", s.handleResetPasskey)

	mux.Handle("GET /account", s.requireUser(s.handleAccount))
	mux.Handle("POST /account/profile", s.requireUser(s.handleAccountProfile))
	mux.Handle("POST /account/sessions/sign-out-others", s.requireUser(s.handleSignOutOthers))
	// A temporary password's change, and the enrolment some groups
	// require, are the pages a user who must do them may reach.
	mux.Handle("GET /account/password", s.requireUserFor(account.ReachPasswordChange, s.handlePasswordForm))
	mux.Handle("POST /account/password", s.requireUserFor(account.ReachPasswordChange, s.handlePasswordSubmit))
	mux.Handle("POST /account/password/options", s.requireUserFor(account.ReachPasswordChange, s.confirmOptions(func(*http.Request) account.Action { return account.ActionPassword })))
	mux.Handle("GET /account/two-factor", s.requireUserFor(account.ReachEnrolment, s.handleTwoFactor))
	mux.Handle("POST /account/two-factor", s.requireUserFor(account.ReachEnrolment, s.handleTwoFactorConfirm))
	mux.Handle("POST /account/two-factor/options", s.requireUserFor(account.ReachEnrolment, s.confirmOptions(func(*http.Request) account.Action { return account.ActionNewApp })))
	mux.Handle("POST /account/two-factor/recovery-codes.txt", s.requireUser(s.handleRecoveryCodesFile))
	mux.Handle("GET /account/two-factor/recovery-codes", s.requireUser(s.handleNewCodesForm))
	mux.Handle("POST /account/two-factor/recovery-codes", s.requireUser(s.handleNewCodes))
	mux.Handle("POST /account/two-factor/recovery-codes/passkey/options", s.requireUser(s.handleNewCodesPasskeyOptions))
	mux.Handle("POST /account/two-factor/recovery-codes/passkey", s.requireUser(s.handleNewCodesPasskey))
	mux.Handle("POST /account/two-factor/disable", s.requireUser(s.handleTwoFactorDisable))
	// A passkey meets a required second step too: reachable while enrolling.
	mux.Handle("GET /account/passkeys", s.requireUserFor(account.ReachEnrolment, s.handlePasskeys))
	mux.Handle("POST /account/passkeys/new", s.requireUserFor(account.ReachEnrolment, s.handlePasskeyBegin))
	mux.Handle("POST /account/passkeys/new/options", s.requireUserFor(account.ReachEnrolment, s.confirmOptions(func(*http.Request) account.Action { return account.ActionAddPasskey })))
	mux.Handle("POST /account/passkeys", s.requireUserFor(account.ReachEnrolment, s.handlePasskeyFinish))
	mux.Handle("GET /account/passkeys/{id}/remove", s.requireUser(s.handlePasskeyRemoveForm))
	mux.Handle("POST /account/passkeys/{id}/remove", s.requireUser(s.handlePasskeyRemove))
	mux.Handle("POST /account/passkeys/{id}/remove/options", s.requireUser(s.handlePasskeyRemoveOptions))

	mux.Handle("GET /admin/users", s.requireAdmin(s.handleAdminUsers))
	mux.Handle("GET /admin/users/new", s.requireAdmin(s.handleAdminUserNewForm))
	mux.Handle("POST /admin/users/new", s.requireAdmin(s.handleAdminUserCreate))
	mux.Handle("POST /admin/users/new/options", s.requireAdmin(s.confirmOptions(func(*http.Request) account.Action { return account.ActionNewAdmin })))
	mux.Handle("GET /admin/users/{id}", s.requireAdmin(s.handleAdminUser))
	mux.Handle("POST /admin/users/{id}", s.requireAdmin(s.handleAdminUserUpdate))
	mux.Handle("POST /admin/users/{id}/confirm/options", s.requireAdmin(s.confirmOptions(func(r *http.Request) account.Action { return account.ActionEditUser(r.PathValue("id")) })))
	mux.Handle("GET /admin/users/{id}/send-reset", s.requireAdmin(s.handleAdminSendResetConfirm))
	mux.Handle("POST /admin/users/{id}/send-reset", s.requireAdmin(s.adminUserAction(s.accounts.AdminSendReset, "reset_sent")))
	mux.Handle("POST /admin/users/{id}/invite", s.requireAdmin(s.adminUserAction(s.accounts.AdminInvite, "invited")))
	mux.Handle("POST /admin/users/{id}/two-factor/reset", s.requireAdmin(s.adminUserAction(s.accounts.AdminResetTwoFactor, "two_factor_reset")))
	mux.Handle("POST /admin/users/{id}/passkeys/remove", s.requireAdmin(s.adminUserAction(s.accounts.AdminRemovePasskeys, "passkeys_removed")))
	mux.Handle("GET /admin/users/import", s.requireAdmin(s.handleAdminImportForm))
	mux.Handle("POST /admin/users/import", s.requireAdmin(s.handleAdminImport))
	mux.Handle("POST /admin/users/{id}/set-password", s.requireAdmin(s.handleAdminSetPassword))
	mux.Handle("POST /admin/users/{id}/emails/{email}/retry", s.requireAdmin(s.handleAdminRetryEmail))
	mux.Handle("GET /admin/applications", s.requireAdmin(s.handleAdminApps))
	mux.Handle("GET /admin/applications/new", s.requireAdmin(s.handleAdminAppNewForm))
	mux.Handle("POST /admin/applications/new", s.requireAdmin(s.handleAdminAppCreate))
	mux.Handle("GET /admin/applications/{id}/remove", s.requireAdmin(s.handleAdminAppConfirm("remove")))
	mux.Handle("POST /admin/applications/{id}/remove", s.requireAdmin(s.handleAdminAppRemove))
	mux.Handle("GET /admin/applications/{id}/rotate-secret", s.requireAdmin(s.handleAdminAppConfirm("rotate-secret")))
	mux.Handle("POST /admin/applications/{id}/rotate-secret", s.requireAdmin(s.handleAdminAppRotate))
	mux.Handle("GET /admin/audit", s.requireAdmin(s.handleAdminAudit))
	mux.Handle("GET /admin/audit.csv", s.requireAdmin(s.handleAdminAuditCSV))

	if s.devMailbox != nil {
		// Dev convenience only: absent whenever SMTP is configured.
		mux.HandleFunc("GET /dev/mail", s.handleDevMail)
		mux.HandleFunc("GET /dev/mail/{id}/html", s.handleDevMailHTML)
	}

	mux.Handle("GET /static/", s.static)
	mux.HandleFunc("GET /static/brand.css", s.handleBrandCSS)
	mux.HandleFunc("GET /static/brand-logo", s.handleBrandLogo)
	// The app association files: a tapped reset or invitation link opens
	// the app when it is installed.
	mux.HandleFunc("GET /.well-known/apple-app-site-association", s.serveAssociation(s.apple))
	mux.HandleFunc("GET /.well-known/assetlinks.json", s.serveAssociation(s.android))
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.HandleFunc("/", s.handleNotFound)

	// Cross-origin protection refuses state-changing requests sent by
	// another site's page (login CSRF, forced password changes).
	cop := http.NewCrossOriginProtection()
	return s.recoverPanics(s.logRequests(s.securityHeaders(s.strictURL(cop.Handler(mux)))))
}
