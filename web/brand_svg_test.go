package web_test

import (
	"strings"
	"testing"

	"github.com/airlockhq/airlock/web"
)

// inkscapeLogo is a logo as Inkscape saves it: its own namespaces and
// metadata, gradients that inherit from one another by xlink:href, styles
// in style attributes, a clip path and a mask, text, and parts reused by
// <use href="#…">.
const inkscapeLogo = `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!-- Created with Inkscape (http://www.inkscape.org/) -->
<svg
   width="64mm" height="16mm" viewBox="0 0 64 16" version="1.1" id="svg5"
   inkscape:version="1.2.2 (b0a8486541, 2022-12-01)" sodipodi:docname="acme.svg"
   xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"
   xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"
   xmlns:xlink="http://www.w3.org/1999/xlink"
   xmlns="http://www.w3.org/2000/svg"
   xmlns:svg="http://www.w3.org/2000/svg"
   xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
   xmlns:cc="http://creativecommons.org/ns#"
   xmlns:dc="http://purl.org/dc/elements/1.1/">
  <title id="title1">Acme Field</title>
  <desc id="desc1">The Acme Field logo: a green leaf and the name.</desc>
  <sodipodi:namedview id="namedview7" pagecolor="#ffffff" bordercolor="#666666" borderopacity="1.0"
     inkscape:showpageshadow="2" inkscape:pageopacity="0.0" inkscape:document-units="mm" showgrid="false"
     inkscape:zoom="2.8" inkscape:current-layer="layer1" />
  <metadata id="metadata1">
    <rdf:RDF>
      <cc:Work rdf:about="">
        <dc:format>image/svg+xml</dc:format>
        <dc:type rdf:resource="http://purl.org/dc/dcmitype/StillImage" />
        <cc:license rdf:resource="http://creativecommons.org/licenses/by-sa/4.0/" />
      </cc:Work>
    </rdf:RDF>
  </metadata>
  <defs id="defs2">
    <linearGradient inkscape:collect="always" id="linearGradient1">
      <stop style="stop-color:#0b6e4f;stop-opacity:1" offset="0" id="stop1" />
      <stop style="stop-color:#0b6e4f;stop-opacity:0" offset="1" id="stop2" />
    </linearGradient>
    <linearGradient inkscape:collect="always" xlink:href="#linearGradient1" id="linearGradient2"
       x1="2" y1="2" x2="14" y2="14" gradientUnits="userSpaceOnUse" gradientTransform="matrix(1.2,0,0,1.2,-1.6,-1.6)" />
    <radialGradient id="radialGradient3" cx="8" cy="8" r="6" fx="7" fy="7" gradientUnits="userSpaceOnUse" spreadMethod="pad">
      <stop offset="0%" stop-color="rgb(255, 255, 255)" stop-opacity="0.6" id="stop3" />
      <stop offset="100%" stop-color="hsl(160, 80%, 24%)" stop-opacity="0" id="stop4" />
    </radialGradient>
    <clipPath clipPathUnits="userSpaceOnUse" id="clipPath1">
      <circle cx="8" cy="8" r="7" id="circle1" />
    </clipPath>
    <mask maskUnits="userSpaceOnUse" id="mask1">
      <rect x="0" y="0" width="16" height="16" fill="#ffffff" id="rect0" />
    </mask>
    <symbol id="leaf" viewBox="0 0 16 16">
      <path d="M 8,1 C 3,4 3,12 8,15 13,12 13,4 8,1 Z" sodipodi:nodetypes="ccccc" id="path1" />
    </symbol>
  </defs>
  <g inkscape:label="Layer 1" inkscape:groupmode="layer" id="layer1" transform="translate(0, 0) rotate(0 8 8)">
    <use href="#leaf" xlink:href="#leaf" width="16" height="16" id="use1"
       style="fill:url(#linearGradient2);fill-opacity:1;stroke:#084c37;stroke-width:0.264583;stroke-linecap:round;stroke-linejoin:round;stroke-opacity:1"
       clip-path="url(#clipPath1)" mask="url('#mask1')" />
    <ellipse cx="8" cy="8" rx="3" ry="2" fill="url(#radialGradient3)" id="ellipse1" />
    <polygon points="1,15 3,13 5,15" fill="#0b6e4f" id="polygon1" />
    <polyline points="1,1 2,2 3,1" fill="none" stroke="#0b6e4f" id="polyline1" />
    <line x1="18" y1="14" x2="62" y2="14" stroke="#0b6e4f" stroke-dasharray="1 1" id="line1" />
    <text xml:space="preserve" x="18" y="11" id="text1"
       style="font-style:normal;font-weight:bold;font-size:8.46667px;line-height:1.25;font-family:'DejaVu Sans';-inkscape-font-specification:'DejaVu Sans Bold';letter-spacing:0px;word-spacing:0px;fill:#1a1a1a;stroke:none"><tspan sodipodi:role="line" id="tspan1" x="18" y="11">Acme <tspan fill="#0b6e4f" id="tspan2">Field</tspan></tspan></text>
  </g>
</svg>
`

