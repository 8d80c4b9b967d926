package licentrictest

import (
	"net/http"

	"github.com/licentric/licentric-go/internal/wire"
)

// record is a stored resource; every one embeds base.
type record interface{ self() *base }

func (b *base) self() *base { return b }

// param returns the live record of type R named by the path's first
// parameter, or a 404 naming what.
func param[R record](c *call, what string) (R, *apiError) {
	r, ok := live[R](c.st, c.env, c.params[0])
	if !ok {
		return r, notFound(what)
	}
	return r, nil
}

// hGet is GET /{resource}/{id}: the record param finds, shown by data.
func hGet[R, D any](param func(*call) (R, *apiError), data func(*call, R) D) func(c *call) (int, any, *apiError) {
	return func(c *call) (int, any, *apiError) {
		r, e := param(c)
		if e != nil {
			return 0, nil, e
		}
		return http.StatusOK, data(c, r), nil
	}
}

// hDelete is DELETE /{resource}/{id} for a resource whose deletion has no
// other effect than marking it deleted.
func hDelete[R record](param func(*call) (R, *apiError)) func(c *call) (int, any, *apiError) {
	return func(c *call) (int, any, *apiError) {
		r, e := param(c)
		if e != nil {
			return 0, nil, e
		}
		b := r.self()
		b.deletedAt, b.updatedAt = c.now, c.now
		return http.StatusNoContent, nil, nil
	}
}

// checkName checks a request's name: 1 to 255 characters, and required on
// create.
func checkName(is *issues, field wire.Nullable[string], create bool) {
	if name, ok := field.Get(); ok {
		if n := len(name); n < 1 || n > 255 {
			is.add("name", "invalid_string", "Name must be 1 to 255 characters")
		}
	} else if create {
		is.add("name", "invalid_type", "Required")
	}
}

// set copies a request field into dst when the request carried a value
// (an explicit null, like an absent field, changes nothing).
func set[T any](dst *T, v wire.Nullable[T]) {
	if x, ok := v.Get(); ok {
		*dst = x
	}
}

// has reports that a request field carries a value (not absent, not null).
func has[T any](n wire.Nullable[T]) bool {
	_, ok := n.Get()
	return ok
}

// get is a request field's value, the zero value when absent or null.
func get[T any](n wire.Nullable[T]) T {
	v, _ := n.Get()
	return v
}

// setNullable applies a field that may be absent (no change), null (no
// value) or a value.
func setNullable(dst **int, n wire.Nullable[int]) {
	if n.IsZero() {
		return
	}
	*dst = nil
	if v, ok := n.Get(); ok {
		*dst = &v
	}
}
