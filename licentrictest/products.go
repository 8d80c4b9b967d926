package licentrictest

import (
	"net/http"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

func validProductCode(s string) bool {
	if len(s) < 1 || len(s) > 50 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func validKeyPrefix(s string) bool {
	if len(s) < 2 || len(s) > 10 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

func checkProduct(req *wire.ProductRequest, create bool) *apiError {
	var is issues
	checkName(&is, req.Name, create)
	if has(req.Code) {
		if !validProductCode(get(req.Code)) {
			is.add("code", "invalid_string", "Code must be 1 to 50 characters of A-Z, a-z, 0-9, _ and -")
		}
	} else if create {
		is.add("code", "invalid_type", "Required")
	}
	if has(req.Description) && len(get(req.Description)) > 1000 {
		is.add("description", "too_big", "Description must be at most 1000 characters")
	}
	if has(req.KeyPrefix) && !validKeyPrefix(get(req.KeyPrefix)) {
		is.add("keyPrefix", "invalid_string", "keyPrefix must be 2 to 10 uppercase letters")
	}
	checkMetadata(&is, req.Metadata)
	return is.err()
}

func (st *state) productCodeTaken(env, code, except string) bool {
	for _, p := range st.products {
		if p.env == env && !p.deleted() && p.code == code && p.id != except {
			return true
		}
	}
	return false
}

// createProduct is POST /products and the seeding path.
func (s *Server) createProduct(st *state, env string, req wire.ProductRequest, now time.Time) (*productRec, *apiError) {
	if e := checkProduct(&req, true); e != nil {
		return nil, e
	}
	if st.productCodeTaken(env, get(req.Code), "") {
		return nil, conflict("A product with code %q already exists", get(req.Code))
	}
	p := &productRec{base: st.newBase(env, now, req.Metadata), name: get(req.Name), code: get(req.Code), keyPrefix: "LIC"}
	set(&p.description, req.Description)
	set(&p.keyPrefix, req.KeyPrefix)
	st.products = append(st.products, p)
	st.byID[p.id] = p
	return p, nil
}

func productData(c *call, p *productRec) wire.Data[*wire.Product] {
	return wire.Data[*wire.Product]{Data: c.st.productView(p, c.s.accountID)}
}

func hCreateProduct(c *call) (int, any, *apiError) {
	var req wire.ProductRequest
	if e := decodeBody(c.body, &req, false); e != nil {
		return 0, nil, e
	}
	p, e := c.s.createProduct(c.st, c.env, req, c.now)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusCreated, productData(c, p), nil
}

func hListProducts(c *call) (int, any, *apiError) {
	return listPage(c, c.st.products, nil, func(p *productRec) any { return c.st.productView(p, c.s.accountID) })
}

func productParam(c *call) (*productRec, *apiError) { return param[*productRec](c, "Product") }

func hUpdateProduct(c *call) (int, any, *apiError) {
	p, e := productParam(c)
	if e != nil {
		return 0, nil, e
	}
	var req wire.ProductRequest
	if e := decodeBody(c.body, &req, true); e != nil {
		return 0, nil, e
	}
	if e := checkProduct(&req, false); e != nil {
		return 0, nil, e
	}
	if has(req.Code) && c.st.productCodeTaken(c.env, get(req.Code), p.id) {
		return 0, nil, conflict("A product with code %q already exists", get(req.Code))
	}
	set(&p.name, req.Name)
	set(&p.code, req.Code)
	set(&p.description, req.Description)
	set(&p.keyPrefix, req.KeyPrefix)
	if req.Metadata != nil {
		p.metadata = req.Metadata
	}
	p.updatedAt = c.now
	return http.StatusOK, productData(c, p), nil
}
