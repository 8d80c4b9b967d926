package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"go/types"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/offline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// generatedKeys checks that src is a gofmt-clean Go file of package pkg
// that type-checks on its own, and returns the {KeyID, PublicKey} pairs of
// variable name.
func generatedKeys(t *testing.T, src []byte, pkg, name string) []pinnedKey {
	t.Helper()
	formatted, err := format.Source(src)
	require.NoError(t, err)
	assert.Equal(t, string(formatted), string(src), "the file is not gofmt-clean")
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "signing_key.go", src, parser.ParseComments)
	require.NoError(t, err)
	assert.Equal(t, pkg, file.Name.Name)
	assert.Empty(t, file.Imports)
	assert.True(t, ast.IsGenerated(file), "the file is not marked as generated")
	// It compiles: go/types checks it as a whole package (it imports nothing).
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	_, err = (&types.Config{}).Check(pkg, fset, []*ast.File{file}, info)
	require.NoError(t, err)

	var keys []pinnedKey
	found := false
	ast.Inspect(file, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != name {
			return true
		}
		found = true
		require.Len(t, vs.Values, 1)
		lit := vs.Values[0].(*ast.CompositeLit)
		typ, ok := lit.Type.(*ast.ArrayType)
		require.True(t, ok, "the keys are not a slice")
		assert.Equal(t, "string", types.ExprString(typ.Elt), "the keys are not a []string")
		for _, elt := range lit.Elts {
			s, err := strconv.Unquote(elt.(*ast.BasicLit).Value)
			require.NoError(t, err)
			pub, err := offline.ParsePublicKey(s)
			require.NoError(t, err)
			keys = append(keys, pinnedKey{KeyID: offline.KeyID(pub), PublicKey: s})
			// The key's id is written beside it, as a file's kid names it.
			assert.Contains(t, string(src), s+`", // key ID `+offline.KeyID(pub))
		}
		return false
	})
	require.True(t, found, "no variable %s", name)
	// Every key parses as offline.ParsePublicKey takes it and its id is right.
	for _, k := range keys {
		pub, err := offline.ParsePublicKey(k.PublicKey)
		require.NoError(t, err)
		assert.Equal(t, offline.KeyID(pub), k.KeyID)
	}
	return keys
}

func TestPinKey(t *testing.T) {
	f := newFixture(t)
	f.onlineEnv()
	out := filepath.Join(f.dir, "signing_key.go")
	code, stdout, stderr := f.run(t, "pin-key", "--out", out, "--package", "licensing")
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Empty(t, stderr)
	pub := f.srv.PublicKey()
	assert.Contains(t, stdout, "Wrote "+out+" (package licensing, var licentricSigningKeys, mode 0644) pinning 1 key(s)")
	assert.Contains(t, stdout, offline.KeyID(pub))
	assert.Equal(t, 1, f.srv.CountRequests(http.MethodGet, "/keys/signing"))

	st, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(sourcePerm), st.Mode().Perm(), "source code, not a secret: 0644")
	src, err := os.ReadFile(out)
	require.NoError(t, err)
	keys := generatedKeys(t, src, "licensing", "licentricSigningKeys")
	assert.Equal(t, []pinnedKey{{KeyID: offline.KeyID(pub), PublicKey: offline.MarshalPublicKey(pub)}}, keys)
	assert.Contains(t, string(src), "licentric.WithLicenseFile(path, licentricSigningKeys...)")
	assert.NotContains(t, string(src), f.srv.TestAPIKey())

	// After a rotation: the new key first, the old one kept with --public-key,
	// a key given twice pinned once; JSON output; the file is replaced.
	old := pub
	newPub := f.srv.RotateSigningKey()
	code, stdout, stderr = f.run(t, "pin-key", "--out", out, "--var", "trustedKeys",
		"--public-key", offline.MarshalPublicKey(old), "--public-key", offline.MarshalPublicKey(newPub), "--json")
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	var doc struct {
		Path, Package, Var string
		Keys               []pinnedKey
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	want := []pinnedKey{
		{KeyID: offline.KeyID(newPub), PublicKey: offline.MarshalPublicKey(newPub)},
		{KeyID: offline.KeyID(old), PublicKey: offline.MarshalPublicKey(old)},
	}
	assert.Equal(t, out, doc.Path)
	assert.Equal(t, "main", doc.Package)
	assert.Equal(t, "trustedKeys", doc.Var)
	assert.Equal(t, want, doc.Keys)
	src, err = os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, want, generatedKeys(t, src, "main", "trustedKeys"))

	// Without an API key, from the given keys only, to stdout; no request.
	delete(f.env, "LICENTRIC_API_KEY")
	f.srv.ResetRequests()
	der := "@" + filepath.Join(f.dir, "old.key")
	require.NoError(t, os.WriteFile(der[1:], []byte(offline.MarshalPublicKey(old)+"\n"), 0o600))
	code, stdout, stderr = f.run(t, "pin-key", "--out", "-", "--public-key", der)
	require.Equal(t, exitOK, code, "stderr %q", stderr)
	assert.Equal(t, want[1:], generatedKeys(t, []byte(stdout), "main", "licentricSigningKeys"))
	assert.Empty(t, f.srv.Requests())
}

