package offline

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/licentric/licentric-go/clock"
)

// FuzzVerify feeds arbitrary input to Verify. It must never panic, and any
// input it accepts must carry a valid signature by the test key, as checked
// independently with encoding/json and crypto/ed25519.
func FuzzVerify(f *testing.F) {
	valid := validFile(f, nil)
	f.Add(valid)
	f.Add(smallFile(f))
	f.Add([]byte(ArmorBegin + "\r\n" + wrap(string(valid), 64, "\r\n") + "\r\n" + ArmorEnd + "\r\n"))
	f.Add([]byte("  " + wrap(string(valid), 76, " \n") + "\n"))
	tampered := bytes.Clone(valid)
	tampered[len(tampered)/2] ^= 1
	f.Add(tampered)
	f.Add(valid[:len(valid)-1])
	f.Add([]byte(`{"v":1,"alg":"ed25519","kid":"x","payload":"e30=","sig":"AA=="}`))
	f.Add(encodeEnvelope(`{"v":1,"alg":"ed25519","kid":"x","payload":"e30=","sig":"AA=="}`))
	f.Add([]byte{})
	files, _ := filepath.Glob(filepath.Join("testdata", "*.lic"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	pub := testSigner(f, testSeed).PublicKey()
	v, err := NewVerifier(WithPublicKey(pub), WithoutFingerprintCheck(), WithClock(clock.Func(fixedClock(now))))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		file, err := v.Verify(in)
		if err != nil {
			if file != nil {
				t.Fatal("File returned with an error")
			}
			return
		}
		// Independent check of what was accepted.
		text := strings.TrimSpace(string(in))
		text = strings.TrimPrefix(text, ArmorBegin)
		text = strings.TrimSuffix(text, ArmorEnd)
		raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
		if err != nil {
			t.Fatalf("accepted input is not base64: %v", err)
		}
		var env Envelope
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatalf("accepted envelope does not decode: %v", err)
		}
		sig, err := base64.StdEncoding.DecodeString(env.Sig)
		if err != nil || env.V != 1 || env.Alg != Algorithm || env.KID != KeyID(pub) || file.KeyID != env.KID ||
			!ed25519.Verify(pub, SignedMessage(env.Payload), sig) {
			t.Fatalf("accepted a file whose signature does not hold: %+v", env)
		}
		payload, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			t.Fatal(err)
		}
		var p Payload
		if err := json.Unmarshal(payload, &p); err != nil || p.License.ID != file.License.ID || p.Fingerprint != file.Fingerprint {
			t.Fatalf("accepted payload disagrees with encoding/json: %v", err)
		}
		// The same bytes again give the same result.
		again, err := v.Verify(in)
		if err != nil || !reflect.DeepEqual(again, file) {
			t.Fatalf("re-verification differs: %v", err)
		}
	})
}

// FuzzDecodePayload checks the payload reader: no panics on any input, and
// on any payload encoding/json can read, the same result as encoding/json
// for its canonical re-encoding (which exercises escapes, nesting and
// numbers the way a server produces them).
func FuzzDecodePayload(f *testing.F) {
	canonical, _ := json.Marshal(testPayload())
	f.Add(string(canonical))
	f.Add(`{"license":{"metadata":{"a":[1,"\u00e9",{"b":null}]}},"entitlements":["x"]}`)
	f.Add(`{"v":1,"env":"\ud83d\ude00","ttl":-0}`)
	f.Fuzz(func(t *testing.T, in string) {
		var mine Payload
		msg := decodePayload(in, &mine)
		if msg == "" && !json.Valid([]byte(in)) {
			t.Fatalf("accepted invalid JSON %q", in)
		}
		var std Payload
		if json.Unmarshal([]byte(in), &std) != nil {
			return
		}
		canon, err := json.Marshal(&std)
		if err != nil {
			return // e.g. a float metadata value JSON can't encode
		}
		var want, got Payload
		if err := json.Unmarshal(canon, &want); err != nil {
			t.Fatal(err)
		}
		want.License.Machines = nil // dropped on purpose (TestDecoderCoversEveryField)
		if msg := decodePayload(string(canon), &got); msg != "" {
			t.Fatalf("refused canonical payload %s: %s", canon, msg)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoders differ on %s:\n got %+v\nwant %+v", canon, got, want)
		}
	})
}
