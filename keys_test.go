package licentric_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/internal/testkit"
	"github.com/licentric/licentric-go/licentrictest"
)

func TestSigningKeyMatchesServer(t *testing.T) {
	srv := mgmtServer(t)
	// GET /keys/signing needs no scope: any valid key reads it.
	c := mgmtClient(t, srv, srv.NewAPIKey(licentrictest.EnvLive, "licenses:read"))
	k, err := c.Keys.GetSigningKey(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(srv.PublicKey())
	if !k.PublicKey.Equal(srv.PublicKey()) || k.Algorithm != "ed25519" || k.KeyID != hex.EncodeToString(sum[:8]) {
		t.Errorf("got %+v, want the server's key", k)
	}
	rotated := srv.RotateSigningKey()
	if k, err := c.Keys.GetSigningKey(t.Context()); err != nil || !k.PublicKey.Equal(rotated) {
		t.Errorf("after rotation: %v, %v", k, err)
	}
}

func TestSigningKeyAnswerChecked(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pub)
	kid := hex.EncodeToString(sum[:8])
	b64 := base64.StdEncoding.EncodeToString(pub)
	cases := map[string]string{
		"ok":          fmt.Sprintf(`{"keyId":%q,"algorithm":"ed25519","publicKey":%q}`, kid, b64),
		"wrong kid":   fmt.Sprintf(`{"keyId":"0000000000000000","algorithm":"ed25519","publicKey":%q}`, b64),
		"short key":   fmt.Sprintf(`{"keyId":%q,"algorithm":"ed25519","publicKey":%q}`, kid, base64.StdEncoding.EncodeToString(pub[:31])),
		"not base64":  fmt.Sprintf(`{"keyId":%q,"algorithm":"ed25519","publicKey":"***"}`, kid),
		"other alg":   fmt.Sprintf(`{"keyId":%q,"algorithm":"rsa","publicKey":%q}`, kid, b64),
		"missing all": `{}`,
	}
	for name, data := range cases {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"data":`+data+`}`)
		}))
		c, err := licentric.NewClient(licentric.WithBaseURL(hs.URL), licentric.WithAPIKey("lk_live_abc"), licentric.WithRetry(testkit.Retries(2)))
		if err != nil {
			t.Fatal(err)
		}
		k, err := c.Keys.GetSigningKey(t.Context())
		hs.Close()
		if name == "ok" {
			if err != nil || !k.PublicKey.Equal(pub) {
				t.Errorf("ok: %v", err)
			}
			continue
		}
		if !errors.Is(err, licentric.ErrMalformedResponse) || k != nil {
			t.Errorf("%s: %v, %v", name, k, err)
		}
	}
}
