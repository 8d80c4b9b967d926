package licentrictest

import (
	"net/http"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

var validationDetail = map[string]string{
	wire.CodeValid:                "License is valid",
	wire.CodeNotFound:             "No license with this key exists in this environment",
	wire.CodeBanned:               "License is banned",
	wire.CodeRevoked:              "License has been revoked",
	wire.CodeSuspended:            "License is suspended",
	wire.CodeExpired:              "License has expired",
	wire.CodeUsesExceeded:         "License has exceeded its maximum number of uses",
	wire.CodeFingerprintNotFound:  "No machine with this fingerprint is activated on the license",
	wire.CodeHeartbeatRequired:    "Machine has missed its heartbeat deadline",
	wire.CodeEntitlementsMissing:  "License lacks a requested entitlement",
	wire.CodeMachineLimitExceeded: "License has more machines than its limit allows",
}

// hValidate is POST /licenses/validate-key (docs/wire-protocol.md §4).
func hValidate(c *call) (int, any, *apiError) {
	var req wire.ValidateRequest
	if e := decodeBody(c.body, &req, false); e != nil {
		return 0, nil, e
	}
	var is issues
	if req.Key == "" {
		is.add("key", "invalid_type", "Required")
	} else if keyTooLong(req.Key) {
		is.add("key", "too_big", "Key must be at most %d characters", wire.MaxLicenseKeyLen)
	}
	// A fingerprint of any length is accepted: one no machine can have is
	// FINGERPRINT_NOT_FOUND, a 200 like every outcome (docs/wire-protocol.md §4).
	if len(req.Entitlements) > 100 {
		is.add("entitlements", "too_big", "At most 100 entitlement codes")
	}
	if e := is.err(); e != nil {
		return 0, nil, e
	}
	v := c.s.validate(c.st, c.env, req, c.now)
	return http.StatusOK, wire.Data[*wire.Validation]{Data: v}, nil
}

// validate runs the checks of docs/wire-protocol.md §4 in order, with their side effects.
func (s *Server) validate(st *state, env string, req wire.ValidateRequest, now time.Time) *wire.Validation {
	res := &wire.Validation{Entitlements: []string{}}
	l := st.licenseKeys[req.Key]
	if l == nil || l.env != env || l.deleted() {
		res.Code = wire.CodeNotFound
		res.Detail = validationDetail[res.Code]
		return res
	}
	p := st.policyOf(l)
	l.usesCount++
	res.Entitlements = st.effectiveEntitlements(l)

	code, valid := s.checkLicense(st, l, p, req, now, res)
	res.Code, res.Valid = code, valid
	res.Detail = validationDetail[code]
	res.License = st.licenseView(l, now)

	counts := st.validations[env]
	counts.total++
	if valid {
		counts.ok++
		s.emit(env, wire.EventValidationSuccess, res.License, now)
		if !l.activated {
			l.activated = true
			s.emit(env, wire.EventLicenseActivated, res.License, now)
		}
	} else {
		counts.failed++
		s.emit(env, wire.EventValidationFailed, res.License, now)
	}
	return res
}

func (s *Server) checkLicense(st *state, l *licenseRec, p *policyRec, req wire.ValidateRequest, now time.Time, res *wire.Validation) (string, bool) {
	switch l.status {
	case wire.StatusBanned:
		return wire.CodeBanned, false
	case wire.StatusRevoked:
		return wire.CodeRevoked, false
	case wire.StatusSuspended:
		return wire.CodeSuspended, false
	}
	expiredButAllowed := false
	if isExpired(l, now) {
		strategy := wire.StrategyRestrictAccess
		if p != nil {
			strategy = p.p.ExpirationStrategy
		}
		switch strategy {
		case wire.StrategyAllowAccess:
			expiredButAllowed = true
		case wire.StrategyRevoke:
			if !l.expiredNotified {
				l.expiredNotified = true
				s.emit(l.env, wire.EventLicenseExpired, st.licenseView(l, now), now)
			}
			l.status = wire.StatusRevoked
			l.updatedAt = now
			s.emit(l.env, wire.EventLicenseRevoked, st.licenseView(l, now), now)
			return wire.CodeRevoked, false
		default:
			return wire.CodeExpired, false
		}
	}
	if max := usesLimit(l, p); max != nil && l.usesCount > *max {
		return wire.CodeUsesExceeded, false
	}
	live := st.liveMachines(l)
	var matched *machineRec
	if req.Fingerprint != "" {
		for _, m := range live {
			if m.fingerprint == req.Fingerprint {
				matched = m
				break
			}
		}
		if matched == nil {
			return wire.CodeFingerprintNotFound, false
		}
		res.Machine = st.machineView(matched, now)
	} else if p != nil && p.p.RequireFingerprint {
		return wire.CodeFingerprintNotFound, false
	}
	if matched != nil && machineDead(matched, p, now) {
		return wire.CodeHeartbeatRequired, false
	}
	if len(req.Entitlements) > 0 {
		have := map[string]bool{}
		for _, code := range res.Entitlements {
			have[code] = true
		}
		for _, code := range req.Entitlements {
			if !have[code] {
				return wire.CodeEntitlementsMissing, false
			}
		}
	}
	if max := machineLimit(l, p); max != nil && len(live) > *max {
		return wire.CodeMachineLimitExceeded, false
	}
	if expiredButAllowed {
		return wire.CodeExpired, true
	}
	return wire.CodeValid, true
}
