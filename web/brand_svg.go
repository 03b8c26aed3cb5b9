package web

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// An SVG logo is checked against an allowlist, not searched for bad things:
// SVG can fetch, link and run in more ways than a blocklist can name
// (animation that rewrites an href, an entity that spells javascript:, a
// style sheet that imports another). Whatever is not listed here refuses
// the start, named.

const (
	nsSVG   = "http://www.w3.org/2000/svg"
	nsXLink = "http://www.w3.org/1999/xlink"
	nsXML   = "http://www.w3.org/XML/1998/namespace"
)

func nameSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// svgElements are the SVG elements a logo may hold: shapes, text, groups,
// gradients, clipping and masking, <use> of a part of the logo itself, a
// title and description, and metadata. Left out on purpose: script,
// foreignObject, style (a style sheet can import one from elsewhere), a
// (a link), image (a file from elsewhere), the animation elements
// (animate, set, animateTransform, animateMotion: they can rewrite any
// attribute, an href or an event handler included), and filters, patterns,
// markers and fonts, which a logo can do without.
var svgElements = nameSet("svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon",
	"text", "tspan", "defs", "linearGradient", "radialGradient", "stop", "clipPath", "mask", "symbol",
	"use", "title", "desc", "metadata")

// editorNamespaces hold what drawing programs (Inkscape, Sodipodi) and
// metadata (RDF, Creative Commons, Dublin Core) write into their files. No
// browser acts on an element or attribute in them, so a logo saved
// straight from Inkscape is accepted; their contents are still walked, and
// any other namespace (XHTML's script, XML Events) is refused.
var editorNamespaces = nameSet(
	"http://www.inkscape.org/namespaces/inkscape",
	"http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd",
	"http://www.w3.org/1999/02/22-rdf-syntax-ns#",
	"http://creativecommons.org/ns#",
	"http://purl.org/dc/elements/1.1/",
)

// svgProperties are the presentation properties a logo may set, as
// attributes (fill="…") or in a style attribute (style="fill:…"): colours,
// strokes, opacity, clipping and masking by reference, and text layout.
// Their values are checked too (checkValue).
var svgProperties = nameSet(
	"fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-linecap",
	"stroke-linejoin", "stroke-miterlimit", "stroke-dasharray", "stroke-dashoffset", "opacity",
	"stop-color", "stop-opacity", "clip-path", "clip-rule", "mask", "color", "display", "visibility",
	"overflow", "vector-effect", "paint-order", "shape-rendering", "text-rendering", "image-rendering",
	"color-interpolation", "color-rendering", "mix-blend-mode", "isolation", "enable-background",
	"font", "font-family", "font-size", "font-size-adjust", "font-weight", "font-style", "font-variant",
	"font-stretch", "font-variant-ligatures", "font-variant-caps", "font-variant-numeric",
	"font-variant-east-asian", "font-feature-settings", "line-height", "text-anchor", "text-align",
	"text-decoration", "dominant-baseline", "alignment-baseline", "baseline-shift", "letter-spacing",
	"word-spacing", "writing-mode", "direction", "unicode-bidi", "white-space")

// svgAttributes are the other attributes a logo's SVG elements may have:
// geometry, coordinate systems, gradient and mask settings, identity and
// accessibility. href is accepted apart, pointing inside the logo only,
// and style apart, holding svgProperties only.
var svgAttributes = nameSet(
	"id", "class", "version", "baseProfile", "width", "height", "x", "y", "x1", "y1", "x2", "y2",
	"cx", "cy", "r", "rx", "ry", "fx", "fy", "fr", "d", "points", "pathLength", "viewBox",
	"preserveAspectRatio", "transform", "dx", "dy", "rotate", "textLength", "lengthAdjust",
	"gradientUnits", "gradientTransform", "spreadMethod", "offset", "clipPathUnits", "maskUnits",
	"maskContentUnits", "refX", "refY", "role", "aria-label", "aria-labelledby", "aria-describedby",
	"aria-hidden", "focusable", "lang")

// styleOnlyProperties are written by Inkscape in style attributes and read
// by nobody else.
var styleOnlyProperties = nameSet("-inkscape-font-specification")

// valueFunctions are the functions a value may call: colours and
// transforms. url() is checked apart: a reference inside the logo only.
var valueFunctions = nameSet("rgb", "rgba", "hsl", "hsla", "hwb", "lab", "lch", "oklab", "oklch",
	"matrix", "translate", "scale", "rotate", "skewx", "skewy")

