package archtest

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// outsideDocument matches text that points a reader at a document that is not in front of
// them: a design note by file name or numbered section. A client sees Coffer's messages far from
// this repository, so they must speak of the product and the operation instead.
var outsideDocument = regexp.MustCompile(`[A-Za-z0-9_-]+\.md\b|§`)

// TestErrorMessagesCiteNoDocument walks every answer the data plane, ARM and the identity
// endpoints are pinned to (the golden files) and every string literal in the code that
// builds client-visible answers, and fails on a message citing a document.
func TestErrorMessagesCiteNoDocument(t *testing.T) {
	root := filepath.Join("..")
	var goldens int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".golden.json") {
			return err
		}
		goldens++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		walkStrings(v, func(s string) {
			if m := outsideDocument.FindString(s); m != "" {
				t.Errorf("%s: answer cites %q: %s", path, m, s)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if goldens < 20 {
		t.Fatalf("found only %d golden files under %s; the walk is looking in the wrong place", goldens, root)
	}

	// The packages whose strings reach a client: the data plane, ARM, the identity
	// endpoints, the domain's error details and the server's own answers.
	var literals int
	for _, pkg := range []string{"azapi", "arm", "identity", "vault", "server", "authz", "keyops", "certs"} {
		files, err := filepath.Glob(filepath.Join(root, pkg, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				literals++
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					return true
				}
				if m := outsideDocument.FindString(s); m != "" {
					t.Errorf("%s: string literal cites %q: %s", f, m, s)
				}
				return true
			})
		}
	}
	if literals < 500 {
		t.Fatalf("saw only %d string literals; the walk is looking in the wrong place", literals)
	}
}

func walkStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case []any:
		for _, e := range x {
			walkStrings(e, f)
		}
	case map[string]any:
		for _, e := range x {
			walkStrings(e, f)
		}
	}
}

// TestCommentsCiteOnlyTheRepository: every document a source file mentions (a name ending
// in .md) is in this repository, and no comment points at a numbered section (§) of
// something else. Readers of the code have the repository, not its authors' notes.
func TestCommentsCiteOnlyTheRepository(t *testing.T) {
	repo := filepath.Join("..", "..")
	var docs []string // slash paths of the repository's own .md files
	var sources []string
	err := filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "node_modules" || n == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(repo, path)
		switch filepath.Ext(path) {
		case ".md":
			docs = append(docs, filepath.ToSlash(rel))
		case ".go", ".sh", ".py", ".mjs", ".js":
			if !strings.HasPrefix(filepath.ToSlash(rel), "internal/archtest/") { // the rules name what they forbid
				sources = append(sources, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	inRepo := func(name string) bool {
		for _, d := range docs {
			if d == name || strings.HasSuffix(d, "/"+name) {
				return true
			}
		}
		return false
	}
	mention := regexp.MustCompile(`[A-Za-z0-9_./-]+\.md\b`)
	for _, p := range sources {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range mention.FindAllString(line, -1) {
				if !inRepo(strings.TrimPrefix(m, "./")) {
					t.Errorf("%s:%d cites %s, which is not in the repository", p, i+1, m)
				}
			}
			if strings.Contains(line, "§") {
				t.Errorf("%s:%d cites a numbered section (§) of a document", p, i+1)
			}
		}
	}
	if len(sources) < 200 || len(docs) < 3 {
		t.Fatalf("read %d sources and %d documents; the walk is looking in the wrong place", len(sources), len(docs))
	}
}
