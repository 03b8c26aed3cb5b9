package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/account"
)

// TestServerDirectoryAllowlist: the server directory is shown to every
// app user and each of its URLs receives their password, so only what is
// known to be safe is accepted.
func TestServerDirectoryAllowlist(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"https":             "eu=Europe=https://eu.example.com",
		"port and path":     "eu=Europe=https://eu.example.com:8443/airlock",
		"http on loopback":  "dev=Dev=http://127.0.0.1:8080,local=Local=http://localhost:8080/x,v6=V6=http://[::1]:8080",
		"names":             "eu-1=Europe (Paris)=https://eu.example.com,na_2=Amérique du Nord=https://na.example.com",
		"long id and name":  strings.Repeat("a", 63) + "=" + strings.Repeat("é", 100) + "=https://a.example.com",
		"ip literal":        "ip=IP=https://192.0.2.10",
		"trailing slash ok": "eu=Europe=https://eu.example.com/",
	}
	for name, v := range good {
		if _, err := parseServers(v); err != nil {
			t.Errorf("%s: parseServers(%q): %v", name, v, err)
		}
	}
	bad := map[string]string{
		"NUL in name":           "eu=Eu\x00rope=https://eu.example.com",
		"ESC in name":           "eu=\x1b[31mEurope=https://eu.example.com",
		"C1 in name":            "eu=Eu\u009brope=https://eu.example.com",
		"RLO in name":           "eu=Europe\u202e=https://eu.example.com",
		"LRI in name":           "eu=\u2066Europe=https://eu.example.com",
		"ALM in name":           "eu=\u061cEurope=https://eu.example.com",
		"RLM in name":           "eu=Europe\u200f=https://eu.example.com",
		"line separator":        "eu=Eu\u2028rope=https://eu.example.com",
		"paragraph separator":   "eu=Eu\u2029rope=https://eu.example.com",
		"newline":               "eu=Eu\nrope=https://eu.example.com",
		"invalid UTF-8":         "eu=Eu\xffrope=https://eu.example.com",
		"name too long":         "eu=" + strings.Repeat("a", 101) + "=https://eu.example.com",
		"empty name":            "eu==https://eu.example.com",
		"upper-case id":         "EU=Europe=https://eu.example.com",
		"id with a dot":         "e.u=Europe=https://eu.example.com",
		"id starting with dash": "-eu=Europe=https://eu.example.com",
		"id too long":           strings.Repeat("a", 64) + "=Europe=https://eu.example.com",
		"empty id":              "=Europe=https://eu.example.com",
		"duplicate id":          "eu=Europe=https://a.example.com,eu=Again=https://b.example.com",
		"user info":             "eu=Europe=https://user:secret@eu.example.com",
		"user only":             "eu=Europe=https://user@eu.example.com",
		"http elsewhere":        "eu=Europe=http://eu.example.com",
		"http on a LAN address": "eu=Europe=http://10.0.0.1",
		"query":                 "eu=Europe=https://eu.example.com/?x=1",
		"empty query":           "eu=Europe=https://eu.example.com/?",
		"fragment":              "eu=Europe=https://eu.example.com/#x",
		"empty fragment":        "eu=Europe=https://eu.example.com/#",
		"javascript":            "eu=Europe=javascript:alert(1)",
		"ftp":                   "eu=Europe=ftp://eu.example.com",
		"no host":               "eu=Europe=https:///path",
		"opaque":                "eu=Europe=https:eu.example.com",
		"empty port":            "eu=Europe=https://eu.example.com:",
		"port 0":                "eu=Europe=https://eu.example.com:0",
		"port too big":          "eu=Europe=https://eu.example.com:70000",
		"space":                 "eu=Europe=https://eu.example.com/a b",
		"backslash":             "eu=Europe=https://eu.example.com\\@evil.example",
		"odd host":              "eu=Europe=https://eu_example%2ecom",
		"no url":                "eu=Europe",
	}
	for name, v := range bad {
		if got, err := parseServers(v); err == nil {
			t.Errorf("%s: parseServers(%q) accepted: %+v", name, v, got)
		}
	}
}

func TestServerDirectoryFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(body string) string {
		f, err := os.CreateTemp(dir, "servers-*.json")
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(body)
		f.Close()
		return f.Name()
	}
	const eu = `{"id":"eu","name":"Europe","url":"https://eu.example.com"}`
	for _, body := range []string{"[" + eu + "]", `{"servers":[` + eu + `]}`, " \n[" + eu + "]\n", "[]"} {
		if _, err := parseServers(file(body)); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
	got, err := parseServers(file(`[` + eu + `,{"url":"https://na.example.com","name":"North America","id":"na"}]`))
	if err != nil || len(got) != 2 || got[1].ID != "na" || got[1].Name != "North America" || got[1].URL != "https://na.example.com" {
		t.Fatalf("parseServers = %+v, %v", got, err)
	}
	// A server's issuer: its URL's (no trailing slash), or the file's.
	got, err = parseServers(file(`[{"id":"eu","name":"Europe","url":"https://eu.example.com/airlock/"},` +
		`{"id":"na","name":"North America","url":"https://api.na.example.com","issuer":"https://na.example.com"}]`))
	if err != nil || len(got) != 2 || got[0].Issuer != "https://eu.example.com/airlock" || got[1].Issuer != "https://na.example.com" ||
		got[1].URL != "https://api.na.example.com" {
		t.Fatalf("issuers = %+v, %v", got, err)
	}
	bad := map[string]string{
		"ID and Name keys":   `[{"id":"eu","name":"Europe","url":"https://eu.example.com","ID":"evil","Name":"Evil"}]`,
		"only ID key":        `[{"ID":"eu","name":"Europe","url":"https://eu.example.com"}]`,
		"URL key":            `[{"id":"eu","name":"Europe","URL":"https://eu.example.com"}]`,
		"folded key":         `[{"id":"eu","name":"Europe","\u017frl":"https://eu.example.com"}]`,
		"Servers key":        `{"Servers":[` + eu + `]}`,
		"repeated key":       `[{"id":"eu","name":"Europe","name":"Evil","url":"https://eu.example.com"}]`,
		"repeated servers":   `{"servers":[],"servers":[` + eu + `]}`,
		"unknown key":        `[{"id":"eu","name":"Europe","url":"https://eu.example.com","extra":1}]`,
		"null name":          `[{"id":"eu","name":null,"url":"https://eu.example.com"}]`,
		"null entry":         `[null]`,
		"null list":          `{"servers":null}`,
		"null":               `null`,
		"number":             `[{"id":"eu","name":5,"url":"https://eu.example.com"}]`,
		"missing url":        `[{"id":"eu","name":"Europe"}]`,
		"trailing garbage":   "[" + eu + "]x",
		"second value":       "[" + eu + "][]",
		"trailing object":    "[" + eu + "]{}",
		"truncated":          "[" + eu,
		"empty file":         "",
		"invalid UTF-8":      `[{"id":"eu","name":"Eu` + "\xff" + `rope","url":"https://eu.example.com"}]`,
		"escaped NUL":        `[{"id":"eu","name":"Eu\u0000rope","url":"https://eu.example.com"}]`,
		"escaped RLO":        `[{"id":"eu","name":"Europe\u202e","url":"https://eu.example.com"}]`,
		"user info":          `[{"id":"eu","name":"Europe","url":"https://user:secret@eu.example.com"}]`,
		"http elsewhere":     `[{"id":"eu","name":"Europe","url":"http://eu.example.com"}]`,
		"not a list":         `{"id":"eu","name":"Europe","url":"https://eu.example.com"}`,
		"wrapper with extra": `{"servers":[],"more":1}`,
		"empty issuer":       `[{"id":"eu","name":"Europe","url":"https://eu.example.com","issuer":""}]`,
		"null issuer":        `[{"id":"eu","name":"Europe","url":"https://eu.example.com","issuer":null}]`,
		"repeated issuer":    `[{"id":"eu","name":"Europe","url":"https://eu.example.com","issuer":"https://eu.example.com","issuer":"https://evil.example"}]`,
		"Issuer key":         `[{"id":"eu","name":"Europe","url":"https://eu.example.com","Issuer":"https://eu.example.com"}]`,
		"issuer slash":       `[{"id":"eu","name":"Europe","url":"https://eu.example.com","issuer":"https://eu.example.com/"}]`,
		"issuer http":        `[{"id":"eu","name":"Europe","url":"https://eu.example.com","issuer":"http://eu.example.com"}]`,
		"issuer query":       `[{"id":"eu","name":"Europe","url":"https://eu.example.com","issuer":"https://eu.example.com?x=1"}]`,
		"issuer user info":   `[{"id":"eu","name":"Europe","url":"https://eu.example.com","issuer":"https://u:p@eu.example.com"}]`,
		"issuer only":        `[{"id":"eu","name":"Europe","issuer":"https://eu.example.com"}]`,
	}
	for name, body := range bad {
		if got, err := parseServers(file(body)); err == nil {
			t.Errorf("%s: accepted: %+v", name, got)
		}
	}
	if _, err := parseServers(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file is accepted")
	}
}

