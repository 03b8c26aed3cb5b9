package web

import "testing"

// TestAppleWildcardsInThePath: * and ? are wildcards in Apple's patterns,
// so a public URL path holding one is refused rather than published.
func TestAppleWildcardsInThePath(t *testing.T) {
	for _, prefix := range []string{"/a*b", "/a?"} {
		if _, err := appleAssociation([]string{"ABCDE12345.com.example.app"}, prefix); err == nil {
			t.Errorf("prefix %q accepted", prefix)
		}
	}
	if _, err := appleAssociation([]string{"ABCDE12345.com.example.app"}, "/accounts"); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseIOSAppIDs("ABCDE12345.com.x,ABCDE12345.com.x"); err == nil {
		t.Error("an app id named twice accepted")
	}
	if _, err := ParseAndroidApps("com.x=" + fp + "+" + lowerFP); err == nil {
		t.Error("a fingerprint named twice (in another case) accepted")
	}
}

const fp = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
const lowerFP = "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89"
