package licentric

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
)

// Cache keys: "v2/<env>/<license part>/<request part>".

// cacheKey returns the key of a validation:
// "v2/<env>/<license part>/<request part>". In a ValueStore, which never
// leaves the process, the license part is the key itself (escaped so that
// it holds no '/') and the request part an unambiguous encoding of the
// fingerprint and the sorted entitlements; other stores get SHA-256 hashes
// of both. ents must be sorted and free of duplicates.
func (r *results) cacheKey(key, fp string, ents []string) string {
	if r.values != nil || r.store == nil {
		return r.rawCacheKey(key, fp, ents)
	}
	var buf [128]byte
	b := append(buf[:0], r.prefix...)
	b = append(b, hashedLicensePart(key)...)
	b = append(b, '/')
	var raw [256]byte
	sum := sha256.Sum256(appendRequestPart(raw[:0], fp, ents))
	b = hex.AppendEncode(b, sum[:16])
	return string(b)
}

// The query memo remembers the last validations checked and keyed, one per
// slot (slots chosen by license key), so that an application validating
// the same license over and over neither checks its arguments nor builds
// (and allocates) its cache key again: BenchmarkValidateCached.

// keyMemoSlots is the size of the memo (a power of two).
const keyMemoSlots = 64

// memoQuery is a validation's arguments as given (given: the entitlement
// codes in the order of the options) and what validateQuery made of them.
// It is never modified once stored.
type memoQuery struct {
	key, fp string
	given   []string
	ents    []string // sorted, no repeats
	ck      string
}

// memoized returns the memo's entry for key, fp and the given codes, if it
// holds one: they passed validateQuery's checks.
func (r *results) memoized(key, fp string, given []string) *memoQuery {
	m := r.keyMemo[maphash.String(r.keySeed, key)&(keyMemoSlots-1)].Load()
	if m != nil && m.key == key && m.fp == fp && slices.Equal(m.given, given) {
		return m
	}
	return nil
}

// memoize stores a checked validation's arguments, with copies of the
// fingerprint and codes (the caller's slices may change; and see
// validateQuery), and returns the entry.
func (r *results) memoize(key, fp string, given, ents []string, ck string) *memoQuery {
	m := &memoQuery{key: key, fp: strings.Clone(fp), given: slices.Clone(given), ents: slices.Clone(ents), ck: ck}
	r.keyMemo[maphash.String(r.keySeed, key)&(keyMemoSlots-1)].Store(m)
	return m
}

// rawCacheKey is cacheKey for a ValueStore.
func (r *results) rawCacheKey(key, fp string, ents []string) string {
	var buf [256]byte
	b := append(buf[:0], r.prefix...)
	b = appendLicensePart(b, key)
	b = append(b, '/')
	b = appendRequestPart(b, fp, ents)
	return string(b)
}

// licensePrefix returns the prefix of every key of license key in env.
func (r *results) licensePrefix(env Environment, key string) string {
	b := []byte(cacheKeyVersion + "/" + env.String() + "/")
	if r.values != nil {
		b = appendLicensePart(b, key)
	} else {
		b = append(b, hashedLicensePart(key)...)
	}
	return string(append(b, '/'))
}

// appendLicensePart appends key with '%' and '/' escaped.
func appendLicensePart(b []byte, key string) []byte {
	if strings.IndexByte(key, '/') < 0 && strings.IndexByte(key, '%') < 0 {
		return append(b, key...)
	}
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '%':
			b = append(b, "%25"...)
		case '/':
			b = append(b, "%2F"...)
		default:
			b = append(b, key[i])
		}
	}
	return b
}

func hashedLicensePart(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// appendRequestPart appends "f<len>:<fp>" and "e<len>:<code>" for each
// entitlement: lengths make the encoding unambiguous whatever the strings
// hold.
func appendRequestPart(b []byte, fp string, ents []string) []byte {
	b = append(b, 'f')
	b = strconv.AppendInt(b, int64(len(fp)), 10)
	b = append(b, ':')
	b = append(b, fp...)
	for _, e := range ents {
		b = append(b, 'e')
		b = strconv.AppendInt(b, int64(len(e)), 10)
		b = append(b, ':')
		b = append(b, e...)
	}
	return b
}

// normalizeEntitlements returns codes sorted and without repeats: codes
// itself when it already is (none, one, a sorted list), else a sorted copy.
func normalizeEntitlements(codes []string) []string {
	for i := 1; i < len(codes); i++ {
		if codes[i-1] >= codes[i] {
			out := slices.Clone(codes)
			slices.Sort(out)
			return slices.Compact(out)
		}
	}
	return codes
}