// TestAppURLAllowlist: "Return to the app" is a link on a page the user
// trusts, so it may only lead to the web or back to an app (RFC 8252 §7.1).
func TestAppURLAllowlist(t *testing.T) {
	t.Parallel()
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "AIRLOCK_APP_URL" {
				return v
			}
			return ""
		}
	}
	for _, v := range []string{"https://app.example.com/done", "https://app.example.com", "http://localhost:3000/done",
		"http://127.0.0.1/x", "com.example.fieldapp:/signed-out", "com.example.fieldapp:/", "com.example.field-app:/done?x=1"} {
		if c, err := loadConfig(env(v), nil); err != nil || c.AppURL != v {
			t.Errorf("AIRLOCK_APP_URL=%q: %v", v, err)
		}
	}
	for _, v := range []string{"javascript:alert(1)", "JavaScript:alert(1)", "vbscript:msgbox(1)", "data:text/html,<script>x</script>",
		"file:///etc/passwd", "myapp://login", "fieldapp://signed-out", "myapp:/login", "http://app.example.com/done",
		"https://user:secret@app.example.com/", "https:///nohost", "//app.example.com", "/relative", "com.example.app:x",
		"com..example:/x", ".com.example:/x", "com.example.:/x", "com.example.app:/ done", "com.example.app:/\x1b", "https://app.example.com/\u202e",
		"Com.Example.App:/x"} {
		_, err := loadConfig(env(v), nil)
		if err == nil || !strings.Contains(err.Error(), "AIRLOCK_APP_URL") {
			t.Errorf("AIRLOCK_APP_URL=%q accepted (%v)", v, err)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("AIRLOCK_APP_URL=%q: the error shows the password: %v", v, err)
		}
	}
}

// TestDirectoryRefusedAtStart: a bad directory stops `airlock serve`, and the
// message names the variable without showing a password.
func TestDirectoryRefusedAtStart(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"eu=Europe\u202e=https://eu.example.com", "eu=Europe=https://u:secret@eu.example.com"} {
		p := newProgram(t, map[string]string{"AIRLOCK_SERVERS": v})
		err := p.refusedStart()
		if err == nil || !strings.Contains(err.Error(), "AIRLOCK_SERVERS") || strings.Contains(err.Error(), "secret") {
			t.Errorf("AIRLOCK_SERVERS=%q: %v", v, err)
		}
	}
}

