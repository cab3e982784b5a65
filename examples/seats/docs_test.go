// Package seats_test checks docs/build-your-own.md against the example's
// sources, so the page cannot drift from code that builds and is tested.
package seats_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// root is the repository, two levels up from this module.
const root = "../.."

// quoteRE matches a quoted block in the page: a marker comment naming a
// file (from the repository root) and a region, then a fenced Go block.
var quoteRE = regexp.MustCompile("(?s)<!-- quote: (\\S+) (\\S+) -->\n```go\n(.*?)```\n")

// region is the text between "// doc:begin name" and "// doc:end name" in
// file: blank lines at either end dropped, the common leading tabs removed.
func region(t *testing.T, file, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, file))
	require.NoError(t, err)
	lines := strings.Split(string(b), "\n")
	begin, end := -1, -1
	for i, l := range lines {
		switch strings.TrimSpace(l) {
		case "// doc:begin " + name:
			require.Equal(t, -1, begin, "%s: region %q begins twice", file, name)
			begin = i
		case "// doc:end " + name:
			end = i
		}
	}
	require.True(t, begin >= 0 && end > begin, "%s: no region %q", file, name)
	r := lines[begin+1 : end]
	for len(r) > 0 && strings.TrimSpace(r[0]) == "" {
		r = r[1:]
	}
	for len(r) > 0 && strings.TrimSpace(r[len(r)-1]) == "" {
		r = r[:len(r)-1]
	}
	indent := -1
	for _, l := range r {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, "\t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range r {
		if len(l) >= indent {
			r[i] = l[max(indent, 0):]
		}
	}
	return strings.Join(r, "\n") + "\n"
}

// TestTheGuideQuotesTheExample: every Go block of docs/build-your-own.md
// is the region of the example's source it names, byte for byte, and
// every region the example marks is quoted.
func TestTheGuideQuotesTheExample(t *testing.T) {
	page, err := os.ReadFile(filepath.Join(root, "docs/build-your-own.md"))
	require.NoError(t, err)
	quotes := quoteRE.FindAllStringSubmatch(string(page), -1)
	require.NotEmpty(t, quotes)
	quoted := map[string]bool{}
	for _, q := range quotes {
		file, name, block := q[1], q[2], q[3]
		assert.Equal(t, region(t, file, name), block, "docs/build-your-own.md quotes %s %q: it differs from the source", file, name)
		quoted[file+" "+name] = true
	}
	assert.Equal(t, len(quotes), strings.Count(string(page), "<!-- quote:"), "a quote marker not followed by a ```go block")

	marked := 0
	err = filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range regexp.MustCompile(`(?m)^\s*// doc:begin (\S+)$`).FindAllStringSubmatch(string(b), -1) {
			marked++
			assert.True(t, quoted["examples/seats/"+path+" "+m[1]], "region %q of %s is not quoted in docs/build-your-own.md", m[1], path)
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, len(quotes), marked)
}

// TestTheSeatIsRegisteredInThreeLines measures what adding the aggregate
// costs outside its own package: in the program that hosts it, the lines
// that name package seat are the three registrations (aggregate,
// projection, routes); the kit and the four services never import it.
func TestTheSeatIsRegisteredInThreeLines(t *testing.T) {
	uses := regexp.MustCompile(`\bseat\.`)
	var naming []string
	files, err := filepath.Glob("cmd/seats/*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, l := range strings.Split(string(b), "\n") {
			if uses.MatchString(l) && !strings.HasPrefix(strings.TrimSpace(l), "//") {
				naming = append(naming, strings.TrimSpace(l))
			}
		}
	}
	assert.Equal(t, []string{
		"reg.Add(aggregate.Of(seat.Definition())) // the aggregate: one line",
		"seat.Seats.Projection(), // the projection: one line",
		"seat.Mount(api, // the routes: one line",
	}, naming)

	for _, dir := range []string{"shared", "prism-api", "domain-service", "readmodel-updater", "stream-service"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			assert.NotContains(t, string(b), "prism/examples/seats", "%s imports the example", path)
			return nil
		})
		require.NoError(t, err)
	}
}
