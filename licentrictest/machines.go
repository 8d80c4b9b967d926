package licentrictest

import (
	"net/http"
	"time"

	"github.com/licentric/licentric-go/internal/wire"
)

var platforms = map[string]bool{
	wire.PlatformMacOS: true, wire.PlatformWindows: true, wire.PlatformLinux: true,
	wire.PlatformDocker: true, wire.PlatformKubernetes: true,
}

func checkFingerprint(is *issues, fp string) {
	switch {
	case fp == "":
		is.add("fingerprint", "invalid_type", "Required")
	case len(fp) < wire.MinFingerprintLen:
		is.add("fingerprint", "too_small", "Fingerprint must be at least %d characters", wire.MinFingerprintLen)
	case len(fp) > wire.MaxFingerprintLen:
		is.add("fingerprint", "too_big", "Fingerprint must be at most %d characters", wire.MaxFingerprintLen)
	}
}

// hActivate is POST /machines (docs/wire-protocol.md §5, order §11.9).
func hActivate(c *call) (int, any, *apiError) {
	var req wire.ActivateRequest
	if e := decodeBody(c.body, &req, false); e != nil {
		return 0, nil, e
	}
	var is issues
	checkFingerprint(&is, req.Fingerprint)
	if req.Platform != "" && !platforms[req.Platform] {
		is.add("platform", "invalid_enum_value", "Platform must be one of macos, windows, linux, docker, kubernetes")
	}
	if len(req.Name) > 255 {
		is.add("name", "too_big", "Name must be at most 255 characters")
	}
	if len(req.Hostname) > 255 {
		is.add("hostname", "too_big", "Hostname must be at most 255 characters")
	}
	if req.Cores < 0 {
		is.add("cores", "too_small", "Cores must not be negative")
	}
	checkMetadata(&is, req.Metadata)
	if c.key != nil && req.LicenseID == "" {
		is.add("licenseId", "invalid_type", "Required with API-key authorization")
	}
	if e := is.err(); e != nil {
		return 0, nil, e
	}
	l := c.lic
	if l == nil {
		if l = c.st.license(c.env, req.LicenseID); l == nil {
			return 0, nil, notFound("License")
		}
	} else if req.LicenseID != "" && req.LicenseID != l.id {
		return 0, nil, notFound("License")
	}
	m, e := c.s.activate(c.st, l, req, c.now)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusCreated, wire.Data[*wire.Machine]{Data: c.st.machineView(m, c.now)}, nil
}

// licenseNotActive reports whether l refuses activation and checkout.
func licenseNotActive(st *state, l *licenseRec, now time.Time) *apiError {
	status := reportedStatus(l, now)
	switch status {
	case wire.StatusSuspended, wire.StatusRevoked, wire.StatusBanned:
		return unprocessable(wire.ErrCodeLicenseNotActive, "License is %s", status)
	case wire.StatusExpired:
		p := st.policyOf(l)
		if p == nil || p.p.ExpirationStrategy == wire.StrategyRestrictAccess {
			return unprocessable(wire.ErrCodeLicenseNotActive, "License is expired")
		}
	}
	return nil
}

