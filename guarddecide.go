package licentric

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/licentric/licentric-go/offline"
)

// A guard's decision is a pure function of what it learned: the service's
// answer (or why it could not be asked), the license file in force, and the
// time. guardrun.go gathers those and carries out the effects (activate,
// revive, keep the file, drop it); this file only decides.

// verdict is what one decision rests on.
type verdict struct {
	v    *Validation // the answer: the service's, or a stale cached one; nil with err
	err  error       // the service could not be asked, or an activation was refused
	seen *Validation // the last answer that named the license (kept on a refused activation)

	file    *offline.File // the verified license file in force, if any
	fileErr error         // why there is none (GuardState.FileErr)

	ents     []string      // the entitlements the application requires
	interval time.Duration // the check interval: how long a decision lasts without a cache
	now      time.Time
}

// decide turns a verdict into a state.
func decide(in verdict) GuardState {
	var st GuardState
	switch {
	case in.err == nil && !in.v.Stale: // the service answered
		st = stateOf(in.v, SourceService, in.now)
		if st.Allowed {
			st.Until = in.v.until
			if st.Until.IsZero() { // no cache: until the next check
				st.Until = in.now.Add(in.interval)
			}
			if in.file != nil && in.file.ExpiresAt.After(st.Until) {
				st.Until = in.file.ExpiresAt
			}
		}
	case in.err != nil && !errors.Is(in.err, ErrUnavailable):
		// The service refused an activation (a full license, a license
		// not active), or refused the client (a misconfigured API key).
		st = GuardState{Source: SourceNone, Reason: in.err, CheckedAt: in.now}
		var apiErr *APIError
		if errors.As(in.err, &apiErr) && apiErr.StatusCode == 422 {
			st.Source = SourceService
		}
		if errors.Is(in.err, ErrMachineLimitExceeded) {
			st.Code = CodeMachineLimitExceeded
		}
		if in.seen != nil {
			st.License = in.seen.License
			st.Entitlements = slices.Clip(in.seen.Entitlements)
		}
	default: // an outage: the file, else a stale result, else nothing
		why := in.err
		if why == nil {
			why = in.v.StaleReason
		}
		switch {
		case in.file != nil:
			st = stateOfFile(in.file, why, in.ents, in.now)
		case in.v != nil:
			st = stateOf(in.v, SourceCache, in.now)
			if st.Allowed {
				st.Reason, st.Until = why, in.v.until
			}
		default:
			st = unavailable(why, in.fileErr, in.now)
		}
	}
	st.FileErr = in.fileErr
	return st
}

// stateOf turns a validation result into a state.
func stateOf(v *Validation, src Source, now time.Time) GuardState {
	st := GuardState{
		Allowed: v.Valid, Code: v.Code, Source: src, License: v.License, Machine: v.Machine,
		Entitlements: slices.Clip(v.Entitlements), CheckedAt: now,
	}
	if !v.Valid {
		st.Reason = v.Err()
	}
	return st
}

// stateOfFile decides from the verified license file f, used because of
// why (nil with WithOfflineOnly).
func stateOfFile(f *offline.File, why error, ents []string, now time.Time) GuardState {
	for _, code := range ents {
		if !f.HasEntitlement(code) {
			return GuardState{Code: CodeEntitlementsMissing, Source: SourceLicenseFile, License: LicenseFrom(&f.License),
				Reason: fmt.Errorf("%w: the license file lacks %q", ErrEntitlementsMissing, code), CheckedAt: now}
		}
	}
	code := CodeValid
	if f.LicenseExpired {
		code = CodeExpired
	}
	return GuardState{
		Allowed: true, Code: code, Source: SourceLicenseFile, Reason: why,
		License: LicenseFrom(&f.License), Machine: MachineFrom(&f.Machine),
		Entitlements: slices.Clip(f.Entitlements), Until: f.ExpiresAt, CheckedAt: now,
	}
}

// unavailable is the denial of a guard that could ask neither the service
// nor a license file: the Reason matches ErrUnavailable and, when there was
// a file that no longer verifies, the file's error (offline.ErrFileExpired:
// offline too long; offline.ErrClockRollback; a missing file:
// fs.ErrNotExist).
func unavailable(why, fileErr error, now time.Time) GuardState {
	if !errors.Is(why, ErrUnavailable) {
		why = &unavailableError{why}
	}
	if fileErr != nil {
		why = fmt.Errorf("%w (license file: %w)", why, fileErr)
	}
	return GuardState{Source: SourceNone, Reason: why, CheckedAt: now}
}

// stateOfFileOnly decides a WithOfflineOnly guard: from the file, or a
// denial saying why there is none. A file that verifies but refuses the
// license (suspended at checkout, expired) is that license's denial.
func stateOfFileOnly(f *offline.File, fileErr error, ents []string, now time.Time) GuardState {
	if f != nil {
		st := stateOfFile(f, nil, ents, now)
		return st
	}
	st := GuardState{Source: SourceLicenseFile, CheckedAt: now, FileErr: fileErr}
	for _, m := range fileDenials {
		if errors.Is(fileErr, m.file) {
			st.Code, st.Reason = m.code, fmt.Errorf("%w: %w", m.sentinel, fileErr)
			return st
		}
	}
	st.Source, st.Reason = SourceNone, fmt.Errorf("%w: %w", ErrNoLicenseFile, fileErr)
	return st
}

// fileDenials maps the offline package's license refusals to this
// package's codes and sentinels.
var fileDenials = []struct {
	file     error
	code     Code
	sentinel error
}{
	{offline.ErrLicenseSuspended, CodeSuspended, ErrSuspended},
	{offline.ErrLicenseRevoked, CodeRevoked, ErrRevoked},
	{offline.ErrLicenseBanned, CodeBanned, ErrBanned},
	{offline.ErrLicenseExpired, CodeExpired, ErrExpired},
	{offline.ErrEntitlementsMissing, CodeEntitlementsMissing, ErrEntitlementsMissing},
}

// fallbackState is what Start decides when the service gives no answer
// within the start timeout: from the license file read at Start, else
// denied as unavailable.
func fallbackState(f *offline.File, fileErr error, ents []string, timeout time.Duration, now time.Time) GuardState {
	why := &unavailableError{fmt.Errorf("licentric: no answer from the service within the start timeout (%v)", timeout)}
	if f != nil {
		return stateOfFile(f, why, ents, now)
	}
	st := unavailable(why, fileErr, now)
	st.FileErr = fileErr
	return st
}

// definitiveDenial reports a code after which the license must not run
// offline either.
func definitiveDenial(c Code) bool {
	switch c {
	case CodeSuspended, CodeRevoked, CodeBanned, CodeExpired, CodeNotFound, CodeEntitlementsMissing:
		return true // CodeExpired arrives here only when not valid: RESTRICT_ACCESS
	}
	return false
}

// permanentDenial reports a code no later answer can change: the guard
// then asks only every check interval.
func permanentDenial(c Code) bool { return c == CodeRevoked || c == CodeBanned }
