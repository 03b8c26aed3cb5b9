package main

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/airlockhq/airlock"
	"github.com/airlockhq/airlock/account"
	"github.com/airlockhq/airlock/internal/softkey"
)

// TestAppAssociationFiles: with AIRLOCK_IOS_APP_IDS and AIRLOCK_ANDROID_APPS
// set, serve answers Apple's and Google's association files at their
// well-known paths, as JSON of the documented shapes, without a redirect;
// without them, 404; with a bad value, serve does not start.
func TestAppAssociationFiles(t *testing.T) {
	t.Parallel()
	fp := "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5"
	p := newProgram(t, map[string]string{"AIRLOCK_IOS_APP_IDS": "ABCDE12345.com.example.fieldapp",
		"AIRLOCK_ANDROID_APPS": "com.example.fieldapp=" + strings.ToLower(fp)})
	p.serve()
	for path, want := range map[string]any{
		"/.well-known/apple-app-site-association": map[string]any{"applinks": map[string]any{"details": []any{map[string]any{
			"appIDs":     []any{"ABCDE12345.com.example.fieldapp"},
			"components": []any{map[string]any{"/": "/password/reset", "?": map[string]any{"token": "?*"}, "comment": "reset and invitation links"}},
		}}}},
		"/.well-known/assetlinks.json": []any{map[string]any{
			"relation": []any{"delegate_permission/common.handle_all_urls", "delegate_permission/common.get_login_creds"},
			"target":   map[string]any{"namespace": "android_app", "package_name": "com.example.fieldapp", "sha256_cert_fingerprints": []any{fp}},
		}},
	} {
		res, body := get(t, browser(), p.url(path))
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %q", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		var got any
		if err := json.Unmarshal([]byte(body), &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %v\n%s", path, err, body)
		}
	}

	bare := newProgram(t, nil)
	bare.serve()
	for _, path := range []string{"/.well-known/apple-app-site-association", "/.well-known/assetlinks.json"} {
		if res, _ := get(t, browser(), bare.url(path)); res.StatusCode != 404 {
			t.Fatalf("%s without the setting: %d", path, res.StatusCode)
		}
	}

	for name, v := range map[string]string{"AIRLOCK_IOS_APP_IDS": "com.example.fieldapp", "AIRLOCK_ANDROID_APPS": "com.example.fieldapp=AB:CD"} {
		err := newProgram(t, map[string]string{name: v}).refusedStart()
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: %v", name, v, err)
		}
	}
}

// TestAndroidAppPasskeys: with AIRLOCK_ANDROID_APPS set, a passkey answer
// from an app signed with a configured certificate (Credential Manager's
// origin android:apk-key-hash:…) makes a passkey; without the setting, or
// from an app signed with another certificate, it is refused.
func TestAndroidAppPasskeys(t *testing.T) {
	t.Parallel()
	fp := "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5"
	app := "android:apk-key-hash:FG3pg8VzBlDY7rmVLzT8ZBagg0LmHb6oigSWsj_PROU"
	other := "android:apk-key-hash:q83pg8VzBlDY7rmVLzT8ZBagg0LmHb6oigSWsj_PROU"
	for _, c := range []struct {
		name, apps, origin string
		ok                 bool
	}{
		{"configured", "com.example.fieldapp=" + strings.ToLower(fp), app, true},
		{"not configured", "", app, false},
		{"another certificate", "com.example.fieldapp=" + fp, other, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newProgram(t, map[string]string{"AIRLOCK_ANDROID_APPS": c.apps})
			p.env["AIRLOCK_PUBLIC_URL"] = "http://localhost:" + strings.Split(p.env["AIRLOCK_LISTEN"], ":")[1]
			if _, err := p.run("", "migrate"); err != nil {
				t.Fatal(err)
			}
			a := p.app()
			ctx := context.Background()
			const pw = "violet tractor on the moon"
			m := account.Meta{IP: "192.0.2.1", UserAgent: "test"}
			u, err := a.accounts.AdminCreateUser(ctx, account.Operator, account.NewUser{Email: "ada@example.com", FirstName: "Ada", Password: pw}, m)
			if err != nil {
				t.Fatal(err)
			}
			_, sid, _, err := a.accounts.SignIn(ctx, "ada@example.com", pw, "", m)
			if err != nil {
				t.Fatal(err)
			}
			id, options, err := a.accounts.BeginPasskeyRegistration(ctx, u, sid, "Phone", account.Proof{Password: pw, Code: ""}, m)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := softkey.New(c.origin).Create(options)
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.accounts.FinishPasskeyRegistration(ctx, u, sid, id, "Phone", resp, m)
			if c.ok && err != nil || !c.ok && airlock.ErrorCode(err) != airlock.CodeUnauthorized {
				t.Fatalf("a passkey made in the app: %v", err)
			}
		})
	}
}
