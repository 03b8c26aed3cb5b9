package web

import (
	"html/template"
	"testing"
	"time"
)

// TestTH: a message with markup arguments escapes everything else, even a
// text argument that pretends to be a markup one.
func TestTH(t *testing.T) {
	t.Parallel()
	p := &page{Lang: "en"}
	got := p.TH("admin.reset.confirm", "<b>Eve</b> \ue0000\ue001", p.Email("eve@example.com"), "30 minutes")
	want := template.HTML("&lt;b&gt;Eve&lt;/b&gt; 0 will get an email at <span class=\"email\">eve@example.com</span> with a link to choose a new password, valid for 30 minutes.")
	if got != want {
		t.Errorf("TH:\n%s\nwant\n%s", got, want)
	}
	for in, want := range map[string]template.HTML{
		`a"b<c@d.e`:                          `<span class="email">a&#34;b&lt;c@d.e</span>`,
		`a.rather.long"address@field.ex.com`: `<span class="email">a<wbr>.rather<wbr>.long&#34;address@<wbr>field<wbr>.ex<wbr>.com</span>`,
	} {
		if got := p.Email(in); got != want {
			t.Errorf("Email(%q): %s, want %s", in, got, want)
		}
	}
	when := p.When(time.Date(2026, 11, 30, 14, 3, 22, 0, time.FixedZone("CET", 3600)))
	if when != `<time datetime="2026-11-30T13:03:22Z"><span class="nowrap">2026-11-30</span> <span class="nowrap">13:03:22 UTC</span></time>` {
		t.Errorf("When: %s", when)
	}
}