var (
	// localRef is an href to a part of the logo itself.
	localRef = regexp.MustCompile(`^#[A-Za-z_][A-Za-z0-9_.:-]*$`)
	// localURL is a url() of a part of the logo itself, at the start of the
	// text it is matched against.
	localURL = regexp.MustCompile(`^(?i:url)\(\s*(?:#[A-Za-z_][A-Za-z0-9_.:-]*|"#[A-Za-z_][A-Za-z0-9_.:-]*"|'#[A-Za-z_][A-Za-z0-9_.:-]*')\s*\)`)
)

// checkSVG accepts an SVG document whose root is <svg> in the SVG
// namespace and that holds only drawing elements with drawing attributes
// (svgElements, svgProperties, svgAttributes; whatever editorNamespaces
// hold), no href or url() but to a part of the logo itself (#id), no
// event handler, no DOCTYPE or entity, no processing instruction but the
// XML declaration. Values are read as a browser reads them, entities and
// character references decoded (java&#9;script: is java\tscript:).
// Browsers run no script of an image shown by <img>, and /static/brand-logo
// is served sandboxed; this keeps the file honest for anyone who opens it
// elsewhere, and leaves a browser nothing to fetch.
func checkSVG(data []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	root := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if root {
				return errors.New("want a PNG or SVG file")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("want a PNG or SVG file (not well-formed XML: %v)", err)
		}
		line, _ := dec.InputPos()
		switch t := tok.(type) {
		case xml.Directive:
			// Entities can spell what the checks look for, or grow to
			// gigabytes; a logo needs no DTD.
			return fmt.Errorf("SVG line %d: a DOCTYPE or entity declaration is not accepted: remove it, a logo needs none", line)
		case xml.ProcInst:
			if t.Target != "xml" {
				return fmt.Errorf("SVG line %d: the processing instruction <?%s …?> is not accepted: a logo needs none (a style sheet could be fetched from elsewhere)", line, svgName(t.Target))
			}
		case xml.StartElement:
			if root && (t.Name.Space != nsSVG || t.Name.Local != "svg") {
				return errors.New(`want a PNG or SVG file (an SVG's root is <svg xmlns="http://www.w3.org/2000/svg">)`)
			}
			root = false
			if err := checkSVGElement(t); err != nil {
				return fmt.Errorf("SVG line %d: %w", line, err)
			}
		}
	}
}

// checkSVGElement checks one element and its attributes.
func checkSVGElement(el xml.StartElement) error {
	name := elementName(el.Name)
	editor := editorNamespaces[el.Name.Space]
	if !editor && (el.Name.Space != nsSVG || !svgElements[el.Name.Local]) {
		return fmt.Errorf("the element %s is not accepted: %s", name, elementReason(el.Name))
	}
	for _, a := range el.Attr {
		attr := attrName(a.Name)
		switch {
		case a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns":
			// A namespace declaration: what uses it is checked where it is used.
		case strings.HasPrefix(strings.ToLower(a.Name.Local), "on"):
			return fmt.Errorf("%s has an event handler (%s): a logo runs no script", name, attr)
		case a.Name.Local == "href" && (a.Name.Space == "" || a.Name.Space == nsXLink):
			// Only a part of the logo itself: not javascript:, data: or
			// another site, and whatever the entities spelled.
			if !localRef.MatchString(a.Value) {
				return fmt.Errorf("%s has %s=%.40q: a logo may only refer to a part of itself (#id)", name, attr, a.Value)
			}
		case editorNamespaces[a.Name.Space] || a.Name.Space == nsXML && (a.Name.Local == "space" || a.Name.Local == "lang"):
		case a.Name.Space != "":
			return fmt.Errorf("%s has the attribute %s, which a logo does not need", name, attr)
		case editor:
			// An editor's own element: nothing reads its attributes.
		case a.Name.Local == "style":
			if err := checkStyle(a.Value); err != nil {
				return fmt.Errorf("%s has style=%.40q: %w", name, a.Value, err)
			}
		case !svgAttributes[a.Name.Local] && !svgProperties[a.Name.Local]:
			return fmt.Errorf("%s has the attribute %s, which is not a drawing attribute", name, attr)
		default:
			if err := checkValue(a.Value); err != nil {
				return fmt.Errorf("%s has %s=%.40q: %w", name, attr, a.Value, err)
			}
		}
	}
	return nil
}

