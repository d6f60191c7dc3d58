package scenario

import (
	"fmt"
	"slices"
	"testing"
)

func TestFindRefs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string // "kind spec line"
	}{
		{"default import", `import http from 'k6/http';`, []string{"import k6/http 1"}},
		{"named and namespace", "import a, { b as c, from } from \"./a.js\"\nimport * as ns from './ns.js'",
			[]string{"import ./a.js 1", "import ./ns.js 2"}},
		{"multi-line import", "import {\n  a,\n  b,\n} from './multi.js';", []string{"import ./multi.js 4"}},
		{"side effect", `import './side.js'`, []string{"import ./side.js 1"}},
		{"export star and named", "export * from './s.js';\nexport { x } from './x.js';\nexport * as y from './y.js'",
			[]string{"import ./s.js 1", "import ./x.js 2", "import ./y.js 3"}},
		{"plain export is no reference", "export const from = 'x';\nexport { from };", nil},
		{"import attributes", `import data from './d.json' with { type: 'json' };`, []string{"import ./d.json 1"}},
		{"dynamic import", `const m = await import('./dyn.js');`, []string{"import ./dyn.js 1"}},
		{"dynamic import with options", `import("./dyn.js", { with: {} })`, []string{"import ./dyn.js 1"}},
		{"dynamic import of template or expression", "import(`./t.js`); import('./a' + b); import(name)", nil},
		{"import.meta is no import", `const u = import.meta.url;`, nil},
		{"require", `const h = require("./h.js");`, []string{"require ./h.js 1"}},
		{"require of expression", `require('./h' + x); require(x)`, nil},
		{"open, binary", "const a = open('./a.csv');\nconst b = open('b.bin', 'b');",
			[]string{"open ./a.csv 1", "open b.bin 2"}},
		{"open of import.meta.resolve", `open(import.meta.resolve('./r.txt'))`, []string{"open ./r.txt 1"}},
		{"member calls are not ours", `fs.open('./x'); a.require('./y'); x.import('./z')`, nil},
		{"line comment", "// import a from './a.js'\nimport b from './b.js'", []string{"import ./b.js 2"}},
		{"block comment", "/* import a from './a.js'\n require('./c.js') */ import b from './b.js'", []string{"import ./b.js 2"}},
		{"string", `const s = "import a from './a.js'"; const t = 'require("./r.js")';`, nil},
		{"template", "const t = `import('./a.js') ${x} open('./b')`;", nil},
		{"code inside template substitution", "const t = `a ${open('./in.txt')} b`;", []string{"open ./in.txt 1"}},
		{"nested template", "const t = `a ${`b ${'c'} open('./no')`} import './no.js'`;\nimport './yes.js'",
			[]string{"import ./yes.js 2"}},
		{"object in template substitution", "const t = `${ {a: 1}.a } require('./no.js')`; require('./yes.js')",
			[]string{"require ./yes.js 1"}},
		{"regexp", `const re = /import '.\/a.js'/g; require('./r.js')`, []string{"require ./r.js 1"}},
		{"regexp with slash in class", `const re = /[/"]/; require('./r.js')`, []string{"require ./r.js 1"}},
		{"regexp after return", "function f() { return /'/.test(x) }\nrequire('./r.js')", []string{"require ./r.js 2"}},
		{"division", "const x = a / b / c; require('./r.js')", []string{"require ./r.js 1"}},
		{"division after paren", "const x = (a) / 2; const y = open('./o.txt') / 1", []string{"open ./o.txt 1"}},
		{"escapes", `import a from '.\/a\u002ejs'; import b from "./\x62.js"`,
			[]string{"import ./a.js 1", "import ./b.js 1"}},
		{"line continuation in string", "const s = 'a\\\nb'; import './c.js'", []string{"import ./c.js 2"}},
		{"hashbang", "#!/usr/bin/env k6\nimport './a.js'", []string{"import ./a.js 2"}},
		{"unterminated string ends at line end", "const s = 'abc\nimport './a.js'", []string{"import ./a.js 2"}},
		{"unterminated comment", "import './a.js' /* import './b.js'", []string{"import ./a.js 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, r := range findRefs([]byte(tt.src)) {
				got = append(got, fmt.Sprintf("%s %s %d", r.kind, r.spec, r.line))
				if lit := tt.src[r.start:r.end]; len(lit) < 2 || lit[0] != lit[len(lit)-1] {
					t.Errorf("ref %q: offsets give %q, not a quoted literal", r.spec, lit)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("findRefs(%q)\n got %q\nwant %q", tt.src, got, tt.want)
			}
		})
	}
}
