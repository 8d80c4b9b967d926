package wire

import "github.com/licentric/licentric-go/resource"

// Nullable is resource.Nullable: an optional request field that can also
// be sent as an explicit JSON null.
type Nullable[T any] = resource.Nullable[T]

// Value returns a Nullable that sends v.
func Value[T any](v T) Nullable[T] { return resource.Value(v) }

// Null returns a Nullable that sends JSON null.
func Null[T any]() Nullable[T] { return resource.Null[T]() }
