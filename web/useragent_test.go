package web

import "testing"

func TestParseUserAgent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ua, browser, os string
	}{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome 126", "Windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87", "Edge 126", "Windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128", "Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari 17", "macOS"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0", "Opera 111", "macOS"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari 17", "iOS 17.5"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1", "Chrome 126", "iOS 17.5"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15", "Firefox 127", "iOS 16"},
		{"Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "Safari 17", "iPadOS 17.1"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36", "Chrome 126", "Android 14"},
		{"Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "Samsung Internet 25", "Android 13"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36", "Headless Chrome 126", "Linux"},
		{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0", "Firefox 127", "Linux"},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome 126", "ChromeOS"},
		// The field apps: iOS (URLSession's default) and Android (OkHttp, or the system's).
		{"FieldApp/2.3 CFNetwork/1494.0.7 Darwin/23.4.0", "FieldApp 2.3", "iOS"},
		{"okhttp/4.12.0", "OkHttp 4", ""},
		{"Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP2A.240705.005)", "", "Android 14"},
		// Tools, and nothing at all.
		{"curl/8.5.0", "curl 8", ""},
		{"Go-http-client/1.1", "Go 1", ""},
		{"", "", ""},
		{"Mozilla/5.0", "", ""},
		{"Mozilla/5.0 (compatible; something)", "", ""},
		{"<script>alert(1)</script>", "", ""},
		{"a/" + "99999999999", "a 999999", ""},
	} {
		got := parseUserAgent(tc.ua)
		if got.Browser != tc.browser || got.OS != tc.os || got.CLI {
			t.Errorf("%q: %+v, want %q on %q", tc.ua, got, tc.browser, tc.os)
		}
	}
	if c := parseUserAgent("airlock user add"); !c.CLI || c.Browser != "" {
		t.Errorf("the command line: %+v", c)
	}
}
