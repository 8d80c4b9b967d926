package licentrictest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

// maxSeedBytes caps a seed file.
const maxSeedBytes = 16 << 20

// seedFile is the JSON seed format of SeedJSON (documented in doc.go).
type seedFile struct {
	Entitlements []seedEntitlement `json:"entitlements"`
	Products     []seedProduct     `json:"products"`
}

type seedEntitlement struct {
	Env string `json:"env"`
	wire.EntitlementRequest
}

type seedProduct struct {
	Env string `json:"env"`
	wire.ProductRequest
	Policies []seedPolicy `json:"policies"`
}

type seedPolicy struct {
	wire.PolicyRequest
	Entitlements []string      `json:"entitlements"`
	Licenses     []seedLicense `json:"licenses"`
}

type seedLicense struct {
	wire.LicenseRequest
	Entitlements []string `json:"entitlements"`
	Status       string   `json:"status"`
}

// SeedFile loads the JSON seed file at path (see SeedJSON).
func (s *Server) SeedFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("licentrictest: seed file: %w", err)
	}
	defer f.Close()
	return s.SeedJSON(f)
}

// SeedJSON creates the entitlements, products, policies and licenses (with
// fixed keys, if given) that the JSON seed read from r describes; the
// format is in the package documentation. Everything is checked before
// anything is created, by the API's rules, so a seed with any error creates
// nothing. Input over 16 MiB, unknown members and trailing data are errors.
func (s *Server) SeedJSON(r io.Reader) error {
	raw, err := io.ReadAll(io.LimitReader(r, maxSeedBytes+1))
	if err != nil {
		return fmt.Errorf("licentrictest: seed: read: %w", err)
	}
	if len(raw) > maxSeedBytes {
		return fmt.Errorf("licentrictest: seed: larger than %d bytes", maxSeedBytes)
	}
	var sf seedFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sf); err != nil {
		return fmt.Errorf("licentrictest: seed: %w", err)
	}
	if dec.More() {
		return errors.New("licentrictest: seed: trailing data after the JSON object")
	}
	now := s.lock()
	defer s.unlock()
	if err := s.checkSeed(&sf); err != nil {
		return err
	}
	return s.applySeed(&sf, now)
}

func seedEnv(env string) string {
	if env == "" {
		return EnvTest
	}
	return env
}

func seedErr(where string, e error) error {
	var ae *apiError
	if errors.As(e, &ae) {
		msg := ae.msg
		if is, ok := ae.details["issues"].([]issue); ok && len(is) > 1 {
			msg = ""
			for i, x := range is {
				if i > 0 {
					msg += "; "
				}
				msg += fmt.Sprintf("%v: %s", x.Path, x.Message)
			}
		}
		return fmt.Errorf("licentrictest: seed: %s: %s", where, msg)
	}
	return fmt.Errorf("licentrictest: seed: %s: %w", where, e)
}

