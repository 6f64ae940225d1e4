package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoValuesInContexts keeps access decisions and actors out of context.Context: a
// request's decision and who acts are explicit values handed down (vault.Request), so no
// call deep in the domain inherits a decision it cannot see. A context carries
// cancellation and deadlines only; anything placed on one with context.WithValue (or read
// back with Value) in Coffer's own code fails this test.
func TestNoValuesInContexts(t *testing.T) {
	var files int
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "context" && sel.Sel.Name == "WithValue" {
				t.Errorf("%s: context.WithValue: hand the value down explicitly instead", path)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read only %d files; the walk is looking in the wrong place", files)
	}
}
