package offline

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go/internal/wire"
	"github.com/licentric/licentric-go/resource"
)

// fill sets every field reachable from v to a distinct non-zero value, so
// that a field the payload reader forgets shows up as a difference.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + string(rune('A'+*n%26)) + string(rune('a'+*n/26%26)))
	case reflect.Int:
		v.SetInt(int64(*n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i), n)
		}
	case reflect.Map:
		v.Set(reflect.ValueOf(map[string]any{"k": float64(*n), "nested": map[string]any{"x": []any{"y"}}}).Convert(v.Type()))
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[wire.Timestamp]() {
			v.Set(reflect.ValueOf(wire.NewTimestamp(issued.Add(time.Duration(*n) * time.Minute))))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n)
			}
		}
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

// TestDecoderCoversEveryField guards against drift between the wire types
// and the hand-written payload reader: every field of Payload, License,
// Policy and Machine must decode as encoding/json decodes it.
func TestDecoderCoversEveryField(t *testing.T) {
	var p Payload
	n := 0
	fill(reflect.ValueOf(&p).Elem(), &n)
	raw, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	var got Payload
	if msg := decodePayload(string(raw), &got); msg != "" {
		t.Fatalf("decodePayload: %s", msg)
	}
	want := stdDecode(t, string(raw))
	// License.Machines is the one field the reader drops on purpose: a
	// license file never carries the license's machines (docs/wire-protocol.md §3).
	if len(want.License.Machines) == 0 {
		t.Fatal("fill did not reach License.Machines")
	}
	want.License.Machines = nil
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("payload reader misses fields:\n got %+v\nwant %+v", got, *want)
	}
	if n < 60 {
		t.Errorf("fill reached only %d values", n)
	}
}

// TestVerifyIgnoresLicenseMachines: a payload whose license carries
// "machines" (which a license file never does) still verifies, and the
// machines are not returned.
func TestVerifyIgnoresLicenseMachines(t *testing.T) {
	cert := validFile(t, func(p *Payload) {
		p.License.Machines = []resource.Machine{p.Machine, {ID: "other", Fingerprint: "elsewhere-0123"}}
	})
	f, err := newTestVerifier(t).Verify(cert)
	require.NoError(t, err)
	assert.Nil(t, f.License.Machines)
	assert.Equal(t, testFingerprint, f.Machine.Fingerprint)
}
