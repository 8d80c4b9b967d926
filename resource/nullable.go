package resource

import (
	"bytes"
	"encoding/json"
)

// Nullable is an optional request field that can also be sent as an explicit
// JSON null. Its zero value is "not set" and is left out of the body when the
// field is tagged `json:",omitzero"`; Null sends null; Value sends a value.
//
// It keeps apart the three things a PATCH can mean: leave the field alone,
// clear it (e.g. maxMachines: null for unlimited) and set it (maxMachines: 0).
type Nullable[T any] struct {
	set   bool
	null  bool
	value T
}

// Value returns a Nullable that sends v.
func Value[T any](v T) Nullable[T] { return Nullable[T]{set: true, value: v} }

// Null returns a Nullable that sends JSON null.
func Null[T any]() Nullable[T] { return Nullable[T]{set: true, null: true} }

// IsZero reports whether the field is unset; encoding/json's omitzero uses it.
func (n Nullable[T]) IsZero() bool { return !n.set }

// IsNull reports whether the field is set to null.
func (n Nullable[T]) IsNull() bool { return n.set && n.null }

// Get returns the value and whether one (not null, not unset) is present.
func (n Nullable[T]) Get() (T, bool) { return n.value, n.set && !n.null }

// MarshalJSON implements json.Marshaler.
func (n Nullable[T]) MarshalJSON() ([]byte, error) {
	if !n.set || n.null {
		return []byte("null"), nil
	}
	return json.Marshal(n.value)
}

// UnmarshalJSON implements json.Unmarshaler. A present field is "set" even
// when it is null.
func (n *Nullable[T]) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		*n = Null[T]()
		return nil
	}
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*n = Value(v)
	return nil
}
