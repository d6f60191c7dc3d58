package scenario

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// refKind is how a script refers to another file.
type refKind int

const (
	refImport  refKind = iota // import/export ... from, import '...', import('...')
	refRequire                // require('...')
	refOpen                   // open('...'), open(import.meta.resolve('...'))
)

func (k refKind) String() string {
	switch k {
	case refRequire:
		return "require"
	case refOpen:
		return "open"
	default:
		return "import"
	}
}

// ref is one string-literal file reference found in a script.
type ref struct {
	kind       refKind
	spec       string // the literal's value
	line       int    // 1-based
	start, end int    // byte offsets of the literal, quotes included
}

type tokKind int

const (
	tokIdent  tokKind = iota
	tokString         // '...' or "..."
	tokPunct          // one character
	tokOther          // number, regular expression, template literal part
)

type token struct {
	kind       tokKind
	text       string // identifier name, punctuator, or decoded string value
	line       int
	start, end int
}

// findRefs returns the file references in a JavaScript source. It is a
// lexer, not a parser: it knows enough (comments, strings, template literals,
// regular expressions) not to be fooled by text that only looks like code,
// and matches the few token patterns that name files. A misjudged regular
// expression can at worst hide or invent a reference on its own line.
func findRefs(src []byte) []ref {
	toks := lex(src)
	var refs []ref
	isPunct := func(i int, p string) bool {
		return i >= 0 && i < len(toks) && toks[i].kind == tokPunct && toks[i].text == p
	}
	isString := func(i int) bool { return i < len(toks) && toks[i].kind == tokString }
	// callArg reports whether toks[i] is a string literal that is a whole
	// argument: followed by ")" or ",".
	callArg := func(i int) bool { return isString(i) && (isPunct(i+1, ")") || isPunct(i+1, ",")) }
	add := func(k refKind, t token) {
		refs = append(refs, ref{kind: k, spec: t.text, line: t.line, start: t.start, end: t.end})
	}

	inModuleDecl := false // between import/export and the end of the statement
	for i, t := range toks {
		if t.kind == tokPunct && t.text == ";" {
			inModuleDecl = false
			continue
		}
		if t.kind != tokIdent || isPunct(i-1, ".") { // x.import, obj.open(...) are not ours
			continue
		}
		switch t.text {
		case "import":
			switch {
			case isPunct(i+1, "("): // import('./x.js')
				if callArg(i + 2) {
					add(refImport, toks[i+2])
				}
			case isPunct(i+1, "."): // import.meta
			case isString(i + 1): // import './x.js'
				add(refImport, toks[i+1])
			default:
				inModuleDecl = true
			}
		case "export":
			inModuleDecl = true
		case "from":
			if inModuleDecl && isString(i+1) {
				add(refImport, toks[i+1])
				inModuleDecl = false
			}
		case "require":
			if isPunct(i+1, "(") && callArg(i+2) {
				add(refRequire, toks[i+2])
			}
		case "open":
			if !isPunct(i+1, "(") {
				continue
			}
			if callArg(i + 2) {
				add(refOpen, toks[i+2])
				continue
			}
			// open(import.meta.resolve('./x')), which k6 recommends so that
			// the path is relative to the calling module.
			want := []string{"import", ".", "meta", ".", "resolve", "("}
			ok := i+2+len(want) < len(toks)
			for j := 0; ok && j < len(want); j++ {
				ok = toks[i+2+j].text == want[j] && toks[i+2+j].kind != tokString
			}
			if ok && isString(i+2+len(want)) && isPunct(i+3+len(want), ")") {
				add(refOpen, toks[i+2+len(want)])
			}
		}
	}
	return refs
}

// isRegexKeyword reports whether "/" after the identifier s starts a regular
// expression rather than a division.
func isRegexKeyword(s string) bool {
	switch s {
	case "return", "typeof", "instanceof", "in", "of", "new", "delete", "void",
		"throw", "case", "do", "else", "yield", "await":
		return true
	}
	return false
}

