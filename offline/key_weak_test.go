package offline

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallOrderKeys are the canonical encodings of the eight points of order
// dividing 8 (libsodium's blocklist, RFC 8032 §5.1.3 encoding).
var smallOrderKeys = map[string]string{
	"identity (order 1)": "0100000000000000000000000000000000000000000000000000000000000000",
	"order 2":            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"order 4, all zero":  "0000000000000000000000000000000000000000000000000000000000000000",
	"order 4, sign set":  "0000000000000000000000000000000000000000000000000000000000000080",
	"order 8, a":         "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
	"order 8, a negated": "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
	"order 8, b":         "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	"order 8, b negated": "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
}

// nonCanonicalKeys encode small-order points in a second way: y + p, or
// x = 0 with the sign bit set.
var nonCanonicalKeys = map[string]string{
	"identity, sign set": "0100000000000000000000000000000000000000000000000000000000000080",
	"order 2, sign set":  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"y = p (0)":          "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"y = p (0), sign":    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"y = p+1 (1)":        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"y = p+1 (1), sign":  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"y = 2^255-1":        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
}

func mustKey(t testing.TB, h string) ed25519.PublicKey {
	t.Helper()
	b, err := hex.DecodeString(h)
	require.NoError(t, err)
	return b
}

// TestSmallOrderConstants checks the table above independently of the code
// under test: each point decodes and [8]P is the identity, and a real key's
// point is not of small order.
func TestSmallOrderConstants(t *testing.T) {
	for name, h := range smallOrderKeys {
		p, ok := refDecode(mustKey(t, h))
		require.True(t, ok, name)
		assert.True(t, refSmallOrder(p), "%s: [8]P is not the identity", name)
	}
	p, ok := refDecode(testSigner(t, testSeed).PublicKey())
	require.True(t, ok)
	assert.False(t, refSmallOrder(p))
}

