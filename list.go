package licentric

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"

	"github.com/licentric/licentric-go/internal/wire"
)

// ListOptions are the paging options every list takes. The zero value (or a
// nil pointer) starts at the oldest item with the server's default page size.
type ListOptions struct {
	// Limit is the page size, 1..100; zero means the server's default (25).
	// It is checked before any request.
	Limit int
	// Cursor starts the listing after the item with this id: the NextCursor
	// of the previous page. Empty starts at the beginning.
	Cursor string
}

// query checks o and returns its query parameters.
func (o *ListOptions) query() (url.Values, error) {
	q := url.Values{}
	if o == nil {
		return q, nil
	}
	if o.Limit < 0 || o.Limit > wire.MaxPageLimit {
		return nil, fmt.Errorf("%w: list limit must be from 1 to %d (0 for the default), got %d",
			ErrInvalidArgument, wire.MaxPageLimit, o.Limit)
	}
	if o.Limit > 0 {
		q.Set(wire.QueryLimit, strconv.Itoa(o.Limit))
	}
	if o.Cursor != "" {
		if err := checkID("list cursor", o.Cursor); err != nil {
			return nil, err
		}
		q.Set(wire.QueryCursor, o.Cursor)
	}
	return q, nil
}

// Page is one page of a list, for walking a list a page at a time: pass
// NextCursor as ListOptions.Cursor to fetch the next one.
type Page[T any] struct {
	Items      []*T
	NextCursor string // "" on the last page
	HasMore    bool   // whether a next page exists
}

// lister fetches the pages of one list endpoint. A service builds one per
// call with its path and filters; everything else is shared. A lister whose
// options were refused (see failedLister) carries that error instead, and
// yields or returns it before any request.
type lister[T any] struct {
	err     error
	c       *Client
	path    string
	filters url.Values          // added to every page's query; may be nil
	opts    ListOptions         // first page's options
	check   func(item *T) error // checks a decoded item; may be nil
}

// page fetches the page starting after cursor with o's limit.
func (l *lister[T]) page(ctx context.Context, o ListOptions) (*Page[T], error) {
	q, err := o.query()
	if err != nil {
		return nil, err
	}
	for k, vs := range l.filters {
		for _, v := range vs {
			if v != "" {
				q.Add(k, v)
			}
		}
	}
	// A GET is retried on 429, 5xx and transport errors (request.retriesAll).
	res, err := l.c.call(ctx, &request{method: http.MethodGet, path: l.path, query: q, auth: authAPIKey}, nil)
	if err != nil {
		return nil, err
	}
	items, p, err := decodeList[T](res.Body)
	if err != nil {
		return nil, fmt.Errorf("licentric: GET %s: %w", l.path, err)
	}
	page := &Page[T]{Items: make([]*T, len(items)), HasMore: p.HasMore}
	if p.NextCursor != nil && p.HasMore {
		page.NextCursor = *p.NextCursor
	}
	for i := range items {
		if l.check != nil {
			if err := l.check(&items[i]); err != nil {
				return nil, fmt.Errorf("licentric: GET %s: %w", l.path, err)
			}
		}
		page.Items[i] = &items[i]
	}
	return page, nil
}

// first fetches the page named by the options.
func (l *lister[T]) first(ctx context.Context) (*Page[T], error) {
	if l.err != nil {
		return nil, l.err
	}
	return l.page(ctx, l.opts)
}

// all yields every item from the options' cursor on, fetching pages as the
// consumer advances. It stops when the consumer breaks, after yielding the
// first error (the context's own error once it is done), or at the end.
func (l *lister[T]) all(ctx context.Context) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		if l.err != nil {
			yield(nil, l.err)
			return
		}
		if ctx == nil {
			yield(nil, fmt.Errorf("%w: nil context", ErrInvalidArgument))
			return
		}
		o := l.opts
		seen := map[string]bool{o.Cursor: true}
		for {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			p, err := l.page(ctx, o)
			if err != nil {
				if ctxErr := ctx.Err(); ctxErr != nil {
					err = ctxErr
				}
				yield(nil, err)
				return
			}
			for _, it := range p.Items {
				if err := ctx.Err(); err != nil {
					yield(nil, err)
					return
				}
				if !yield(it, nil) {
					return
				}
			}
			if !p.HasMore {
				return
			}
			// A cursor that comes back would page forever.
			if seen[p.NextCursor] {
				yield(nil, fmt.Errorf("%w: GET %s: pagination cursor repeats", ErrMalformedResponse, l.path))
				return
			}
			seen[p.NextCursor] = true
			o.Cursor = p.NextCursor
		}
	}
}

// newLister returns a lister for path; opts may be nil.
func newLister[T any](c *Client, path string, opts *ListOptions, filters url.Values, check func(*T) error) *lister[T] {
	l := &lister[T]{c: c, path: path, filters: filters, check: check}
	if opts != nil {
		l.opts = *opts
	}
	return l
}

// failedLister returns a lister that reports err, for options refused
// before any request.
func failedLister[T any](err error) *lister[T] { return &lister[T]{err: err} }

// decodeList decodes a list envelope {"data": [...], "pagination": {...}}.
func decodeList[T any](body []byte) ([]T, Pagination, error) {
	var env struct {
		Data       *[]T            `json:"data"`
		Pagination json.RawMessage `json:"pagination"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, Pagination{}, fmt.Errorf("%w: list does not decode: %s", ErrMalformedResponse, sanitize(err.Error(), 200))
	}
	if env.Data == nil {
		return nil, Pagination{}, fmt.Errorf(`%w: list has no "data" array`, ErrMalformedResponse)
	}
	var p Pagination
	if len(env.Pagination) > 0 && !bytes.Equal(env.Pagination, []byte("null")) {
		if err := json.Unmarshal(env.Pagination, &p); err != nil {
			return nil, Pagination{}, fmt.Errorf("%w: pagination does not decode", ErrMalformedResponse)
		}
	}
	if p.HasMore && (p.NextCursor == nil || *p.NextCursor == "") {
		return nil, Pagination{}, fmt.Errorf("%w: pagination has more items but no cursor", ErrMalformedResponse)
	}
	return *env.Data, p, nil
}
