package fleet

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"hash/maphash"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// Key derivation: HKDF-SHA256 of the secret, salted with the format's
// name, with the namespace and purpose as info. Members of different
// namespaces under one secret share no key.
const (
	hkdfSalt    = "licentric-go fleet v1"
	purposeSeal = "seal"
	purposeName = "name"
)

// Additional data of the AEAD: a value is bound to its Redis key and field
// and to its license's epoch, a message to its channel, so neither can be
// moved, and a value stored before an invalidation does not open after it.
const (
	adValue   = "lc-value-v2\x00"
	adMessage = "lc-message-v2\x00"
)

const (
	sealVersion = 1
	// sealOverhead is the version byte, the nonce and the tag.
	sealOverhead = 1 + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead
	// nameLen is the bytes of keyed digest in a Redis name (192 bits).
	nameLen = 24
)

// Domain separation of the digests in Redis names.
const (
	nameLicense = 'L'
	nameRequest = 'R'
	nameFlight  = 'F'
)

var errOpen = errors.New("fleet: entry not sealed by this fleet")

// keys are what a Fleet derives from its secret.
type keys struct {
	aead  cipher.AEAD
	names sync.Pool // of hash.Hash: HMAC-SHA256 under the name key

	// memo remembers recent names: a member asks for the same few
	// licenses and requests over and over, and two HMACs cost more
	// instructions than the Redis GET they name.
	seed maphash.Seed
	memo [memoSlots]atomic.Pointer[memoName]
}

const memoSlots = 256 // a power of two

type memoName struct {
	kind byte
	in   string
	out  string
}

func deriveKeys(secret []byte, ns string) (*keys, error) {
	sealKey, err := derive(secret, ns, purposeSeal)
	if err != nil {
		return nil, err
	}
	nameKey, err := derive(secret, ns, purposeName)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(sealKey)
	if err != nil {
		return nil, err
	}
	k := &keys{aead: aead, seed: maphash.MakeSeed()}
	k.names.New = func() any { return hmac.New(sha256.New, nameKey) }
	return k, nil
}

func derive(secret []byte, ns, purpose string) ([]byte, error) {
	out := make([]byte, chacha20poly1305.KeySize)
	info := ns + "\x00" + purpose
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, []byte(hkdfSalt), []byte(info)), out); err != nil {
		return nil, err
	}
	return out, nil
}

// name returns the keyed digest of s for a Redis name: base64url of the
// first nameLen bytes of HMAC-SHA256(name key, kind || s).
func (k *keys) name(kind byte, s string) string {
	slot := &k.memo[(maphash.String(k.seed, s)+uint64(kind))&(memoSlots-1)]
	if m := slot.Load(); m != nil && m.kind == kind && m.in == s {
		return m.out
	}
	out := k.hmacName(kind, s)
	if len(s) <= 1024 {
		slot.Store(&memoName{kind: kind, in: s, out: out})
	}
	return out
}

