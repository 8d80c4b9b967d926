package licentric

import (
	"context"
	"iter"

	"github.com/licentric/licentric-go/internal/wire"
)

// ProductsService manages products: POST, GET, PATCH and DELETE /products.
// Reach it as Client.Products.
type ProductsService service

func checkProductResource(p *Product) error { return needID("product", p.ID) }

// Create creates a product. Name and Code are required; Code is unique in
// the environment (a taken code is an error matching ErrConflict). Field
// errors match ErrInvalidRequest; see (*APIError).FieldErrors.
func (s *ProductsService) Create(ctx context.Context, req *ProductRequest) (*Product, error) {
	return createResource(ctx, s.client, wire.PathProducts, req, dropsNothing(), checkProductResource)
}

// Get returns product id. A product of the other environment, a deleted one
// or an unknown id is an error matching ErrNotFound.
func (s *ProductsService) Get(ctx context.Context, id string) (*Product, error) {
	if err := checkID("product ID", id); err != nil {
		return nil, err
	}
	return getResource(ctx, s.client, wire.ResourcePath(wire.PathProducts, id), checkProductResource)
}

// Update changes the fields req sets and returns the product.
func (s *ProductsService) Update(ctx context.Context, id string, req *ProductRequest) (*Product, error) {
	if err := checkID("product ID", id); err != nil {
		return nil, err
	}
	return updateResource(ctx, s.client, wire.ResourcePath(wire.PathProducts, id), req, dropsAll(), checkProductResource)
}

// Delete deletes product id (a soft delete: it then reads as not found).
func (s *ProductsService) Delete(ctx context.Context, id string) error {
	if err := checkID("product ID", id); err != nil {
		return err
	}
	return deleteResource(ctx, s.client, wire.ResourcePath(wire.PathProducts, id), dropsAll())
}

// List yields every product, oldest first, fetching pages as the loop
// advances; see ListOptions. It stops at the first error, which it yields.
func (s *ProductsService) List(ctx context.Context, opts *ListOptions) iter.Seq2[*Product, error] {
	return s.lister(opts).all(ctx)
}

// ListPage returns one page of products.
func (s *ProductsService) ListPage(ctx context.Context, opts *ListOptions) (*Page[Product], error) {
	return s.lister(opts).first(ctx)
}

func (s *ProductsService) lister(opts *ListOptions) *lister[Product] {
	return newLister(s.client, wire.PathProducts, opts, nil, checkProductResource)
}
