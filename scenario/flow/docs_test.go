package flow

import (
	"os"
	"regexp"
	"testing"
)

// yamlBlock is a fenced YAML block of a Markdown file.
var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestDocsExamplesParse: every whole flow the docs show (a YAML block that IsFlow) parses. Blocks
// that are fragments of a flow, without its kind, are left out.
func TestDocsExamplesParse(t *testing.T) {
	for _, doc := range []string{"../../README.md", "../../docs/flow.md"} {
		src, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		whole := 0
		for _, m := range yamlBlock.FindAllSubmatch(src, -1) {
			if !IsFlow(m[1]) {
				continue
			}
			whole++
			if _, err := Parse(doc, m[1]); err != nil {
				t.Errorf("%s: a flow it shows does not parse:\n%v\n%s", doc, err, m[1])
			}
		}
		if whole == 0 {
			t.Errorf("%s shows no whole flow", doc)
		}
	}
}