func (k *keys) hmacName(kind byte, s string) string {
	h := k.names.Get().(hash.Hash)
	h.Reset()
	var buf [1 + 128]byte
	buf[0] = kind
	if len(s) <= len(buf)-1 {
		n := copy(buf[1:], s)
		h.Write(buf[:1+n])
	} else {
		h.Write(buf[:1])
		io.WriteString(h, s)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	k.names.Put(h)
	var out [32]byte // base64 of nameLen bytes
	base64.RawURLEncoding.Encode(out[:], sum[:nameLen])
	return string(out[:])
}

// sealValue seals payload for Redis key and field under the license's
// epoch, to be served until expires: version || nonce || AEAD(expires unix
// ms || payload, AD: key, field, epoch).
func (k *keys) sealValue(key, field, epoch string, expires time.Time, payload []byte) []byte {
	var ad [256]byte
	plain := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint64(plain, uint64(expires.UnixMilli()))
	plain = append(plain, payload...)
	return k.seal(valueAD(ad[:0], key, field, epoch), plain)
}

// openValue returns the payload of a value sealed for key and field under
// epoch, and its expiry. Anything else (forged, truncated, moved from
// another key, sealed under another epoch) gives errOpen.
func (k *keys) openValue(key, field, epoch string, sealed []byte) ([]byte, time.Time, error) {
	var ad [256]byte
	plain, err := k.open(valueAD(ad[:0], key, field, epoch), sealed)
	if err != nil || len(plain) < 8 {
		return nil, time.Time{}, errOpen
	}
	ms := binary.BigEndian.Uint64(plain)
	if ms > 1<<62 {
		return nil, time.Time{}, errOpen
	}
	return plain[8:], time.UnixMilli(int64(ms)), nil
}

func valueAD(dst []byte, key, field, epoch string) []byte {
	dst = append(dst, adValue...)
	dst = append(dst, key...)
	dst = append(dst, 0)
	dst = append(dst, field...)
	dst = append(dst, 0)
	return append(dst, epoch...)
}

// tokenLen is the length of a token: the base64url of 16 random bytes.
const tokenLen = 22

// newToken returns a fresh random token: a generation or a license's
// epoch.
func newToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand.Read never fails
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validToken reports whether s has the form of a token. Redis may hold
// anything; only a token is taken for a generation or an epoch.
func validToken(s string) bool {
	if len(s) != tokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (k *keys) seal(ad, plain []byte) []byte {
	out := make([]byte, 1+chacha20poly1305.NonceSizeX, sealOverhead+len(plain))
	out[0] = sealVersion
	nonce := out[1:]
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand.Read never fails
	}
	return k.aead.Seal(out, nonce, plain, ad)
}

func (k *keys) open(ad, sealed []byte) ([]byte, error) {
	if len(sealed) < sealOverhead || sealed[0] != sealVersion {
		return nil, errOpen
	}
	nonce := sealed[1 : 1+chacha20poly1305.NonceSizeX]
	plain, err := k.aead.Open(nil, nonce, sealed[1+chacha20poly1305.NonceSizeX:], ad)
	if err != nil {
		return nil, errOpen
	}
	return plain, nil
}

// An invalidation message on the namespace's channel.
type message struct {
	all    bool     // InvalidateAll (or a generation made anew); else InvalidateLicense
	sender [16]byte // member id
	// recheck: the license itself (or, with all, any license) may have
	// changed, so holders of decisions about it (guards) should ask
	// again; false when only cached results went stale (a machine's
	// activity, a rolled-back key replaced).
	recheck bool
	// killed is the token the invalidation ended, which no member that
	// hears of it accepts again: the generation InvalidateAll replaced, or
	// the license's epoch InvalidateLicense replaced. Empty when there was
	// none (a generation made anew, a license without results).
	killed  string
	license string // InvalidateLicense's license digest
}

const (
	kindLicense = 'L'
	kindAll     = 'A'
	flagRecheck = 1
	messageHead = 1 + 1 + 16 + 1 // kind, flags, sender, length of killed
)

// sealMessage seals m for channel: AEAD(kind || flags || sender ||
// len(killed) || killed || license).
func (k *keys) sealMessage(channel string, m message) []byte {
	plain := make([]byte, messageHead, messageHead+len(m.killed)+len(m.license))
	plain[0] = kindLicense
	if m.all {
		plain[0] = kindAll
	}
	if m.recheck {
		plain[1] = flagRecheck
	}
	copy(plain[2:18], m.sender[:])
	plain[18] = byte(len(m.killed))
	plain = append(plain, m.killed...)
	plain = append(plain, m.license...)
	return k.seal([]byte(adMessage+channel), plain)
}

// openMessage parses a message sealed for channel.
func (k *keys) openMessage(channel string, sealed []byte) (message, error) {
	if len(sealed) > sealOverhead+messageHead+tokenLen+maxLicenseLen {
		return message{}, errOpen
	}
	plain, err := k.open([]byte(adMessage+channel), sealed)
	if err != nil || len(plain) < messageHead {
		return message{}, errOpen
	}
	var m message
	switch plain[0] {
	case kindAll:
		m.all = true
	case kindLicense:
	default:
		return message{}, errOpen
	}
	switch plain[1] {
	case 0:
	case flagRecheck:
		m.recheck = true
	default:
		return message{}, errOpen
	}
	copy(m.sender[:], plain[2:18])
	n := int(plain[18])
	rest := plain[messageHead:]
	if (n != 0 && n != tokenLen) || len(rest) < n {
		return message{}, errOpen
	}
	m.killed, m.license = string(rest[:n]), string(rest[n:])
	if (m.killed != "" && !validToken(m.killed)) || (m.all && m.license != "") || len(m.license) > maxLicenseLen {
		return message{}, errOpen
	}
	return m, nil
}