// elementReason says why an element is refused, in the operator's terms.
func elementReason(n xml.Name) string {
	switch strings.ToLower(n.Local) {
	case "script", "foreignobject", "iframe", "embed", "object", "handler", "listener":
		return "a logo needs no script or embedded content"
	case "animate", "set", "animatetransform", "animatemotion", "animatecolor", "discard":
		return "a logo is not animated (animation can rewrite a link or add an event handler)"
	case "style":
		return "a logo needs no style sheet (one can import another from elsewhere); use presentation attributes"
	case "a", "image", "feimage":
		return "a logo holds no link and no image from elsewhere"
	}
	if n.Space != nsSVG {
		return "only SVG drawing elements are accepted"
	}
	return "it is not among the drawing elements a logo may hold (" + strings.Join(sortedKeys(svgElements), ", ") + ")"
}

// checkStyle checks a style attribute: a list of declarations of
// svgProperties (or styleOnlyProperties), each value checked by
// checkValue. Anything that could make a browser read the attribute other
// than as it is read here (an escape, a comment, a block, an at-rule) is
// refused.
func checkStyle(style string) error {
	if i := strings.IndexAny(style, `\{}@<>`); i >= 0 {
		return fmt.Errorf("%q is not accepted in a style attribute", style[i])
	}
	if strings.Contains(style, "/*") {
		return errors.New("a comment is not accepted in a style attribute")
	}
	decls, err := splitDeclarations(style)
	if err != nil {
		return err
	}
	for _, d := range decls {
		if strings.TrimSpace(d) == "" {
			continue
		}
		prop, value, ok := strings.Cut(d, ":")
		prop = strings.ToLower(strings.TrimSpace(prop))
		if !ok {
			return fmt.Errorf("%.40q is not a declaration", strings.TrimSpace(d))
		}
		if !svgProperties[prop] && !styleOnlyProperties[prop] {
			return fmt.Errorf("the property %.40q is not a presentation property", prop)
		}
		value = strings.TrimSpace(value)
		value = strings.TrimSpace(strings.TrimSuffix(value, "!important"))
		if err := checkValue(value); err != nil {
			return fmt.Errorf("%s: %w", prop, err)
		}
	}
	return nil
}

// splitDeclarations splits a style attribute at the semicolons that end a
// declaration, not those inside quotes or parentheses.
func splitDeclarations(s string) ([]string, error) {
	var out []string
	var quote byte
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			if depth--; depth < 0 {
				return nil, errors.New("a parenthesis is closed that was not opened")
			}
		case c == ';' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if quote != 0 || depth != 0 {
		return nil, errors.New("a quote or parenthesis is left open")
	}
	return append(out, s[start:]), nil
}

// checkValue checks an attribute or property value: no escape or comment
// (either could hide a url( from this check), and no function but colours,
// transforms and url(#id) of a part of the logo itself.
func checkValue(v string) error {
	if strings.Contains(v, `\`) {
		return errors.New("an escape (\\) is not accepted in a value")
	}
	if strings.Contains(v, "/*") {
		return errors.New("a comment is not accepted in a value")
	}
	for i := 0; i < len(v); i++ {
		if v[i] != '(' {
			continue
		}
		// The function's name: the letters, digits and dashes before the
		// parenthesis (SVG transforms allow spaces between them).
		end := len(strings.TrimRight(v[:i], " \t\r\n"))
		start := end
		for start > 0 && (isAlnum(v[start-1]) || v[start-1] == '-') {
			start--
		}
		fn := strings.ToLower(v[start:end])
		switch {
		case fn == "url":
			if !localURL.MatchString(v[start:]) {
				return errors.New("a logo may only refer to a part of itself, url(#id)")
			}
		case !valueFunctions[fn]:
			return fmt.Errorf("the function %s() is not accepted in a value", svgName(fn))
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// elementName is how a message names an element: <use>, or <script> in
// the XHTML namespace.
func elementName(n xml.Name) string {
	name := "<" + svgName(n.Local) + ">"
	if n.Space != nsSVG && n.Space != "" {
		name += " (namespace " + svgName(n.Space) + ")"
	}
	return name
}

// attrName is how a message names an attribute: href, xlink:href.
func attrName(n xml.Name) string {
	switch n.Space {
	case "":
		return svgName(n.Local)
	case nsXLink:
		return "xlink:" + svgName(n.Local)
	case nsXML:
		return "xml:" + svgName(n.Local)
	}
	return svgName(n.Local) + " (namespace " + svgName(n.Space) + ")"
}

// svgName quotes a name from the file if it holds anything but letters,
// digits and punctuation of names: the message goes to a terminal.
func svgName(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && !strings.ContainsRune("-_.:/#", rune(c)) {
			return fmt.Sprintf("%.60q", s)
		}
	}
	return s
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
