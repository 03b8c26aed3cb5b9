package web

import (
	"regexp"
	"strings"
)

// client is what a User-Agent header says about who sent a request, in
// short: a browser (or program) and its major version, and an operating
// system. Either may be empty when the header does not say.
type client struct {
	Browser string // "Firefox 128", "Safari 17", "curl 8"
	OS      string // "Windows", "macOS", "iOS 17.5", "Android 14", "Linux"
	// CLI marks Airlock's own command line ("airlock user add").
	CLI bool
}

// browserRules are tried in order: the first product token found names
// the browser. Order matters, as browsers name their ancestors too: Edge
// says Chrome and Safari, Chrome says Safari, Opera says Chrome.
var browserRules = []struct {
	token, name string
}{
	{"EdgA/", "Edge"}, {"EdgiOS/", "Edge"}, {"Edg/", "Edge"}, {"Edge/", "Edge"},
	{"OPR/", "Opera"}, {"OPT/", "Opera"},
	{"SamsungBrowser/", "Samsung Internet"},
	{"YaBrowser/", "Yandex Browser"},
	{"Vivaldi/", "Vivaldi"},
	{"FxiOS/", "Firefox"}, {"Firefox/", "Firefox"},
	{"CriOS/", "Chrome"}, {"HeadlessChrome/", "Headless Chrome"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
	{"curl/", "curl"}, {"Wget/", "Wget"}, {"okhttp/", "OkHttp"}, {"Go-http-client/", "Go"},
	{"python-requests/", "Python Requests"}, {"PostmanRuntime/", "Postman"},
}

var (
	iosVersion     = regexp.MustCompile(`(?:iPhone|CPU) OS (\d+)(?:_(\d+))?`)
	androidVersion = regexp.MustCompile(`Android (\d+)(?:\.(\d+))?`)
	// productToken is a leading "Name/1.2" of a program that is not a
	// browser, such as one of the field apps ("FieldApp/2.3 CFNetwork/…").
	productToken = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9._-]{0,39})/(\d{1,6}(?:\.\d{1,6})?)`)
)

// parseUserAgent reads the common user agents of Airlock's clients: the
// browsers people sign in with, the field apps (iOS and Android), the
// command line and the usual HTTP tools. Anything else gives its leading
// product token, or nothing. It never fails: the header is whatever the
// client sent.
func parseUserAgent(ua string) client {
	var c client
	if strings.HasPrefix(ua, "airlock ") {
		return client{CLI: true}
	}
	for _, r := range browserRules {
		if v, ok := version(ua, r.token); ok {
			c.Browser = r.name + v
			break
		}
	}
	if c.Browser == "" && strings.Contains(ua, "Safari/") && strings.Contains(ua, "AppleWebKit/") {
		v, _ := version(ua, "Version/")
		c.Browser = "Safari" + v
	}
	if c.Browser == "" && !strings.HasPrefix(ua, "Mozilla/") {
		// A program: an app's own name ("FieldApp/2.3 CFNetwork/… Darwin/…"),
		// Android's ("Dalvik/2.1.0 (Linux; U; Android 14; …)"), a tool's.
		// Android's own ("Dalvik/2.1.0") names no app: the system says enough.
		if m := productToken.FindStringSubmatch(ua); m != nil && m[1] != "Dalvik" {
			c.Browser = m[1] + " " + m[2]
		}
	}
	switch {
	case strings.Contains(ua, "iPad"):
		c.OS = "iPadOS" + osVersion(iosVersion, ua)
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPod"):
		c.OS = "iOS" + osVersion(iosVersion, ua)
	case strings.Contains(ua, "Android"):
		c.OS = "Android" + osVersion(androidVersion, ua)
	case strings.Contains(ua, "CrOS"):
		c.OS = "ChromeOS"
	case strings.Contains(ua, "Windows"):
		c.OS = "Windows"
	case strings.Contains(ua, "Macintosh") || strings.Contains(ua, "Mac OS X"):
		c.OS = "macOS"
	case strings.Contains(ua, "CFNetwork/") || strings.Contains(ua, "Darwin/"):
		// An app on Apple's network stack: the field apps run on iOS.
		c.OS = "iOS"
	case strings.Contains(ua, "Linux") || strings.Contains(ua, "X11"):
		c.OS = "Linux"
	}
	return c
}

// version returns " 128" for token "Firefox/" in "… Firefox/128.0": the
// major version after the token, if the token is there.
func version(ua, token string) (string, bool) {
	i := strings.Index(ua, token)
	if i < 0 {
		return "", false
	}
	rest := ua[i+len(token):]
	n := 0
	for n < len(rest) && n < 6 && '0' <= rest[n] && rest[n] <= '9' {
		n++
	}
	if n == 0 {
		return "", true
	}
	return " " + rest[:n], true
}

// osVersion returns " 17.5" from the pattern's major and minor numbers.
func osVersion(re *regexp.Regexp, ua string) string {
	m := re.FindStringSubmatch(ua)
	if m == nil {
		return ""
	}
	if m[2] != "" && m[2] != "0" {
		return " " + m[1] + "." + m[2]
	}
	return " " + m[1]
}
