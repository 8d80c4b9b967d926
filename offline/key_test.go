package offline

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"
)

func TestParsePublicKey(t *testing.T) {
	pub := testSigner(t, testSeed).PublicKey()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	forms := map[string]string{
		"base64":            base64.StdEncoding.EncodeToString(pub),
		"base64 whitespace": "\n  " + MarshalPublicKey(pub) + "\r\n",
		"hex":               hex.EncodeToString(pub),
		"HEX":               strings.ToUpper(hex.EncodeToString(pub)),
		"hex whitespace":    "\t" + hex.EncodeToString(pub) + "\n",
		"PEM":               pemText,
		"PEM CRLF indented": "  " + strings.ReplaceAll(pemText, "\n", "\r\n"),
	}
	for name, text := range forms {
		got, err := ParsePublicKey(text)
		if err != nil || !got.Equal(pub) {
			t.Errorf("%s: ParsePublicKey = %x, %v", name, got, err)
		}
	}
	// The PKIX reader agrees with crypto/x509 on a real key.
	if k, err := x509.ParsePKIXPublicKey(der); err != nil || !k.(ed25519.PublicKey).Equal(pub) {
		t.Fatalf("x509 disagrees: %v", err)
	}

	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), zeroReader{})
	ecDER, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemOf := func(typ string, b []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}))
	}
	withParams := append([]byte{}, der...)
	bad := map[string]string{
		"empty":                "",
		"spaces":               "   ",
		"garbage":              "not a key",
		"base64 of 31 bytes":   base64.StdEncoding.EncodeToString(pub[:31]),
		"base64 of 33 bytes":   base64.StdEncoding.EncodeToString(append(append([]byte{}, pub...), 0)),
		"base64url":            base64.URLEncoding.EncodeToString(append([]byte{0xfb, 0xff}, pub[:30]...)),
		"63 hex":               hex.EncodeToString(pub)[:63],
		"65 hex":               hex.EncodeToString(pub) + "0",
		"hex with g":           "g" + hex.EncodeToString(pub)[1:],
		"PEM private key":      pemOf("PRIVATE KEY", der),
		"PEM ECDSA key":        pemOf("PUBLIC KEY", ecDER),
		"PEM bad DER":          pemOf("PUBLIC KEY", []byte{0x30, 0x03, 0x01}),
		"PEM DER trailing":     pemOf("PUBLIC KEY", append(append([]byte{}, der...), 0)),
		"PEM truncated key":    pemOf("PUBLIC KEY", der[:len(der)-1]),
		"PEM unterminated":     strings.TrimSuffix(strings.TrimSpace(pemText), "-----END PUBLIC KEY-----"),
		"PEM trailing garbage": pemText + "extra",
		"two PEM blocks":       pemText + pemText,
		"PEM wrong OID":        pemOf("PUBLIC KEY", mutate(withParams, 8, 0x71)), // 1.3.101.113 is Ed448
	}
	for name, text := range bad {
		if got, err := ParsePublicKey(text); err == nil || got != nil {
			t.Errorf("%s: ParsePublicKey = %x, nil error", name, got)
		} else if strings.Contains(err.Error(), text) && text != "" && strings.TrimSpace(text) != "" {
			t.Errorf("%s: error repeats the input: %v", name, err)
		}
	}
}

func mutate(b []byte, i int, v byte) []byte {
	c := append([]byte{}, b...)
	c[i] = v
	return c
}

// zeroReader is a deterministic randomness source for key generation in
// tests.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 1
	}
	return len(p), nil
}
