package webhook

import (
	"errors"
	"strings"
	"testing"
)

const (
	testSecret = "whsec_test_0123456789abcdef"
	oldSecret  = "whsec_old_secret"
	newSecret  = "whsec_new_secret"
)

var testBody = []byte(`{"id":"evt_1","type":"license.created","createdAt":"2026-01-15T10:30:00.000Z","data":{"id":"lic_1","key":"ABCD-EFGH-IJKL","status":"active"}}`)

// RFC 4231 test case 2: an independent check that Sign is HMAC-SHA256 in
// lowercase hex.
func TestSignRFC4231(t *testing.T) {
	got := Sign([]byte("what do ya want for nothing?"), "Jefe")
	want := "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if err := Verify([]byte("what do ya want for nothing?"), want, "Jefe"); err != nil {
		t.Fatalf("Verify of the RFC vector: %v", err)
	}
}

func TestVerifyAccepts(t *testing.T) {
	if err := Verify(testBody, Sign(testBody, testSecret), testSecret); err != nil {
		t.Fatalf("Verify of a good signature: %v", err)
	}
}

func TestVerifyRotation(t *testing.T) {
	for _, signer := range []string{oldSecret, newSecret} {
		sig := Sign(testBody, signer)
		if err := Verify(testBody, sig, oldSecret, newSecret); err != nil {
			t.Errorf("signed with %q, secrets (old, new): %v", signer, err)
		}
		if err := Verify(testBody, sig, newSecret, oldSecret); err != nil {
			t.Errorf("signed with %q, secrets (new, old): %v", signer, err)
		}
	}
	// After the rotation ends, the old secret no longer verifies.
	if err := Verify(testBody, Sign(testBody, oldSecret), newSecret); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("old signature against the new secret only: %v, want ErrSignatureMismatch", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	good := Sign(testBody, testSecret)
	tampered := append([]byte(nil), testBody...)
	tampered[len(tampered)-3] = 'X' // "active" -> "activX"
	cases := []struct {
		name string
		body []byte
		sig  string
		want error
	}{
		{"forged", testBody, strings.Repeat("ab", 32), ErrSignatureMismatch},
		{"other secret", testBody, Sign(testBody, "whsec_attacker"), ErrSignatureMismatch},
		{"last bit flipped", testBody, good[:63] + string(good[63]^1), ErrSignatureMismatch},
		{"first bit flipped", testBody, string(good[0]^1) + good[1:], ErrSignatureMismatch},
		{"empty", testBody, "", ErrMissingSignature},
		{"body changed after signing", tampered, good, ErrSignatureMismatch},
		{"body truncated", testBody[:len(testBody)-1], good, ErrSignatureMismatch},
		{"uppercase hex", testBody, strings.ToUpper(good), ErrMalformedSignature},
		{"one uppercase digit", testBody, upperFirstLetter(good), ErrMalformedSignature},
		{"sha256= prefix", testBody, "sha256=" + good, ErrMalformedSignature},
		{"SHA256= prefix", testBody, "SHA256=" + good, ErrMalformedSignature},
		{"odd length", testBody, good[:63], ErrMalformedSignature},
		{"too short", testBody, good[:62], ErrMalformedSignature},
		{"too long", testBody, good + "00", ErrMalformedSignature},
		{"non-hex", testBody, "g" + good[1:], ErrMalformedSignature},
		{"trailing space", testBody, good[:63] + " ", ErrMalformedSignature},
		{"base64", testBody, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=", ErrMalformedSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.body, tc.sig, testSecret)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			if !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("Verify = %v, does not match ErrInvalidSignature", err)
			}
			assertNoLeak(t, err.Error(), testSecret, Sign(tc.body, testSecret))
		})
	}
}

func upperFirstLetter(s string) string {
	i := strings.IndexAny(s, "abcdef")
	return s[:i] + strings.ToUpper(s[i:i+1]) + s[i+1:]
}

func TestVerifyRefusesEmptySecret(t *testing.T) {
	cases := []struct {
		name    string
		sig     string
		secrets []string
	}{
		{"no secret", Sign(testBody, testSecret), nil},
		// An unset environment variable: the attacker signs with "".
		{"empty secret, signed with empty key", Sign(testBody, ""), []string{""}},
		{"empty secret next to a matching one", Sign(testBody, testSecret), []string{testSecret, ""}},
		{"empty secret first", Sign(testBody, ""), []string{"", testSecret}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(testBody, tc.sig, tc.secrets...)
			if !errors.Is(err, ErrNoSecret) {
				t.Fatalf("Verify = %v, want ErrNoSecret", err)
			}
			if errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("a missing secret is a configuration error, not a bad signature: %v", err)
			}
			assertNoLeak(t, err.Error(), testSecret, Sign(testBody, testSecret))
		})
	}
	// The secret check comes first: garbage signatures still report it.
	if err := Verify(testBody, "", ""); !errors.Is(err, ErrNoSecret) {
		t.Fatalf("Verify(empty sig, empty secret) = %v, want ErrNoSecret", err)
	}
}

func assertNoLeak(t *testing.T, msg string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Fatalf("message %q contains a secret or expected MAC", msg)
		}
	}
}
