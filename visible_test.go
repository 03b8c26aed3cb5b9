package airlock

import "testing"

// TestVisible: a name needs one character a reader sees; fillers, blanks
// and invisible code points, alone or together, are not one.
func TestVisible(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", " ", "\t", "\u00a0", "\u3000", "\u2003",
		"\u3164", "\u115f", "\u1160", "\uffa0", // Hangul fillers
		"\u2800",                   // BRAILLE PATTERN BLANK
		"\U0001d159",               // MUSICAL SYMBOL NULL NOTEHEAD
		"\u00ad",                   // SOFT HYPHEN (default-ignorable)
		"\u034f",                   // COMBINING GRAPHEME JOINER (default-ignorable)
		"\u17b4",                   // KHMER VOWEL INHERENT AQ (default-ignorable)
		"\u180e",                   // MONGOLIAN VOWEL SEPARATOR (default-ignorable)
		"\u200c\u200d",             // ZERO WIDTH NON-JOINER and JOINER (default-ignorable)
		"\ufe0f",                   // VARIATION SELECTOR-16 (default-ignorable)
		"\U000e0001", "\U000e0041", // tags (default-ignorable)
		"\u0301\u0301", // combining marks on nothing
		"\ue000",       // private use
		"\u3164 \u3164", "\u2800\u3000\u115f\u00a0\uffa0\u1160",
	} {
		if Visible(s) {
			t.Errorf("Visible(%+q) = true", s)
		}
	}
	for _, s := range []string{"Ada", "Zoë", "李", "الحسن", "٣", "O'Brien", "-", "😀", "\u3164A", "\u2800.", "e\u0301"} {
		if !Visible(s) {
			t.Errorf("Visible(%+q) = false", s)
		}
	}
}