func lex(src []byte) []token {
	var (
		toks []token
		line = 1
		i    = 0
		// braces holds one entry per open "{": true when it opened a
		// template substitution "${", so its "}" resumes the template.
		braces []bool
	)
	emit := func(k tokKind, text string, start int) {
		toks = append(toks, token{kind: k, text: text, line: line, start: start, end: i})
	}
	regexAllowed := func() bool {
		if len(toks) == 0 {
			return true
		}
		p := toks[len(toks)-1]
		switch p.kind {
		case tokIdent:
			return isRegexKeyword(p.text)
		case tokPunct:
			return p.text != ")" && p.text != "]" && p.text != "}"
		default:
			return false
		}
	}
	// template scans template literal text from i (just after "`" or the
	// "}" closing a substitution) to the closing "`" or the next "${".
	template := func() {
		start := i
		for i < len(src) {
			switch c := src[i]; {
			case c == '\\':
				i++
				if i < len(src) && src[i] == '\n' {
					line++
				}
				i++
			case c == '`':
				i++
				emit(tokOther, "`", start)
				return
			case c == '$' && i+1 < len(src) && src[i+1] == '{':
				i += 2
				emit(tokOther, "`", start)
				braces = append(braces, true)
				return
			default:
				if c == '\n' {
					line++
				}
				i++
			}
		}
		emit(tokOther, "`", start)
	}

	if len(src) >= 2 && src[0] == '#' && src[1] == '!' { // hashbang
		for i < len(src) && src[i] != '\n' {
			i++
		}
	}
	for i < len(src) {
		c := src[i]
		start := i
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			i += 2
			for i < len(src) && !(src[i] == '*' && i+1 < len(src) && src[i+1] == '/') {
				if src[i] == '\n' {
					line++
				}
				i++
			}
			i += 2
			if i > len(src) {
				i = len(src)
			}
		case c == '\'' || c == '"':
			startLine := line
			val := scanString(src, &i, &line)
			toks = append(toks, token{kind: tokString, text: val, line: startLine, start: start, end: i})
		case c == '`':
			i++
			template()
		case c == '/' && regexAllowed():
			if end, ok := scanRegex(src, i); ok {
				i = end
				emit(tokOther, "/re/", start)
			} else {
				i++
				emit(tokPunct, "/", start)
			}
		case isIdentStart(c):
			for i < len(src) && isIdentPart(src[i]) {
				i++
			}
			emit(tokIdent, string(src[start:i]), start)
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			for i < len(src) && (isIdentPart(src[i]) || src[i] == '.' ||
				(src[i] == '+' || src[i] == '-') && (src[i-1] == 'e' || src[i-1] == 'E')) {
				i++
			}
			emit(tokOther, "0", start)
		case c == '{':
			i++
			braces = append(braces, false)
			emit(tokPunct, "{", start)
		case c == '}':
			i++
			if n := len(braces); n > 0 {
				inTemplate := braces[n-1]
				braces = braces[:n-1]
				if inTemplate {
					template()
					continue
				}
			}
			emit(tokPunct, "}", start)
		default:
			i++
			emit(tokPunct, string(c), start)
		}
	}
	return toks
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' || c >= utf8.RuneSelf
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// scanRegex returns the end of the regular expression literal starting at
// src[i] == '/'. A literal cannot span lines, so reaching one means the
// slash was a division after all.
func scanRegex(src []byte, i int) (int, bool) {
	inClass := false
	for i++; i < len(src); i++ {
		switch src[i] {
		case '\n':
			return 0, false
		case '\\':
			i++
			if i < len(src) && src[i] == '\n' {
				return 0, false
			}
		case '[':
			inClass = true
		case ']':
			inClass = false
		case '/':
			if !inClass {
				i++
				for i < len(src) && isIdentPart(src[i]) { // flags
					i++
				}
				return i, true
			}
		}
	}
	return 0, false
}

// scanString reads the quoted string starting at src[*i] and returns its
// value. An unterminated string ends at the line end, as the JavaScript
// parser would reject it anyway.
func scanString(src []byte, i *int, line *int) string {
	quote := src[*i]
	*i++
	var b strings.Builder
	for *i < len(src) {
		c := src[*i]
		switch {
		case c == quote:
			*i++
			return b.String()
		case c == '\n':
			return b.String()
		case c == '\\' && *i+1 < len(src):
			*i++
			decodeEscape(src, i, line, &b)
		default:
			b.WriteByte(c)
			*i++
		}
	}
	return b.String()
}

// decodeEscape decodes the escape sequence whose first character after the
// backslash is src[*i].
func decodeEscape(src []byte, i *int, line *int, b *strings.Builder) {
	c := src[*i]
	*i++
	switch c {
	case '\n': // line continuation
		*line++
	case '\r':
		if *i < len(src) && src[*i] == '\n' {
			*i++
		}
		*line++
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'r':
		b.WriteByte('\r')
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'v':
		b.WriteByte('\v')
	case '0':
		b.WriteByte(0)
	case 'x':
		if *i+2 <= len(src) {
			if v, err := strconv.ParseUint(string(src[*i:*i+2]), 16, 8); err == nil {
				b.WriteRune(rune(v))
				*i += 2
				return
			}
		}
		b.WriteByte(c)
	case 'u':
		digits := ""
		if *i < len(src) && src[*i] == '{' {
			if end := strings.IndexByte(string(src[*i:min(len(src), *i+10)]), '}'); end > 0 {
				digits = string(src[*i+1 : *i+end])
				if v, err := strconv.ParseUint(digits, 16, 32); err == nil && v <= utf8.MaxRune {
					b.WriteRune(rune(v))
					*i += end + 1
					return
				}
			}
		} else if *i+4 <= len(src) {
			if v, err := strconv.ParseUint(string(src[*i:*i+4]), 16, 16); err == nil {
				b.WriteRune(rune(v))
				*i += 4
				return
			}
		}
		b.WriteByte(c)
	default:
		b.WriteByte(c)
	}
}