// TestAuditRetention: AIRLOCK_AUDIT_RETENTION takes a Go duration or whole
// days, from 1 day to 10 years, and reaches the account rules.
func TestAuditRetention(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	good := map[string]time.Duration{"": 400 * day, "30d": 30 * day, "1d": day, "3650d": 3650 * day,
		"720h": 30 * day, "24h": day, "87600h": 3650 * day, "36h30m": 36*time.Hour + 30*time.Minute}
	for v, want := range good {
		p := newProgram(t, map[string]string{"AIRLOCK_AUDIT_RETENTION": v})
		c, err := loadConfig(p.getenv, nil)
		if err != nil || c.AuditRetention != want {
			t.Errorf("AIRLOCK_AUDIT_RETENTION=%q: %v, %v; want %v", v, c, err, want)
			continue
		}
		if got := p.app().accounts.Config().AuditRetention; got != want {
			t.Errorf("AIRLOCK_AUDIT_RETENTION=%q: the account rules keep events %v, want %v", v, got, want)
		}
	}
	for _, v := range []string{"0d", "0", "3651d", "87601h", "23h", "23h59m", "1.5d", "d", "-5d", "+5d", "-720h",
		"forever", "400", "1e3d", "5 d", "5D", "99999999999999999999d", "400d "} {
		p := newProgram(t, map[string]string{"AIRLOCK_AUDIT_RETENTION": v})
		if _, err := loadConfig(p.getenv, nil); err == nil || !strings.Contains(err.Error(), "AIRLOCK_AUDIT_RETENTION") {
			t.Errorf("AIRLOCK_AUDIT_RETENTION=%q: %v", v, err)
		}
	}
	if got := account.DefaultConfig(nil).AuditRetention; got != 400*day {
		t.Errorf("DefaultConfig's AuditRetention = %v, want 400 days", got)
	}
}

// TestHidePasswordKeepsTheWords: a password of a letter or two is not
// blotted out of the words around it (the message never quotes it: the
// user info is redacted first), a longer one is, in every form.
func TestHidePasswordKeepsTheWords(t *testing.T) {
	t.Parallel()
	msg := `bad setting AIRLOCK_APP_URL="https://***@com.example:x": the port must be from 1 to 65535`
	if got := hidePassword(msg, "https://SECRET:x@com.example:x"); got != msg {
		t.Errorf("a one-letter password blotted the message: %q", got)
	}
	if got := hidePassword("it said s3cret!pw and s3cret%21pw", "smtp://u:s3cret%21pw@h:25"); strings.Contains(got, "s3cret") {
		t.Errorf("a password left in the message: %q", got)
	}
}

// TestAppLinksSettings: AIRLOCK_IOS_APP_IDS and AIRLOCK_ANDROID_APPS take
// the app IDs and the packages with their certificates' fingerprints, and
// refuse anything else with a message naming the variable.
func TestAppLinksSettings(t *testing.T) {
	t.Parallel()
	fp1 := "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5"
	fp2 := strings.ToLower(strings.ReplaceAll(fp1, "14:6D", "AB:CD"))
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	c, err := loadConfig(env("AIRLOCK_IOS_APP_IDS", "ABCDE12345.com.example.fieldapp, ABCDE12345.com.example.office",
		"AIRLOCK_ANDROID_APPS", "com.example.fieldapp="+fp1+"+"+fp2+",com.example.office="+fp1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.AppLinks.IOSAppIDs) != "[ABCDE12345.com.example.fieldapp ABCDE12345.com.example.office]" {
		t.Fatalf("iOS apps %q", c.AppLinks.IOSAppIDs)
	}
	if len(c.AppLinks.Android) != 2 || c.AppLinks.Android[0].Package != "com.example.fieldapp" ||
		fmt.Sprint(c.AppLinks.Android[0].Fingerprints) != "["+fp1+" "+strings.ToUpper(fp2)+"]" {
		t.Fatalf("Android apps %+v", c.AppLinks.Android)
	}
	for name, bad := range map[string][]string{
		"AIRLOCK_IOS_APP_IDS": {"com.example.fieldapp", "abcde12345.com.example.app", "ABCDE1234.com.example.app", "ABCDE12345.", "ABCDE12345.com..app",
			"ABCDE12345.com.example.app,", "ABCDE12345.com/example", "ABCDE12345.com.example.app\u202e"},
		"AIRLOCK_ANDROID_APPS": {"com.example.fieldapp", "com.example.fieldapp=", "fieldapp=" + fp1, "com.example.fieldapp=" + fp1[3:],
			"com.example.fieldapp=" + strings.ReplaceAll(fp1, ":", ""), "com.example.fieldapp=" + fp1 + ",com.example.fieldapp=" + fp1,
			"com.example.fieldapp=" + fp1 + "+", "1com.example=" + fp1, "com.example.fieldapp=" + fp1 + ","},
	} {
		for _, v := range bad {
			if _, err := loadConfig(env(name, v), nil); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%q accepted (%v)", name, v, err)
			}
		}
	}
}
