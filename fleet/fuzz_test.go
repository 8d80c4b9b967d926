package fleet

import (
	"bytes"
	"testing"
	"time"
)

// The parsers of bytes read from Redis: sealed values and invalidation
// messages. Whatever Redis holds, they return an error or what this fleet
// sealed, and never panic.

var fuzzSecret = []byte("0123456789abcdef0123456789abcdef")

func fuzzKeys(tb testing.TB) *keys {
	k, err := deriveKeys(fuzzSecret, "fuzz")
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func FuzzOpenValue(f *testing.F) {
	k := fuzzKeys(f)
	const key, field, epoch = "lc:fuzz:{abc}:r:AAAAAAAAAAAAAAAAAAAAAA", "def", "BBBBBBBBBBBBBBBBBBBBBB"
	expires := time.UnixMilli(1_800_000_000_000)
	good := k.sealValue(key, field, epoch, expires, []byte(`{"valid":true}`))
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(good[:sealOverhead])
	f.Add(k.sealValue(key, field, epoch, expires, nil))
	f.Add(k.sealValue(key, "other", epoch, expires, []byte("moved")))
	f.Add(k.sealValue(key, field, "CCCCCCCCCCCCCCCCCCCCCC", expires, []byte("an earlier epoch")))
	f.Add([]byte{})
	f.Add([]byte{sealVersion})
	f.Add(bytes.Repeat([]byte{0xff}, 100))
	f.Fuzz(func(t *testing.T, data []byte) {
		payload, exp, err := k.openValue(key, field, epoch, data)
		if err != nil {
			if payload != nil {
				t.Fatal("payload with an error")
			}
			return
		}
		// Only what was sealed for this key, field and epoch opens.
		again := k.sealValue(key, field, epoch, exp, payload)
		p2, e2, err := k.openValue(key, field, epoch, again)
		if err != nil || !bytes.Equal(p2, payload) || !e2.Equal(exp) {
			t.Fatalf("round trip: %v", err)
		}
		if _, _, err := k.openValue(key, field, "CCCCCCCCCCCCCCCCCCCCCC", data); err == nil {
			t.Fatal("opened under another epoch")
		}
	})
}

func FuzzOpenMessage(f *testing.F) {
	k := fuzzKeys(f)
	const channel = "lc:fuzz:inv"
	token := newToken()
	f.Add(k.sealMessage(channel, message{license: "digest"}))
	f.Add(k.sealMessage(channel, message{license: "digest", killed: token}))
	f.Add(k.sealMessage(channel, message{license: "digest", killed: token, recheck: true}))
	f.Add(k.sealMessage(channel, message{all: true, killed: token}))
	f.Add(k.sealMessage(channel, message{all: true}))
	f.Add(k.sealMessage("lc:other:inv", message{license: "digest"}))
	f.Add(k.seal([]byte(adMessage+channel), []byte("Xshort")))
	f.Add(k.seal([]byte(adMessage+channel), append([]byte{kindAll}, make([]byte, messageHead)...)))
	f.Add(k.seal([]byte(adMessage+channel), append(append([]byte{kindLicense}, make([]byte, 16)...), 30, 'a')))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{1}, sealOverhead+messageHead))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := k.openMessage(channel, data)
		if err != nil {
			return
		}
		if m.all && m.license != "" {
			t.Fatal("an InvalidateAll with a license")
		}
		if len(m.license) > maxLicenseLen {
			t.Fatal("license over the cap")
		}
		if m.killed != "" && !validToken(m.killed) {
			t.Fatal("killed is not a token")
		}
		got, err := k.openMessage(channel, k.sealMessage(channel, m))
		if err != nil || got != m {
			t.Fatalf("round trip: %+v, %v", got, err)
		}
	})
}

func TestNamesAreKeyedAndSeparated(t *testing.T) {
	a := fuzzKeys(t)
	b, err := deriveKeys(fuzzSecret, "other")
	if err != nil {
		t.Fatal(err)
	}
	c, err := deriveKeys([]byte("another secret of 32 bytes......"), "fuzz")
	if err != nil {
		t.Fatal(err)
	}
	long := string(bytes.Repeat([]byte("x"), 500))
	for _, s := range []string{"", "license", long} {
		n := a.name(nameLicense, s)
		if len(n) != 32 {
			t.Fatalf("name length %d", len(n))
		}
		if n != a.name(nameLicense, s) {
			t.Fatal("not deterministic")
		}
		for _, other := range []string{a.name(nameRequest, s), a.name(nameFlight, s), b.name(nameLicense, s), c.name(nameLicense, s)} {
			if other == n {
				t.Fatalf("names of %q collide across purposes, namespaces or secrets", s)
			}
		}
	}
	if a.name(nameLicense, long) == a.name(nameLicense, long+"y") {
		t.Fatal("long inputs collide")
	}
}