// checkSeed applies every rule that could refuse the seed; s.mu is held.
func (s *Server) checkSeed(sf *seedFile) error {
	st := s.st
	codes := map[string]bool{} // env|code of entitlements the seed will have
	for i, e := range sf.Entitlements {
		where := fmt.Sprintf("entitlements[%d]", i)
		env := seedEnv(e.Env)
		if err := checkEnv(env); err != nil {
			return seedErr(where, err)
		}
		if err := checkEntitlement(&e.EntitlementRequest, true); err != nil {
			return seedErr(where, err)
		}
		k := env + "|" + get(e.Code)
		if codes[k] || st.entitlementByCode(env, get(e.Code)) != nil {
			return seedErr(where, conflict("An entitlement with code %q already exists", get(e.Code)))
		}
		codes[k] = true
	}
	haveCode := func(env, code string) bool { return codes[env+"|"+code] || st.entitlementByCode(env, code) != nil }
	products := map[string]bool{}
	keys := map[string]bool{}
	for i, p := range sf.Products {
		where := fmt.Sprintf("products[%d]", i)
		env := seedEnv(p.Env)
		if err := checkEnv(env); err != nil {
			return seedErr(where, err)
		}
		if err := checkProduct(&p.ProductRequest, true); err != nil {
			return seedErr(where, err)
		}
		if k := env + "|" + get(p.Code); products[k] || st.productCodeTaken(env, get(p.Code), "") {
			return seedErr(where, conflict("A product with code %q already exists", get(p.Code)))
		} else {
			products[k] = true
		}
		for j, pol := range p.Policies {
			where := fmt.Sprintf("%s.policies[%d]", where, j)
			if has(pol.ProductID) {
				return seedErr(where, errors.New("productId is implied by the enclosing product"))
			}
			template := wire.TemplateCustom
			if has(pol.Template) {
				template = get(pol.Template)
			}
			scratch, setsMax := templateDefaults(template)
			if err := applyPolicy(&scratch, &pol.PolicyRequest, true, true, setsMax); err != nil {
				return seedErr(where, err)
			}
			for _, code := range pol.Entitlements {
				if !haveCode(env, code) {
					return seedErr(where, notFound("Entitlement "+code))
				}
			}
			for k, l := range pol.Licenses {
				where := fmt.Sprintf("%s.licenses[%d]", where, k)
				if has(l.ProductID) || has(l.PolicyID) || l.EntitlementIDs != nil {
					return seedErr(where, errors.New("productId, policyId and entitlementIds are implied; list entitlement codes in entitlements"))
				}
				var is issues
				checkLicenseFields(&is, &l.LicenseRequest)
				if has(l.Key) {
					checkCustomKey(&is, get(l.Key))
				}
				if err := is.err(); err != nil {
					return seedErr(where, err)
				}
				if has(l.Key) {
					if keys[get(l.Key)] || st.licenseKeys[get(l.Key)] != nil {
						return seedErr(where, conflict("License key is already taken"))
					}
					keys[get(l.Key)] = true
				}
				switch l.Status {
				case "", wire.StatusActive, wire.StatusSuspended, wire.StatusRevoked, wire.StatusBanned:
				default:
					return seedErr(where, errors.New("status must be active, suspended, revoked or banned"))
				}
				for _, code := range l.Entitlements {
					if !haveCode(env, code) {
						return seedErr(where, notFound("Entitlement "+code))
					}
				}
			}
		}
	}
	return nil
}

// applySeed creates what checkSeed passed; s.mu is held.
func (s *Server) applySeed(sf *seedFile, now time.Time) error {
	st := s.st
	ids := func(env string, codes []string) []string {
		var out []string
		for _, c := range codes {
			if e := st.entitlementByCode(env, c); e != nil {
				out = append(out, e.id)
			}
		}
		return out
	}
	for i, e := range sf.Entitlements {
		if _, err := s.createEntitlement(st, seedEnv(e.Env), e.EntitlementRequest, now); err != nil {
			return seedErr(fmt.Sprintf("entitlements[%d]", i), err)
		}
	}
	for i, p := range sf.Products {
		env := seedEnv(p.Env)
		prod, err := s.createProduct(st, env, p.ProductRequest, now)
		if err != nil {
			return seedErr(fmt.Sprintf("products[%d]", i), err)
		}
		for j, pol := range p.Policies {
			where := fmt.Sprintf("products[%d].policies[%d]", i, j)
			preq := pol.PolicyRequest
			preq.ProductID = wire.Value(prod.id)
			rec, err := s.createPolicy(st, env, preq, now, true)
			if err != nil {
				return seedErr(where, err)
			}
			rec.entitlementIDs = ids(env, pol.Entitlements)
			for k, l := range pol.Licenses {
				where := fmt.Sprintf("%s.licenses[%d]", where, k)
				lreq := l.LicenseRequest
				lreq.ProductID, lreq.PolicyID = wire.Value(prod.id), wire.Value(rec.id)
				lreq.EntitlementIDs = ids(env, l.Entitlements)
				lic, err := s.createLicense(st, env, lreq, now)
				if err != nil {
					return seedErr(where, err)
				}
				// The status is set directly (a transition could refuse an
				// already expired license); suspended and revoked fire
				// their events, banned none, as BanLicense.
				switch l.Status {
				case wire.StatusSuspended, wire.StatusRevoked, wire.StatusBanned:
					lic.status, lic.updatedAt = l.Status, now
				}
				switch l.Status {
				case wire.StatusSuspended:
					s.emit(env, wire.EventLicenseSuspended, st.licenseView(lic, now), now)
				case wire.StatusRevoked:
					s.emit(env, wire.EventLicenseRevoked, st.licenseView(lic, now), now)
				}
			}
		}
	}
	return nil
}
