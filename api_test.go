package licentric_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
)

// TestPublicAPIHasNoInternalTypes: no exported declaration of the root
// package is an alias of (or names) a type of an internal package, and the
// services are exported fields of Client, so go doc shows them all.
func TestPublicAPIHasNoInternalTypes(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		f, err := parser.ParseFile(fset, name, src, 0)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					ts, ok := spec.(*ast.TypeSpec)
					if !ok || !ts.Name.IsExported() {
						continue
					}
					assert.NotContains(t, exprText(src, fset, ts.Type), "wire.", "%s: exported type %s mentions internal/wire", name, ts.Name.Name)
				}
			case *ast.FuncDecl:
				if !d.Name.IsExported() || (d.Recv != nil && !receiverExported(d.Recv)) {
					continue
				}
				assert.NotContains(t, exprText(src, fset, d.Type), "wire.", "%s: exported func %s mentions internal/wire", name, d.Name.Name)
			}
		}
	}
	ct := reflect.TypeOf(licentric.Client{})
	for _, svc := range []string{"Products", "Policies", "Entitlements", "Licenses", "Machines", "Webhooks", "Keys", "Analytics", "Agents"} {
		f, ok := ct.FieldByName(svc)
		if assert.True(t, ok, "Client has no field %s", svc) {
			assert.True(t, f.IsExported() && !f.Anonymous, "Client.%s is not a plain exported field", svc)
		}
	}
}

func receiverExported(fl *ast.FieldList) bool {
	if len(fl.List) == 0 {
		return false
	}
	typ := fl.List[0].Type
	if s, ok := typ.(*ast.StarExpr); ok {
		typ = s.X
	}
	if ix, ok := typ.(*ast.IndexExpr); ok {
		typ = ix.X
	}
	id, ok := typ.(*ast.Ident)
	return ok && id.IsExported()
}

func exprText(src []byte, fset *token.FileSet, n ast.Node) string {
	return string(src[fset.Position(n.Pos()).Offset:fset.Position(n.End()).Offset])
}
