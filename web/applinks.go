package web

// Links that open the app: the association files Apple and Google fetch
// from the public host, so that a tapped reset or invitation link opens
// the installed app (which then uses the API with the token) and the web
// page otherwise.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// AppLinks names the apps that open Airlock's emailed links.
type AppLinks struct {
	// IOSAppIDs (AIRLOCK_IOS_APP_IDS) are TEAMID.bundle.id, as Apple's
	// apple-app-site-association file names apps.
	IOSAppIDs []string
	// Android (AIRLOCK_ANDROID_APPS) are the Android apps, each with the
	// SHA-256 fingerprints of its signing certificates.
	Android []AndroidApp
}

// AndroidApp is an Android app: its package name and the SHA-256
// fingerprints of the certificates it is signed with.
type AndroidApp struct {
	Package      string
	Fingerprints []string
}

var (
	iosAppID       = regexp.MustCompile(`^[A-Z0-9]{10}\.[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$`)
	androidPackage = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$`)
	certSHA256     = regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`)
)

// ParseIOSAppIDs reads AIRLOCK_IOS_APP_IDS: comma-separated app IDs, each
// a 10-character team ID, a dot and the bundle ID
// (ABCDE12345.com.example.fieldapp). Empty: none.
func ParseIOSAppIDs(v string) ([]string, error) {
	var ids []string
	var errs []error
	for _, id := range strings.Split(v, ",") {
		id = strings.TrimSpace(id)
		switch {
		case id == "" && strings.TrimSpace(v) == "":
			return nil, nil
		case !iosAppID.MatchString(id):
			errs = append(errs, fmt.Errorf("%q: want TEAMID.bundle.id, the team ID being 10 capital letters or digits (ABCDE12345.com.example.fieldapp)", id))
		case slices.Contains(ids, id):
			errs = append(errs, fmt.Errorf("%s: named twice", id))
		default:
			ids = append(ids, id)
		}
	}
	return ids, errors.Join(errs...)
}

// ParseAndroidApps reads AIRLOCK_ANDROID_APPS: comma-separated apps, each
// PACKAGE=FINGERPRINT, more fingerprints joined with + (an app signed with
// several certificates, or during a key rotation); a fingerprint is the
// certificate's SHA-256 as keytool prints it, 32 hexadecimal bytes
// separated by colons. Empty: none.
func ParseAndroidApps(v string) ([]AndroidApp, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var apps []AndroidApp
	var errs []error
	seen := map[string]bool{}
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		pkg, fps, ok := strings.Cut(item, "=")
		pkg = strings.TrimSpace(pkg)
		if !ok || !androidPackage.MatchString(pkg) {
			errs = append(errs, fmt.Errorf("%q: want PACKAGE=FINGERPRINT[+FINGERPRINT…], the package like com.example.fieldapp", item))
			continue
		}
		if seen[pkg] {
			errs = append(errs, fmt.Errorf("%s: named twice", pkg))
			continue
		}
		seen[pkg] = true
		app := AndroidApp{Package: pkg}
		for _, fp := range strings.Split(fps, "+") {
			fp = strings.ToUpper(strings.TrimSpace(fp))
			if !certSHA256.MatchString(fp) {
				errs = append(errs, fmt.Errorf("%s: %q is not a SHA-256 fingerprint (32 hexadecimal bytes separated by colons, as keytool -list -v prints it)", pkg, fp))
				continue
			}
			if slices.Contains(app.Fingerprints, fp) {
				errs = append(errs, fmt.Errorf("%s: fingerprint %s named twice", pkg, fp))
				continue
			}
			app.Fingerprints = append(app.Fingerprints, fp)
		}
		apps = append(apps, app)
	}
	return apps, errors.Join(errs...)
}

// linkPaths are the paths of the links Airlock emails that an app may
// open: reset and invitation links alike are /password/reset?token=….
var linkPaths = []string{"/password/reset"}

// appleAssociation is the apple-app-site-association file (Apple's
// "applinks" format of iOS 13 and later): the emailed links with a token,
// under the public URL's path, open the app. Nil without iOS apps.
func appleAssociation(ids []string, prefix string) ([]byte, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	// In Apple's patterns * and ? are wildcards: a public URL's path with
	// either would let the app open other links than Airlock's.
	if strings.ContainsAny(prefix, "*?") {
		return nil, fmt.Errorf("AIRLOCK_PUBLIC_URL's path %q holds * or ?, which the apple-app-site-association file would read as wildcards", prefix)
	}
	type component struct {
		Path    string            `json:"/"`
		Query   map[string]string `json:"?"`
		Comment string            `json:"comment"`
	}
	type detail struct {
		AppIDs     []string    `json:"appIDs"`
		Components []component `json:"components"`
	}
	d := detail{AppIDs: ids}
	for _, p := range linkPaths {
		d.Components = append(d.Components, component{Path: prefix + p, Query: map[string]string{"token": "?*"},
			Comment: "reset and invitation links"})
	}
	return json.Marshal(map[string]any{"applinks": map[string]any{"details": []detail{d}}})
}

// androidAssetLinks is the assetlinks.json file (Google's Digital Asset
// Links): each app may handle all of this host's links (which ones it
// takes is said by its manifest's intent filter), and may use this host's
// passkeys and saved passwords through Credential Manager (get_login_creds).
// Nil without Android apps.
func androidAssetLinks(apps []AndroidApp) ([]byte, error) {
	if len(apps) == 0 {
		return nil, nil
	}
	type target struct {
		Namespace    string   `json:"namespace"`
		PackageName  string   `json:"package_name"`
		Fingerprints []string `json:"sha256_cert_fingerprints"`
	}
	type statement struct {
		Relation []string `json:"relation"`
		Target   target   `json:"target"`
	}
	var out []statement
	for _, a := range apps {
		out = append(out, statement{Relation: []string{"delegate_permission/common.handle_all_urls", "delegate_permission/common.get_login_creds"},
			Target: target{Namespace: "android_app", PackageName: a.Package, Fingerprints: a.Fingerprints}})
	}
	return json.Marshal(out)
}

// serveAssociation serves an association file as it is: JSON, at this
// very path (Apple and Google follow no redirect), or 404 when the
// setting behind it is empty.
func (s *Server) serveAssociation(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if body == nil {
			s.handleNotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}
}