// TestWeakKeysRefused: every small-order point and every non-canonical
// encoding is refused by ParsePublicKey in each text form and by
// WithPublicKey, with an error matching ErrWeakKey and ErrInvalidPublicKey.
func TestWeakKeysRefused(t *testing.T) {
	all := map[string]string{}
	for k, v := range smallOrderKeys {
		all[k] = v
	}
	for k, v := range nonCanonicalKeys {
		all["non-canonical "+k] = v
	}
	for name, h := range all {
		pub := mustKey(t, h)
		forms := map[string]string{
			"base64": base64.StdEncoding.EncodeToString(pub),
			"hex":    h,
			"PEM":    pemOfRaw(pub),
		}
		for form, text := range forms {
			got, err := ParsePublicKey(text)
			assert.ErrorIs(t, err, ErrWeakKey, "%s as %s", name, form)
			assert.ErrorIs(t, err, ErrInvalidPublicKey, "%s as %s", name, form)
			assert.Nil(t, got, "%s as %s", name, form)
		}
		v, err := NewVerifier(WithPublicKey(pub), WithoutFingerprintCheck())
		assert.ErrorIs(t, err, ErrWeakKey, name)
		assert.Nil(t, v, name)
		assert.ErrorIs(t, CheckPublicKey(pub), ErrWeakKey, name)
	}
	// The error says what is wrong, once.
	_, err := ParsePublicKey("AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	require.Error(t, err)
	assert.Equal(t, "offline: weak Ed25519 public key: a point of small order, under which signatures can be forged", err.Error())
}

// TestEveryNonCanonicalYRefused: each of the 19 values of y from p to
// 2^255-1, with either sign bit, is refused as weak. Read mod p they are
// 0 to 18, and some of those decode to points of large order, which the
// curve library (like crypto/ed25519) accepts: only the canonical check
// refuses those.
func TestEveryNonCanonicalYRefused(t *testing.T) {
	largeOrder := 0
	for i := range 19 {
		for _, sign := range []byte{0, 0x80} {
			pub := make(ed25519.PublicKey, 32)
			for j := range pub {
				pub[j] = 0xff
			}
			pub[0] = 0xed + byte(i) // y = p + i
			pub[31] = 0x7f | sign
			err := CheckPublicKey(pub)
			assert.ErrorIs(t, err, ErrWeakKey, "y = p+%d, sign %x", i, sign)
			assert.ErrorContains(t, err, "non-canonical", "y = p+%d, sign %x", i, sign)
			reduced := make([]byte, 32)
			reduced[0], reduced[31] = byte(i), sign
			if p, ok := refDecode(reduced); ok && !refSmallOrder(p) {
				largeOrder++
			}
		}
	}
	require.Positive(t, largeOrder, "no non-canonical encoding of a large-order point among them")
}

// TestNotACurvePointRefused: 32 bytes that decode to no point are refused
// as invalid, not as weak.
func TestNotACurvePointRefused(t *testing.T) {
	found := 0
	for i := 2; found < 3 && i < 200; i++ {
		pub := make([]byte, 32)
		pub[0] = byte(i)
		if _, ok := refDecode(pub); ok {
			continue
		}
		found++
		_, err := ParsePublicKey(hex.EncodeToString(pub))
		assert.ErrorIs(t, err, ErrInvalidPublicKey, "y=%d", i)
		assert.NotErrorIs(t, err, ErrWeakKey, "y=%d", i)
	}
	require.Equal(t, 3, found)
}

// TestForgedFileUnderWeakKey shows the attack the check stops: under the
// identity key, a file with any payload and the signature 0x01 || 63 zero
// bytes passes the Ed25519 check, and so would have verified under a
// Verifier holding that key; under the all-zero key, about one payload in
// four does. Now such a Verifier cannot be built.
func TestForgedFileUnderWeakKey(t *testing.T) {
	forgedSig := make([]byte, 64)
	forgedSig[0] = 1
	forge := func(kid string, p *Payload) []byte {
		raw, err := json.Marshal(p)
		require.NoError(t, err)
		payload := base64.StdEncoding.EncodeToString(raw)
		return encodeEnvelope(fmt.Sprintf(`{"v":1,"alg":"ed25519","kid":%q,"payload":%q,"sig":%q}`,
			kid, payload, base64.StdEncoding.EncodeToString(forgedSig)))
	}

	identity := mustKey(t, smallOrderKeys["identity (order 1)"])
	p := testPayload()
	p.License.Name = "Forged by anyone"
	cert := forge(KeyID(identity), p)
	// A verifier assembled without the option's check, as NewVerifier
	// built one before: the forged file verifies.
	old, err := NewVerifier(WithPublicKey(testSigner(t, testSeed).PublicKey()), WithClock(fixedClock(now)))
	require.NoError(t, err)
	old.keys = map[string]ed25519.PublicKey{KeyID(identity): identity} // what WithPublicKey(identity) stored
	f, err := old.Verify(cert)
	require.NoError(t, err, "the forgery is expected to pass the bare signature check")
	require.Equal(t, "Forged by anyone", f.License.Name)
	// Now: refused at option time, so no Verifier trusts that key.
	_, err = NewVerifier(WithPublicKey(identity), WithoutFingerprintCheck(), WithClock(fixedClock(now)))
	require.ErrorIs(t, err, ErrWeakKey)
	_, err = ParsePublicKey(base64.StdEncoding.EncodeToString(identity))
	require.ErrorIs(t, err, ErrWeakKey)

	// The all-zero key: some of a few payloads forge.
	zero := make(ed25519.PublicKey, 32)
	forged := 0
	for i := range 32 {
		p := testPayload()
		p.License.Name = fmt.Sprintf("forgery %d", i)
		raw, err := json.Marshal(p)
		require.NoError(t, err)
		if ed25519.Verify(zero, SignedMessage(base64.StdEncoding.EncodeToString(raw)), forgedSig) {
			forged++
		}
	}
	require.Positive(t, forged, "no payload forged under the zero key")
	_, err = NewVerifier(WithPublicKey(zero), WithoutFingerprintCheck())
	require.ErrorIs(t, err, ErrWeakKey)
	_, err = ParsePublicKey(strings.Repeat("0", 64))
	require.ErrorIs(t, err, ErrWeakKey)
}

// TestRealKeysAccepted: keys of real signers pass.
func TestRealKeysAccepted(t *testing.T) {
	for i := range 64 {
		seed := make([]byte, 32)
		seed[0], seed[1] = byte(i), 0x5a
		pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		require.NoError(t, CheckPublicKey(pub))
		got, err := ParsePublicKey(MarshalPublicKey(pub))
		require.NoError(t, err)
		require.True(t, got.Equal(pub))
	}
}

// FuzzCheckPublicKey compares CheckPublicKey with the reference decoder
// below on arbitrary 32 bytes: a key is accepted exactly when it decodes
// canonically to a point outside the small-order subgroup.
func FuzzCheckPublicKey(f *testing.F) {
	for _, h := range smallOrderKeys {
		f.Add([]byte(mustKey(f, h)))
	}
	for _, h := range nonCanonicalKeys {
		f.Add([]byte(mustKey(f, h)))
	}
	f.Add([]byte(testSigner(f, testSeed).PublicKey()))
	f.Add(make([]byte, 31))
	f.Fuzz(func(t *testing.T, pub []byte) {
		err := CheckPublicKey(pub)
		if len(pub) != 32 {
			if err == nil {
				t.Fatalf("accepted %d bytes", len(pub))
			}
			return
		}
		p, ok := refDecode(pub)
		want := ok && !refSmallOrder(p)
		if (err == nil) != want {
			t.Fatalf("CheckPublicKey(%x) = %v; reference decodes %v, small order %v", pub, err, ok, ok && refSmallOrder(p))
		}
	})
}

func pemOfRaw(pub []byte) string {
	der, err := x509.MarshalPKIXPublicKey(ed25519.PublicKey(pub))
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// A reference implementation of RFC 8032 point decoding and doubling, in
// affine coordinates with math/big, written from the RFC: an oracle that
// shares no code with filippo.io/edwards25519, which CheckPublicKey uses.
// It runs only in tests.

type refPoint struct{ x, y *big.Int }

var (
	refP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	refD = func() *big.Int {
		// d = -121665 / 121666
		n := new(big.Int).Mod(big.NewInt(-121665), refP)
		return n.Mul(n, new(big.Int).ModInverse(big.NewInt(121666), refP)).Mod(n, refP)
	}()
	// sqrt(-1) = 2^((p-1)/4)
	refSqrtM1 = new(big.Int).Exp(big.NewInt(2), new(big.Int).Rsh(new(big.Int).Sub(refP, big.NewInt(1)), 2), refP)
)

// refDecode follows RFC 8032 §5.1.3, refusing non-canonical encodings.
func refDecode(b []byte) (refPoint, bool) {
	le := append([]byte(nil), b...)
	sign := le[31] >> 7
	le[31] &= 0x7f
	be := make([]byte, 32)
	for i := range le {
		be[31-i] = le[i]
	}
	y := new(big.Int).SetBytes(be)
	if y.Cmp(refP) >= 0 {
		return refPoint{}, false
	}
	y2 := new(big.Int).Mul(y, y)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	u.Mod(u, refP)
	v := new(big.Int).Mul(refD, y2)
	v.Add(v, big.NewInt(1)).Mod(v, refP)
	// x = u v^3 (u v^7)^((p-5)/8)
	v3 := new(big.Int).Exp(v, big.NewInt(3), refP)
	v7 := new(big.Int).Exp(v, big.NewInt(7), refP)
	e := new(big.Int).Rsh(new(big.Int).Sub(refP, big.NewInt(5)), 3)
	x := new(big.Int).Mul(u, v7)
	x.Exp(x.Mod(x, refP), e, refP)
	x.Mul(x, u).Mul(x, v3).Mod(x, refP)
	vx2 := new(big.Int).Mul(v, new(big.Int).Mul(x, x))
	vx2.Mod(vx2, refP)
	negU := new(big.Int).Mod(new(big.Int).Neg(u), refP)
	switch {
	case vx2.Cmp(u) == 0:
	case vx2.Cmp(negU) == 0:
		x.Mul(x, refSqrtM1).Mod(x, refP)
	default:
		return refPoint{}, false
	}
	if x.Sign() == 0 && sign == 1 {
		return refPoint{}, false
	}
	if byte(x.Bit(0)) != sign {
		x.Sub(refP, x)
	}
	return refPoint{x, y}, true
}

// refAdd is the affine twisted Edwards addition law (a = -1).
func refAdd(p, q refPoint) refPoint {
	x1y2 := new(big.Int).Mul(p.x, q.y)
	y1x2 := new(big.Int).Mul(p.y, q.x)
	y1y2 := new(big.Int).Mul(p.y, q.y)
	x1x2 := new(big.Int).Mul(p.x, q.x)
	dxy := new(big.Int).Mul(refD, new(big.Int).Mul(x1x2, y1y2))
	dxy.Mod(dxy, refP)
	one := big.NewInt(1)
	xn := new(big.Int).Add(x1y2, y1x2)
	xd := new(big.Int).Add(one, dxy)
	yn := new(big.Int).Add(y1y2, x1x2)
	yd := new(big.Int).Sub(one, dxy)
	x := xn.Mul(xn, new(big.Int).ModInverse(xd.Mod(xd, refP), refP)).Mod(xn, refP)
	y := yn.Mul(yn, new(big.Int).ModInverse(yd.Mod(yd, refP), refP)).Mod(yn, refP)
	return refPoint{x, y}
}

func refSmallOrder(p refPoint) bool {
	for range 3 {
		p = refAdd(p, p)
	}
	return p.x.Sign() == 0 && p.y.Cmp(big.NewInt(1)) == 0
}
