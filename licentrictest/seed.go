package licentrictest

import (
	"fmt"

	"github.com/licentric/licentric-go/internal/wire"
)

// Seed describes fixtures to create without HTTP, through the same rules as
// the API.
//
// Env picks the environment the fixtures live in, as the service keeps them:
// a request made with an API key sees the key's environment (TestAPIKey:
// EnvTest), and one made with a license key alone sees EnvLive, since an
// application's client has no API key to name one. To test an application
// (a client built without WithAPIKey, a Guard), seed with Env: EnvLive, or
// its key validates as NOT_FOUND:
//
//	fx, err := srv.Seed(licentrictest.Seed{Env: licentrictest.EnvLive})
//	client, err := licentric.NewClient(licentric.WithBaseURL(srv.URL),
//		licentric.WithHTTPClient(srv.Client()), licentric.WithAppID("com.example.app"))
//	g, err := licentric.NewGuard(client, fx.License.Key)
type Seed struct {
	Env     string         // EnvTest (the default) or EnvLive: see above
	Product ProductRequest // optional; defaults name "Test Product", a generated unique code
	Policy  PolicyRequest  // unset fields take docs defaults; MaxMachines unset -> unlimited
	License LicenseRequest // optional; a license is always created
}

// Fixture is what Seed created.
type Fixture struct {
	Env     string
	Product *Product
	Policy  *Policy
	License *License
}

func checkEnv(env string) error {
	if env != EnvLive && env != EnvTest {
		return fmt.Errorf("licentrictest: unknown environment %q", env)
	}
	return nil
}

// Seed creates a product, a policy under it and a license under that.
// ProductID and PolicyID in spec.Policy and spec.License are ignored.
func (s *Server) Seed(spec Seed) (*Fixture, error) {
	env := spec.Env
	if env == "" {
		env = EnvTest
	}
	if err := checkEnv(env); err != nil {
		return nil, err
	}
	now := s.lock()
	defer s.unlock()
	st := s.st

	preq := spec.Product
	if !has(preq.Name) {
		preq.Name = wire.Value("Test Product")
	}
	if !has(preq.Code) {
		code := "test-product-" + randomHex(4)
		for st.productCodeTaken(env, code, "") {
			code = "test-product-" + randomHex(4)
		}
		preq.Code = wire.Value(code)
	}
	prod, e := s.createProduct(st, env, preq, now)
	if e != nil {
		return nil, e
	}
	polReq := spec.Policy
	polReq.ProductID = wire.Value(prod.id)
	if !has(polReq.Name) {
		polReq.Name = wire.Value("Test Policy")
	}
	pol, e := s.createPolicy(st, env, polReq, now, true)
	if e != nil {
		return nil, e
	}
	lreq := spec.License
	lreq.ProductID, lreq.PolicyID = wire.Value(prod.id), wire.Value(pol.id)
	lic, e := s.createLicense(st, env, lreq, now)
	if e != nil {
		return nil, e
	}
	return &Fixture{
		Env:     env,
		Product: st.productView(prod, s.accountID),
		Policy:  st.policyView(pol),
		License: st.licenseView(lic, now),
	}, nil
}

// AddLicense creates another license under the policy policyID of env.
func (s *Server) AddLicense(env, policyID string, req LicenseRequest) (*License, error) {
	if err := checkEnv(env); err != nil {
		return nil, err
	}
	now := s.lock()
	defer s.unlock()
	pol := s.st.policy(env, policyID)
	if pol == nil {
		return nil, notFound("Policy")
	}
	req.PolicyID = wire.Value(pol.id)
	req.ProductID = wire.Value(pol.p.ProductID)
	lic, e := s.createLicense(s.st, env, req, now)
	if e != nil {
		return nil, e
	}
	return s.st.licenseView(lic, now), nil
}

// SetLicenseStatus applies a lifecycle action (suspend, reinstate, revoke or
// renew) through the same rules as the API, events included.
func (s *Server) SetLicenseStatus(env, licenseID, action string) (*License, error) {
	if err := checkEnv(env); err != nil {
		return nil, err
	}
	switch action {
	case wire.ActionSuspend, wire.ActionReinstate, wire.ActionRevoke, wire.ActionRenew:
	default:
		return nil, fmt.Errorf("licentrictest: unknown action %q", action)
	}
	now := s.lock()
	defer s.unlock()
	l := s.st.license(env, licenseID)
	if l == nil {
		return nil, notFound("License")
	}
	if e := s.transition(s.st, l, action, now); e != nil {
		return nil, e
	}
	return s.st.licenseView(l, now), nil
}

// BanLicense sets a license's status to banned, which no API call can do
// or undo. It fires no event.
func (s *Server) BanLicense(env, licenseID string) error {
	if err := checkEnv(env); err != nil {
		return err
	}
	now := s.lock()
	defer s.unlock()
	l := s.st.license(env, licenseID)
	if l == nil {
		return notFound("License")
	}
	l.status, l.updatedAt = wire.StatusBanned, now
	return nil
}

// License returns the current view of a license (status computed at Now()).
func (s *Server) License(env, id string) (*License, error) {
	now := s.lock()
	defer s.unlock()
	l := s.st.license(env, id)
	if l == nil {
		return nil, notFound("License")
	}
	return s.st.licenseView(l, now), nil
}

// Machine returns the current view of a machine that is not deleted.
func (s *Server) Machine(env, id string) (*Machine, error) {
	now := s.lock()
	defer s.unlock()
	m := s.st.machine(env, id)
	if m == nil {
		return nil, notFound("Machine")
	}
	return s.st.machineView(m, now), nil
}
