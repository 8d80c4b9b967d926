package licentrictest

import (
	"net/http"
	"strconv"

	"github.com/licentric/licentric-go/internal/wire"
)

type listBody struct {
	Data       []any           `json:"data"`
	Pagination wire.Pagination `json:"pagination"`
}

// listPage pages through all (oldest first) with the query's cursor and
// limit, keeping the records of the caller's environment that are not
// deleted and pass keep (docs/wire-protocol.md §11.15).
func listPage[R record](c *call, all []R, keep func(R) bool, view func(R) any) (int, any, *apiError) {
	limit := wire.DefaultPageLimit
	if c.query.Has(wire.QueryLimit) {
		n, err := strconv.Atoi(c.query.Get(wire.QueryLimit))
		if err != nil || n < 1 || n > wire.MaxPageLimit {
			return 0, nil, validationError("limit", "invalid_limit", "Limit must be an integer from 1 to %d", wire.MaxPageLimit)
		}
		limit = n
	}
	start := 0
	if cur := c.query.Get(wire.QueryCursor); cur != "" {
		found := false
		for i, r := range all {
			if b := r.self(); b.id == cur && b.env == c.env {
				start, found = i+1, true
				break
			}
		}
		if !found {
			return 0, nil, validationError("cursor", "invalid_cursor", "Unknown cursor")
		}
	}
	out := listBody{Data: []any{}}
	var last string
	for _, r := range all[start:] {
		b := r.self()
		if b.env != c.env || b.deleted() || (keep != nil && !keep(r)) {
			continue
		}
		if len(out.Data) == limit {
			out.Pagination.HasMore = true
			next := last
			out.Pagination.NextCursor = &next
			break
		}
		out.Data = append(out.Data, view(r))
		last = b.id
	}
	return http.StatusOK, out, nil
}