// TestLogoSVGAllowlist: a logo holds drawing elements with drawing
// attributes and nothing else; each thing refused refuses the whole file,
// with a message that names the element (and the attribute).
func TestLogoSVGAllowlist(t *testing.T) {
	t.Parallel()
	for name, content := range map[string]string{
		"plain":    svgLogo,
		"inkscape": inkscapeLogo,
		"prefixed": `<svg:svg xmlns:svg="http://www.w3.org/2000/svg"><svg:rect width="4" height="4"/></svg:svg>`,
	} {
		if l, err := web.ReadLogo(writeFile(t, "logo.svg", content)); err != nil || l.ContentType != "image/svg+xml" {
			t.Errorf("%s logo refused: %v", name, err)
		}
	}
	const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 4 4">`
	for _, tc := range []struct {
		name, content string
		want          []string // in the message
	}{
		{"javascript link, entity-encoded", svg + `<a href="java&#9;script:alert(1)"><rect width="4" height="4"/></a></svg>`, []string{"<a>"}},
		{"javascript link on use", svg + `<use href="java&#9;script:alert(1)"/></svg>`, []string{"<use>", "href", `"java\tscript:alert(1)"`}},
		{"animate an href", svg + `<rect width="4" height="4"><animate attributeName="href" to="javascript:alert(1)"/></rect></svg>`, []string{"<animate>"}},
		{"set an event handler", svg + `<rect width="4" height="4"><set attributeName="onclick" to="alert(1)"/></rect></svg>`, []string{"<set>"}},
		{"animateTransform", svg + `<rect width="4" height="4"><animateTransform attributeName="transform" type="rotate" from="0" to="360" dur="1s"/></rect></svg>`, []string{"<animateTransform>"}},
		{"animateMotion", svg + `<rect width="4" height="4"><animateMotion path="M0,0 L4,4" dur="1s"/></rect></svg>`, []string{"<animateMotion>"}},
		{"data: link on use", svg + `<use href="data:image/svg+xml;base64,PHN2Zy8+"/></svg>`, []string{"<use>", "href", "data:"}},
		{"data: image", svg + `<image href="data:image/png;base64,iVBORw0KGgo="/></svg>`, []string{"<image>"}},
		{"image from elsewhere", svg + `<image href="https://evil.example/pixel.png" width="4" height="4"/></svg>`, []string{"<image>"}},
		{"use from elsewhere", svg + `<use xlink:href="https://evil.example/sprite.svg#logo"/></svg>`, []string{"<use>", "xlink:href", "https://evil.example"}},
		{"gradient from elsewhere", svg + `<linearGradient id="g" xlink:href="https://evil.example/g.svg#g"/></svg>`, []string{"<linearGradient>", "xlink:href"}},
		{"style sheet import", svg + `<style>@import url(https://evil.example/x.css);</style></svg>`, []string{"<style>"}},
		{"script", svg + `<script>alert(1)</script></svg>`, []string{"<script>"}},
		{"XHTML script", svg + `<h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(1)</h:script></svg>`, []string{"<script>", "http://www.w3.org/1999/xhtml"}},
		{"script inside metadata", svg + `<metadata><h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(1)</h:script></metadata></svg>`, []string{"<script>"}},
		{"foreignObject", svg + `<foreignObject><p xmlns="http://www.w3.org/1999/xhtml">x</p></foreignObject></svg>`, []string{"<foreignObject>"}},
		{"event handler", `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`, []string{"<svg>", "onload"}},
		{"event handler in capitals", svg + `<rect width="4" height="4" ONCLICK="alert(1)"/></svg>`, []string{"<rect>", "ONCLICK"}},
		{"XML Events", svg + `<rect xmlns:ev="http://www.w3.org/2001/xml-events" ev:event="click" width="4" height="4"/></svg>`, []string{"<rect>", "event (namespace http://www.w3.org/2001/xml-events)"}},
		{"DOCTYPE with an entity", `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY js "javascript:alert(1)">]>` + svg + `<use href="&js;"/></svg>`, []string{"DOCTYPE"}},
		{"DOCTYPE of SVG 1.1", `<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">` + svg + `</svg>`, []string{"DOCTYPE"}},
		{"an undeclared entity", svg + `<rect id="&x;"/></svg>`, []string{"not well-formed"}},
		{"style sheet instruction", `<?xml-stylesheet href="https://evil.example/x.css"?>` + svg + `</svg>`, []string{"xml-stylesheet"}},
		{"fill from elsewhere", svg + `<rect width="4" height="4" fill="url(https://evil.example/p.svg#p)"/></svg>`, []string{"<rect>", "fill", "url(#id)"}},
		{"style fill from elsewhere", svg + `<rect width="4" height="4" style="fill:url(https://evil.example/p.svg#p)"/></svg>`, []string{"<rect>", "style"}},
		{"style url in an escape", svg + `<rect width="4" height="4" style="fill:\75 rl(https://evil.example/p)"/></svg>`, []string{"<rect>", "style"}},
		{"style property not for drawing", svg + `<rect width="4" height="4" style="background-image:url(#a)"/></svg>`, []string{"<rect>", "background-image"}},
		{"style hiding a declaration in a comment", svg + `<rect style="fill:red/*;*/;cursor:url(https://evil.example/c)"/></svg>`, []string{"<rect>", "comment"}},
		{"attribute not for drawing", svg + `<rect width="4" height="4" cursor="url(https://evil.example/c)"/></svg>`, []string{"<rect>", "cursor"}},
		{"function not for drawing", svg + `<rect width="4" height="4" fill="var(--x)"/></svg>`, []string{"<rect>", "fill", "var"}},
		{"xml:base", svg + `<g xml:base="https://evil.example/"><use href="#a"/></g></svg>`, []string{"<g>", "xml:base"}},
		{"an element not for drawing", svg + `<filter id="f"><feGaussianBlur stdDeviation="1"/></filter></svg>`, []string{"<filter>"}},
		{"no namespace", `<svg viewBox="0 0 4 4"><rect width="4" height="4"/></svg>`, []string{"PNG or SVG", "xmlns"}},
		{"root not svg", `<html xmlns="http://www.w3.org/1999/xhtml"><body>hi</body></html>`, []string{"PNG or SVG"}},
	} {
		_, err := web.ReadLogo(writeFile(t, "logo.svg", tc.content))
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		t.Logf("%s: %v", tc.name, err)
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: the message does not say %q: %v", tc.name, w, err)
			}
		}
	}
}
