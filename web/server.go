// Package web serves Airlock's HTML pages: sign-in, the forgotten-password
// flow and the account pages. Handlers decode requests and call account.
package web

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/i18n"
	"github.com/airlockhq/airlock/mail"
)

//go:embed templates static
var assets embed.FS

// Config holds what the pages need to know about their deployment.
type Config struct {
	PublicURL      *url.URL
	AppURL         string
	TrustedProxies []netip.Prefix
	// Logo (AIRLOCK_BRAND_LOGO) is shown in the header; nil: none.
	Logo *Logo
	// Accent (AIRLOCK_BRAND_COLOR, checked by ParseAccent) colours buttons,
	// links and the focus ring; "": DefaultAccent.
	Accent string
	// AppLinks are the apps that open the emailed links (see applinks.go).
	AppLinks AppLinks
}

// brand is how the pages name and show the product.
type brand struct {
	Name string // AIRLOCK_BRAND_NAME, from the account settings
	Logo *Logo
}

// Pinger reports whether the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Server is the web front.
type Server struct {
	log        *slog.Logger
	cfg        Config
	accounts   *account.Service
	devMailbox *mail.DevMailbox // nil when SMTP is configured
	db         Pinger
	pages      *template.Template
	static     http.Handler
	secure     bool
	brand      brand
	brandCSS   []byte
	// apple and android are the app association files (nil: 404).
	apple, android []byte
}

// NewServer returns the web handler. devMailbox is nil in production: the
// /dev/mail route then does not exist. It never serves /metrics: that is the
// operator's listener's job.
func NewServer(log *slog.Logger, cfg Config, accounts *account.Service, db Pinger, devMailbox *mail.DevMailbox) (http.Handler, error) {
	s := &Server{log: log, cfg: cfg, accounts: accounts, db: db, devMailbox: devMailbox,
		secure: cfg.PublicURL.Scheme == "https", brand: brand{Name: accounts.Config().BrandName, Logo: cfg.Logo}}
	if s.brand.Name == "" {
		s.brand.Name = "Airlock"
	}
	accent := DefaultAccent
	if cfg.Accent != "" {
		var err error
		if accent, err = ParseAccent(cfg.Accent); err != nil {
			return nil, fmt.Errorf("accent colour: %w", err)
		}
	}
	s.brandCSS = brandCSS(accent)
	var err error
	if s.apple, err = appleAssociation(cfg.AppLinks.IOSAppIDs, strings.TrimSuffix(cfg.PublicURL.Path, "/")); err != nil {
		return nil, err
	}
	if s.android, err = androidAssetLinks(cfg.AppLinks.Android); err != nil {
		return nil, err
	}
	// The words of every page: broken message files stop the start.
	if _, err := i18n.Load(); err != nil {
		return nil, err
	}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	staticFS, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	s.static = http.StripPrefix("/static/", http.FileServerFS(filesOnly{staticFS}))
	return s.routes(), nil
}

// filesOnly is a file system whose directories do not exist, so that the
// file server answers 404 for them instead of listing what is inside.
type filesOnly struct{ fs.FS }

// Open opens name if it is a regular file.
func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := file.Stat(); err != nil || !st.Mode().IsRegular() {
		file.Close()
		return nil, fs.ErrNotExist
	}
	return file, nil
}

// parseTemplates parses the layout and every page into one set, once: each
// page file defines a template named after the file, and the layout is
// shared rather than copied into every page.
func (s *Server) parseTemplates() error {
	t, err := template.ParseFS(assets, "templates/*.html")
	if err != nil {
		return fmt.Errorf("parse pages: %w", err)
	}
	s.pages = t
	return nil
}

// ctxKey keys request-scoped values.
type ctxKey int

const userKey ctxKey = iota

func userFrom(r *http.Request) *airlock.User {
	u, _ := r.Context().Value(userKey).(*airlock.User)
	return u
}