func (s *Server) activate(st *state, l *licenseRec, req wire.ActivateRequest, now time.Time) (*machineRec, *apiError) {
	if e := licenseNotActive(st, l, now); e != nil {
		return nil, e
	}
	p := st.policyOf(l)
	live := st.liveMachines(l)
	for _, m := range live {
		if m.fingerprint == req.Fingerprint {
			e := errf(http.StatusConflict, wire.ErrCodeFingerprintConflict, "Fingerprint is already activated on this license")
			e.details = map[string]any{"machineId": m.id}
			return nil, e
		}
	}
	uniq := wire.UniquePerLicense
	if p != nil {
		uniq = p.p.FingerprintUniqueness
	}
	if uniq == wire.UniquePerPolicy || uniq == wire.UniquePerAccount {
		for _, m := range st.machines {
			if m.deleted() || m.env != l.env || m.licenseID == l.id || m.fingerprint != req.Fingerprint {
				continue
			}
			other, _ := st.byID[m.licenseID].(*licenseRec)
			if other == nil || other.deleted() {
				continue
			}
			if uniq == wire.UniquePerAccount || other.policyID == l.policyID {
				return nil, errf(http.StatusConflict, wire.ErrCodeFingerprintConflict,
					"Fingerprint is already activated on another license (%s uniqueness)", uniq)
			}
		}
	}
	if max := machineLimit(l, p); max != nil && len(live) >= *max {
		s.emit(l.env, wire.EventLicenseLimitReached, st.licenseView(l, now), now)
		return nil, unprocessable(wire.ErrCodeMachineLimit, "License has reached its limit of %d machines", *max)
	}
	m := &machineRec{
		base:            st.newBase(l.env, now, req.Metadata),
		licenseID:       l.id,
		fingerprint:     req.Fingerprint,
		name:            req.Name,
		platform:        req.Platform,
		hostname:        req.Hostname,
		cores:           req.Cores,
		lastHeartbeatAt: now,
	}
	st.machines = append(st.machines, m)
	st.byID[m.id] = m
	s.emit(l.env, wire.EventMachineActivated, st.machineView(m, now), now)
	return m, nil
}

// machineFor finds the machine of the path for the caller: with license
// auth only the license's own machines exist.
func machineFor(c *call) (*machineRec, *apiError) {
	m := c.st.machine(c.env, c.params[0])
	if m == nil || (c.lic != nil && m.licenseID != c.lic.id) {
		return nil, notFound("Machine")
	}
	return m, nil
}

// hGetMachine is GET /machines/{id}.
func hGetMachine(c *call) (int, any, *apiError) {
	m, e := machineFor(c)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, wire.Data[*wire.Machine]{Data: c.st.machineView(m, c.now)}, nil
}

// hDeactivate is DELETE /machines/{id}.
func hDeactivate(c *call) (int, any, *apiError) {
	m, e := machineFor(c)
	if e != nil {
		return 0, nil, e
	}
	m.deletedAt, m.updatedAt = c.now, c.now
	c.s.emit(m.env, wire.EventMachineDeactivated, c.st.machineView(m, c.now), c.now)
	return http.StatusNoContent, nil, nil
}

// hHeartbeat is POST /machines/{id}/heartbeat.
func hHeartbeat(c *call) (int, any, *apiError) {
	m, e := machineFor(c)
	if e != nil {
		return 0, nil, e
	}
	m.lastHeartbeatAt, m.updatedAt = c.now, c.now
	m.deadNotified = false
	v := c.st.machineView(m, c.now)
	c.s.emit(m.env, wire.EventMachineHeartbeat, v, c.now)
	return http.StatusOK, wire.Data[*wire.Machine]{Data: v}, nil
}

// hListMachines is GET /machines?licenseId=.
func hListMachines(c *call) (int, any, *apiError) {
	licID := c.query.Get(wire.QueryLicenseID)
	return listPage(c, c.st.machines, func(m *machineRec) bool {
		return licID == "" || m.licenseID == licID
	}, func(m *machineRec) any { return c.st.machineView(m, c.now) })
}

// sweep brings time-driven state up to now: licenses that reached expiresAt
// fire license.expired once; machines past their heartbeat deadline fire
// machine.dead once and, under DEACTIVATE_DEAD, are soft-deleted.
func (s *Server) sweep(now time.Time) {
	st := s.st
	for _, l := range st.licenses {
		if !l.deleted() && l.status == wire.StatusActive && isExpired(l, now) && !l.expiredNotified {
			l.expiredNotified = true
			s.emit(l.env, wire.EventLicenseExpired, st.licenseView(l, now), now)
		}
	}
	for _, m := range st.machines {
		if m.deleted() || m.deadNotified {
			continue
		}
		l, _ := st.byID[m.licenseID].(*licenseRec)
		if l == nil {
			continue
		}
		p := st.policyOf(l)
		if !machineDead(m, p, now) {
			continue
		}
		m.deadNotified = true
		if p.p.HeartbeatCullStrategy != wire.CullKeepDead {
			m.deletedAt, m.updatedAt = now, now
		}
		s.emit(m.env, wire.EventMachineDead, st.machineView(m, now), now)
	}
}