func TestPinKeyFailures(t *testing.T) {
	f := newFixture(t)
	f.onlineEnv()
	some, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	key := offline.MarshalPublicKey(some)
	out := filepath.Join(f.dir, "signing_key.go")
	prev := []byte("package main\n")
	require.NoError(t, os.WriteFile(out, prev, 0o644))
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		code int
		msg  string
	}{
		"keyword package":   {[]string{"--package", "func"}, nil, exitUsage, `--package "func" is not a Go package name`},
		"blank package":     {[]string{"--package", "_"}, nil, exitUsage, "not a Go package name"},
		"bad var":           {[]string{"--var", "1keys"}, nil, exitUsage, `--var "1keys" is not a Go identifier`},
		"empty out":         {[]string{"--out", ""}, nil, exitUsage, "--out must not be empty"},
		"json to stdout":    {[]string{"--out", "-", "--json"}, nil, exitUsage, "both write to stdout"},
		"no key source":     {nil, map[string]string{"LICENTRIC_API_KEY": ""}, exitUsage, "no API key to fetch the signing key with"},
		"bad extra key":     {[]string{"--public-key", "nonsense"}, nil, exitUsage, "not an Ed25519 public key"},
		"positional":        {[]string{"extra"}, nil, exitUsage, `unexpected argument "extra"`},
		"unknown API key":   {nil, map[string]string{"LICENTRIC_API_KEY": "lk_test_unknownkey0123456789"}, exitFailed, "UNAUTHORIZED"},
		"missing directory": {[]string{"--out", filepath.Join(f.dir, "none", "k.go"), "--public-key", key}, map[string]string{"LICENTRIC_API_KEY": ""}, exitFailed, "writing " + filepath.Join(f.dir, "none", "k.go") + " failed"},
	} {
		saved := map[string]string{}
		for k, v := range tc.env {
			saved[k], f.env[k] = f.env[k], v
		}
		args := append([]string{"pin-key", "--out", out}, tc.args...)
		code, stdout, stderr := f.run(t, args...)
		for k, v := range saved {
			f.env[k] = v
		}
		assert.Equal(t, tc.code, code, "%s: stderr %q", name, stderr)
		assert.Contains(t, stderr, tc.msg, name)
		if slices.Contains(args, "--json") {
			assert.Contains(t, stdout, `"exitCode": 2`, name)
		} else {
			assert.Empty(t, stdout, name)
		}
		assert.NotContains(t, stderr, "lk_test_unknownkey", name)
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(prev, b), "%s: the existing file was replaced", name)
	}
}

func TestSigningKeySourceIsStable(t *testing.T) {
	// The exact layout users commit: a golden comparison of one key.
	src, err := signingKeySource("main", "licentricSigningKeys", []pinnedKey{{KeyID: "0123456789abcdef", PublicKey: "PUBKEY"}})
	require.NoError(t, err)
	assert.Contains(t, string(src), "// Code generated by \"licentric pin-key\"; DO NOT EDIT.\n\npackage main\n")
	assert.Contains(t, string(src), "var licentricSigningKeys = []string{\n\t\"PUBKEY\", // key ID 0123456789abcdef\n}\n")
}

// The generated variable is what the Guard takes (this compiles), and its
// keys verify the service's files.
func TestPinKeySnippetWorks(t *testing.T) {
	f := newFixture(t)
	pub := f.srv.PublicKey()
	licentricSigningKeys := []string{offline.MarshalPublicKey(pub)}
	_ = licentric.WithLicenseFile(filepath.Join(t.TempDir(), "license.lic"), licentricSigningKeys...)

	var opts []offline.Option
	for _, k := range licentricSigningKeys {
		pub, err := offline.ParsePublicKey(k)
		require.NoError(t, err)
		opts = append(opts, offline.WithPublicKey(pub))
	}
	v, err := offline.NewVerifier(append(opts, offline.WithFingerprint(testFP), offline.WithEnvironment("test"),
		offline.WithClockSource(f.srv.Clock()))...)
	require.NoError(t, err)
	_, err = v.VerifyFile(f.file(t, testFP, time.Hour))
	require.NoError(t, err)
}
