package airlock_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryErrorHasAKey: every domain error the code makes names its
// message by a key of the message files; no error carries words of its
// own, which would say something else than the pages (the keys themselves
// are checked in package i18n).
func TestEveryErrorHasAKey(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	found := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && path != ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		inAirlock := f.Name.Name == "airlock"
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok || !isErrorType(lit.Type, inAirlock) {
				return true
			}
			found++
			for _, el := range lit.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if id, ok := kv.Key.(*ast.Ident); ok && id.Name == "Key" {
						if b, ok := kv.Value.(*ast.BasicLit); !ok || b.Value != `""` {
							return true
						}
					}
				}
			}
			t.Errorf("%s: an error without a message key", fset.Position(lit.Pos()))
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 50 {
		t.Fatalf("only %d errors found: the walk missed the code", found)
	}
}

// isErrorType reports whether a composite literal's type is airlock.Error.
func isErrorType(e ast.Expr, inAirlock bool) bool {
	switch x := e.(type) {
	case *ast.SelectorExpr:
		pkg, ok := x.X.(*ast.Ident)
		return ok && pkg.Name == "airlock" && x.Sel.Name == "Error"
	case *ast.Ident:
		return inAirlock && x.Name == "Error"
	}
	return false
}
