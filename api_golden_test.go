package licentric_test

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateAPI = flag.Bool("update-api", false, "rewrite api/licentric.txt from the source")

// The exported API of every public package, one declaration a line (as
// Go's own api/*.txt), is api/licentric.txt: every change to it shows as a
// diff of that file. After a deliberate change:
//
//	go test -run TestAPIGolden -update-api .
func TestAPIGolden(t *testing.T) {
	got := apiOf(t, ".")
	const golden = "api/licentric.txt"
	if *updateAPI {
		require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "no %s: run go test -run TestAPIGolden -update-api .", golden)
	assert.Equal(t, string(want), got, "the exported API changed: if on purpose, run go test -run TestAPIGolden -update-api . and record it in CHANGELOG.md")
}

// apiOf lists the exported API of the public packages under root (not
// internal/, cmd/, examples/ or testdata), sorted.
func apiOf(t *testing.T, root string) string {
	t.Helper()
	const module = "github.com/licentric/licentric-go"
	var lines []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		base := d.Name()
		if path != root && (strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") ||
			base == "internal" || base == "cmd" || base == "examples" || base == "testdata" || base == "docs" || base == "api") {
			return filepath.SkipDir
		}
		ip := module
		if path != root {
			ip += "/" + filepath.ToSlash(path)
		}
		names, err := filepath.Glob(filepath.Join(path, "*.go"))
		if err != nil {
			return err
		}
		fset := token.NewFileSet()
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			if f.Name.Name == "main" {
				continue
			}
			lines = append(lines, declLines(fset, "pkg "+ip+", ", f)...)
		}
		return nil
	})
	require.NoError(t, err)
	slices.Sort(lines)
	return strings.Join(slices.Compact(lines), "\n") + "\n"
}

func declLines(fset *token.FileSet, prefix string, f *ast.File) []string {
	str := func(n any) string {
		var b bytes.Buffer
		_ = printer.Fprint(&b, fset, n)
		return strings.Join(strings.Fields(b.String()), " ")
	}
	var out []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			sig := strings.TrimPrefix(str(d.Type), "func")
			if d.Recv == nil {
				out = append(out, prefix+"func "+d.Name.Name+sig)
				continue
			}
			recv := d.Recv.List[0].Type
			base := recv
			if s, ok := base.(*ast.StarExpr); ok {
				base = s.X
			}
			if ix, ok := base.(*ast.IndexExpr); ok {
				base = ix.X
			}
			if ix, ok := base.(*ast.IndexListExpr); ok {
				base = ix.X
			}
			if id, ok := base.(*ast.Ident); !ok || !id.IsExported() {
				continue
			}
			out = append(out, prefix+"method ("+str(recv)+") "+d.Name.Name+sig)
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if !s.Name.IsExported() {
						continue
					}
					name := s.Name.Name
					if s.TypeParams != nil {
						name += str(s.TypeParams)
					}
					if s.Assign.IsValid() {
						out = append(out, prefix+"type "+name+" = "+str(s.Type))
						continue
					}
					switch ty := s.Type.(type) {
					case *ast.StructType:
						out = append(out, prefix+"type "+name+" struct")
						for _, fl := range ty.Fields.List {
							if len(fl.Names) == 0 {
								out = append(out, prefix+"type "+name+" struct, embedded "+str(fl.Type))
							}
							for _, n := range fl.Names {
								if n.IsExported() {
									out = append(out, prefix+"type "+name+" struct, "+n.Name+" "+str(fl.Type))
								}
							}
						}
					case *ast.InterfaceType:
						out = append(out, prefix+"type "+name+" interface")
						for _, m := range ty.Methods.List {
							for _, n := range m.Names {
								out = append(out, prefix+"type "+name+" interface, "+n.Name+strings.TrimPrefix(str(m.Type), "func"))
							}
							if len(m.Names) == 0 {
								out = append(out, prefix+"type "+name+" interface, "+str(m.Type))
							}
						}
					default:
						out = append(out, prefix+"type "+name+" "+str(s.Type))
					}
				case *ast.ValueSpec:
					kind := "var"
					if d.Tok == token.CONST {
						kind = "const"
					}
					for i, n := range s.Names {
						if !n.IsExported() {
							continue
						}
						line := prefix + kind + " " + n.Name
						if s.Type != nil {
							line += " " + str(s.Type)
						}
						if kind == "const" && i < len(s.Values) {
							line += " = " + str(s.Values[i])
						}
						out = append(out, line)
					}
				}
			}
		}
	}
	return out
}

// The golden file lists this very function's package, so a broken walk
// cannot pass for an empty API.
func TestAPIGoldenSeesThePackages(t *testing.T) {
	api := apiOf(t, ".")
	for _, want := range []string{
		"pkg github.com/licentric/licentric-go, func NewClient(",
		"pkg github.com/licentric/licentric-go/offline, ",
		"pkg github.com/licentric/licentric-go/licentrictest, func NewServer(",
		`pkg github.com/licentric/licentric-go, const CodeValid Code = "VALID"`,
	} {
		assert.Contains(t, api, want, fmt.Sprintf("%d lines", strings.Count(api, "\n")))
	}
	assert.NotContains(t, api, "/internal/")
	// No exported name is (or shows its value only as) one of an internal
	// package: go doc could not show it.
	internal, err := os.ReadDir("internal")
	require.NoError(t, err)
	for _, d := range internal {
		assert.NotContains(t, api, " "+d.Name()+".", "the API names internal package %s", d.Name())
		assert.NotContains(t, api, "("+d.Name()+".", "the API names internal package %s", d.Name())
		assert.NotContains(t, api, "*"+d.Name()+".", "the API names internal package %s", d.Name())
	}
}

// Before 1.0 nothing is deprecated: a name that goes is removed (and
// listed in CHANGELOG.md).
func TestNothingDeprecated(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		assert.NotContains(t, string(b), "Deprecated:", path)
		return nil
	})
	require.NoError(t, err)
}
