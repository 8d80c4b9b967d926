package offline

import (
	"crypto/ed25519"
	"encoding/hex"
	"math/big"
)

// Ed25519 public keys are encoded points of the curve
// -x² + y² = 1 + d·x²·y² over GF(p), p = 2²⁵⁵ - 19: the 255-bit y coordinate
// in little-endian order, and the sign (lowest bit) of x in the top bit
// (RFC 8032 §5.1.3). crypto/ed25519 verifies against whatever point the 32
// bytes decode to, including points of small order, for which signatures can
// be forged without any private key: under the identity point,
// 0x01 || 63 zero bytes is a valid signature of every message. checkPoint
// refuses such keys when they are configured, not when a file is verified.
//
// The arithmetic uses math/big: it runs once per key, at parse or option
// time, and keeps this package free of dependencies.

var (
	fieldP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	// curveD is -121665/121666 mod p.
	curveD = func() *big.Int {
		inv := new(big.Int).ModInverse(big.NewInt(121666), fieldP)
		d := new(big.Int).Mul(big.NewInt(-121665), inv)
		return d.Mod(d, fieldP)
	}()
	// legendreExp is (p-1)/2: a^legendreExp is 1 for a non-zero square.
	legendreExp = new(big.Int).Rsh(new(big.Int).Sub(fieldP, big.NewInt(1)), 1)
	// smallOrderY holds the y coordinates of the eight points of order
	// dividing 8 (the torsion subgroup): 1 (order 1), p-1 (order 2), 0 (the
	// two points of order 4) and ±y₈ (the four points of order 8). With
	// either sign bit, these are every small-order point.
	smallOrderY = func() []*big.Int {
		y8Bytes, _ := hex.DecodeString("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
		y8 := leInt(y8Bytes)
		return []*big.Int{
			big.NewInt(0), big.NewInt(1), new(big.Int).Sub(fieldP, big.NewInt(1)),
			y8, new(big.Int).Sub(fieldP, y8),
		}
	}()
)

// pointProblem describes why a 32-byte key must not be trusted, or returns
// "" for a canonically encoded point of the curve outside its small-order
// subgroup. weak reports a small-order or non-canonical encoding (for
// ErrWeakKey) as opposed to bytes that are no point at all.
func pointProblem(pub []byte) (problem string, weak bool) {
	if len(pub) != ed25519.PublicKeySize {
		return "not 32 bytes", false
	}
	sign := pub[31]>>7 == 1
	var le [32]byte
	copy(le[:], pub)
	le[31] &= 0x7f
	y := leInt(le[:])
	if y.Cmp(fieldP) >= 0 {
		return "a non-canonical encoding (y >= 2^255-19)", true
	}
	for _, s := range smallOrderY {
		if y.Cmp(s) == 0 {
			return "a point of small order, under which signatures can be forged", true
		}
	}
	// x² = (y² - 1) / (d·y² + 1) must be a square; d·y² + 1 is never 0
	// because d is not a square.
	y2 := new(big.Int).Mul(y, y)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	u.Mod(u, fieldP)
	v := new(big.Int).Mul(curveD, y2)
	v.Add(v, big.NewInt(1)).Mod(v, fieldP)
	x2 := new(big.Int).Mul(u, new(big.Int).ModInverse(v, fieldP))
	x2.Mod(x2, fieldP)
	if x2.Sign() == 0 && sign {
		// x = 0 only for y = ±1, both caught above; kept for clarity.
		return "a non-canonical encoding (x = 0 with the sign bit set)", true
	}
	if x2.Sign() != 0 && new(big.Int).Exp(x2, legendreExp, fieldP).Cmp(big.NewInt(1)) != 0 {
		return "not a point of the Ed25519 curve", false
	}
	return "", false
}

// leInt reads little-endian bytes as a non-negative integer.
func leInt(le []byte) *big.Int {
	be := make([]byte, len(le))
	for i, c := range le {
		be[len(le)-1-i] = c
	}
	return new(big.Int).SetBytes(be)
}
