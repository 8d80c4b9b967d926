package migrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/clock"
)

// Results of a record in Apply.
const (
	ResultCreated  = "created"  // created by this run
	ResultExisting = "existing" // imported before (journal or _source metadata): left alone
	ResultFailed   = "failed"   // not imported; Error says why, and a re-run tries again
)

// Outcome is what Apply did with one record.
type Outcome struct {
	Kind     Kind
	SourceID string
	Origin   string
	// ID is the Licentric id ("" when the record failed before it existed).
	ID     string
	Result string
	Error  *Issue // for ResultFailed
}

// ResultCounts are the outcomes of one kind.
type ResultCounts struct {
	Created, Existing, Failed int
}

// Result is what Apply did: one Outcome per accepted record it reached, in
// the order it reached them.
type Result struct {
	Outcomes []Outcome
	// Duration is how long Apply ran.
	Duration time.Duration
}

// Counts returns the outcomes of kind k.
func (r *Result) Counts(k Kind) ResultCounts {
	var c ResultCounts
	for _, o := range r.Outcomes {
		if o.Kind != k {
			continue
		}
		switch o.Result {
		case ResultCreated:
			c.Created++
		case ResultExisting:
			c.Existing++
		case ResultFailed:
			c.Failed++
		}
	}
	return c
}

// Failed returns the number of records that failed.
func (r *Result) Failed() int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Result == ResultFailed {
			n++
		}
	}
	return n
}

// Progress reports how far Apply has got; see WithProgress.
type Progress struct {
	// Kind is the kind of record being imported.
	Kind Kind
	// Done counts the records finished by this run (created, existing or
	// failed), of Total.
	Done, Total int
	// Created, Existing and Failed split Done.
	Created, Existing, Failed int
	// Elapsed is the time since Apply started.
	Elapsed time.Duration
}

// ApplyOption configures Apply.
type ApplyOption func(*applyConfig)

type applyConfig struct {
	progress    func(Progress)
	clock       clock.Clock
	attempts    int
	minWait     time.Duration
	maxWait     time.Duration
	maxFailures int
	logger      *slog.Logger
}

// WithProgress calls fn after each record (from Apply's goroutine; fn
// must not block for long).
func WithProgress(fn func(Progress)) ApplyOption {
	return func(c *applyConfig) { c.progress = fn }
}

// WithClock sets the clock Apply reads "now" from and waits on between
// retries; nil is the wall clock.
func WithClock(clk clock.Clock) ApplyOption {
	return func(c *applyConfig) { c.clock = clk }
}

// WithRetry sets how often Apply tries one step of a record that meets a
// 5xx, a 429 or a transport error (beyond the client's own retries), and
// the waits between the tries: doubling from minWait up to maxWait, with
// jitter, and at least a 429's Retry-After. The default is 8 tries, 1 s
// to 30 s. Values below 1 try or zero waits keep the defaults.
func WithRetry(attempts int, minWait, maxWait time.Duration) ApplyOption {
	return func(c *applyConfig) {
		if attempts >= 1 {
			c.attempts = attempts
		}
		if minWait > 0 {
			c.minWait = minWait
		}
		if maxWait > 0 {
			c.maxWait = maxWait
		}
	}
}

// WithLogger sets a logger for Apply's decisions (debug level); silent by
// default. Nothing logged holds a license key or a credential.
func WithLogger(l *slog.Logger) ApplyOption {
	return func(c *applyConfig) { c.logger = l }
}

// recordError is a failure of one record that retrying will not fix.
type recordError struct {
	code string
	msg  string
}

func (e *recordError) Error() string { return e.msg }

func failf(code, format string, a ...any) error {
	return &recordError{code: code, msg: fmt.Sprintf(format, a...)}
}

// interimHorizon: a license that still has machines or a status change
// ahead is created without its expiry when that expiry is this close (or
// past), so the machines can be activated and the status set first; the
// expiry is set last.
const interimHorizon = 7 * 24 * time.Hour

// applier is one Apply run.
type applier struct {
	c       *licentric.Client
	p       *Plan
	j       *Journal
	cfg     applyConfig
	clock   clock.Clock
	start   time.Time
	res     *Result
	ids     map[Kind]map[string]string // source id → Licentric id, for the records resolved
	entIDs  map[string]string          // entitlement code → id
	pending []*licState                // licenses with steps left after their machines
	index   map[string]int             // kind/source → index into res.Outcomes
	total   int
	failedT int // consecutive records that failed on transient errors
	kind    Kind
	prog    Progress
}

// licState is a license whose machines, status or expiry are still to do.
type licState struct {
	lic *License
	id  string
	// cur is the license as last seen; nil: unknown (read it first).
	cur *licentric.License
}

// Apply imports plan into the environment of client, in dependency order
// (products, entitlements, policies, licenses, machines, then the
// licenses' statuses and expiries), through the management API. It is
// idempotent and resumable: every record is journaled (appended and
// fsynced) as soon as it is imported, and carries its source in
// metadata._source, so a re-run after a crash, a 5xx or a cancelled context
// skips what exists and finishes the rest. See the package documentation
// for the rules.
//
// Apply sends one request at a time through the client, so it stays
// inside the client's rate budget (the service allows 120 management
// requests a minute per API key, and 10 machine activations a minute per
// IP). It retries 5xx, 429 and transport errors (WithRetry), and stops
// when ctx is done, leaving the journal consistent; the Result then holds
// what was done and the error is ctx's. A record that fails for good
// (refused by the API, a key taken by another record) is reported in the
// Result, and Apply goes on. An error is returned for what stops the whole
// run: ctx, a journal that cannot be written or belongs to another import,
// an API key the service refuses, or a target that keeps failing
// (ErrTargetUnavailable).
func Apply(ctx context.Context, client *licentric.Client, plan *Plan, journal *Journal, opts ...ApplyOption) (*Result, error) {
	switch {
	case ctx == nil:
		return nil, errors.New("migrate: nil context")
	case client == nil || plan == nil || journal == nil:
		return nil, errors.New("migrate: Apply needs a client, a plan and a journal")
	case client.Environment() == licentric.EnvironmentNone:
		return nil, fmt.Errorf("migrate: %w", licentric.ErrNoAPIKey)
	}
	cfg := applyConfig{attempts: 8, minWait: time.Second, maxWait: 30 * time.Second, maxFailures: 3}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.maxWait < cfg.minWait {
		cfg.maxWait = cfg.minWait
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if err := journal.begin(plan.System, client.Environment().String(), client.BaseURL()); err != nil {
		return nil, err
	}
	a := &applier{
		c: client, p: plan, j: journal, cfg: cfg, clock: clock.OrWall(cfg.clock),
		res: &Result{}, ids: map[Kind]map[string]string{}, entIDs: map[string]string{}, index: map[string]int{},
	}
	a.start = a.clock.Now()
	for _, k := range Kinds {
		a.ids[k] = map[string]string{}
		a.total += plan.Counts(k).Accepted
	}
	err := a.run(ctx)
	a.res.Duration = a.clock.Now().Sub(a.start)
	if err == nil {
		err = ctx.Err()
	}
	return a.res, err
}

func (a *applier) run(ctx context.Context) error {
	steps := []func(context.Context) error{a.products, a.entitlements, a.policies, a.licenses, a.machines, a.finalize}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// --- bookkeeping ---

func (a *applier) outcome(r *Record, id, result string, err error) {
	o := Outcome{Kind: r.Kind, SourceID: r.SourceID, Origin: r.Origin, ID: id, Result: result}
	if err != nil {
		o.Error = issueOf(err)
	}
	key := string(r.Kind) + "\x00" + r.SourceID
	if i, ok := a.index[key]; ok {
		// A later step of the same record (a license's status) changes its
		// outcome.
		a.count(a.res.Outcomes[i].Result, -1)
		a.res.Outcomes[i] = o
	} else {
		a.index[key] = len(a.res.Outcomes)
		a.res.Outcomes = append(a.res.Outcomes, o)
		a.prog.Done++
	}
	a.count(result, 1)
	if result != ResultFailed {
		a.ids[r.Kind][r.SourceID] = id
	}
	if a.cfg.progress != nil {
		p := a.prog
		p.Kind, p.Total, p.Elapsed = r.Kind, a.total, a.clock.Now().Sub(a.start)
		a.cfg.progress(p)
	}
}

func (a *applier) count(result string, d int) {
	switch result {
	case ResultCreated:
		a.prog.Created += d
	case ResultExisting:
		a.prog.Existing += d
	case ResultFailed:
		a.prog.Failed += d
	}
}

// issueOf turns an error into a reportable issue.
func issueOf(err error) *Issue {
	var re *recordError
	if errors.As(err, &re) {
		return &Issue{Code: re.code, Message: re.msg}
	}
	code := "api_error"
	var ae *licentric.APIError
	if errors.As(err, &ae) {
		switch {
		case errors.Is(err, licentric.ErrValidation):
			code = "refused"
		case errors.Is(err, licentric.ErrNotFound):
			code = "not_found"
		case errors.Is(err, licentric.ErrConflict):
			code = "conflict"
		case ae.StatusCode >= 500 || ae.StatusCode == 429:
			code = "unavailable"
		}
	} else if transient(err) {
		code = "unavailable"
	}
	return &Issue{Code: code, Message: strings.TrimPrefix(err.Error(), "licentric: ")}
}

func (a *applier) journal(r *Record, id, state string) error {
	if err := a.j.record(JournalEntry{Kind: r.Kind, SourceID: r.SourceID, ID: id, State: state, Hash: r.hash}); err != nil {
		return fmt.Errorf("%w: %w", errJournal, err)
	}
	return nil
}

// done journals a record as done and reports its outcome.
func (a *applier) done(r *Record, id, result string) error {
	if err := a.journal(r, id, StateDone); err != nil {
		return err
	}
	a.outcome(r, id, result, nil)
	return nil
}

// settle handles the error of one record: a fatal error is returned, any
// other one is the record's failure.
func (a *applier) settle(ctx context.Context, r *Record, id string, err error) error {
	if err == nil {
		return nil
	}
	if f := a.fatal(ctx, err); f != nil {
		return f
	}
	a.cfg.logger.DebugContext(ctx, "migrate: record failed", "kind", r.Kind, "source", r.SourceID, "error", issueOf(err).Message)
	a.outcome(r, id, ResultFailed, err)
	if transient(err) {
		a.failedT++
		if a.failedT >= a.cfg.maxFailures {
			return fmt.Errorf("%w: %d records in a row failed: %s", ErrTargetUnavailable, a.failedT, issueOf(err).Message)
		}
	}
	return nil
}

// fatal returns the error that stops the whole run, or nil.
func (a *applier) fatal(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, errJournal):
		return err
	case errors.Is(err, licentric.ErrUnauthorized) || errors.Is(err, licentric.ErrForbidden) || errors.Is(err, licentric.ErrNoAPIKey):
		return fmt.Errorf("%w: the API key is refused: %v", ErrTargetUnavailable, err)
	}
	return nil
}

var errJournal = errors.New("migrate: the journal cannot be written")

// transient reports an error worth retrying: 5xx, 429, transport errors and
// responses that could not be read.
func transient(err error) bool {
	var re *recordError
	switch {
	case err == nil, errors.As(err, &re):
		return false
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.Is(err, licentric.ErrServer), errors.Is(err, licentric.ErrRateLimited):
		return true
	case errors.Is(err, licentric.ErrInvalidArgument), errors.Is(err, licentric.ErrNoAPIKey):
		return false
	}
	var ae *licentric.APIError
	if errors.As(err, &ae) {
		return ae.StatusCode >= 500 || ae.StatusCode == 429
	}
	return true // transport errors, malformed (cut-off) responses
}

// try runs op until it succeeds, fails for good, or the tries run out.
// Before a repeated try, op is told that the previous one may have acted.
func (a *applier) try(ctx context.Context, op func(retry bool) error) error {
	wait := a.cfg.minWait
	for i := 0; ; i++ {
		err := op(i > 0)
		if err == nil {
			a.failedT = 0
			return nil
		}
		if !transient(err) || i+1 >= a.cfg.attempts || ctx.Err() != nil {
			return err
		}
		d := wait/2 + rand.N(wait/2+1)
		var rl *licentric.RateLimitError
		if errors.As(err, &rl) && rl.RetryAfter > d {
			d = min(rl.RetryAfter, time.Minute)
		}
		a.cfg.logger.DebugContext(ctx, "migrate: retrying", "wait", d, "error", issueOf(err).Message)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-a.clock.After(d):
		}
		wait = min(wait*2, a.cfg.maxWait)
	}
}

// journaled returns the journal entry of r, if any.
func (a *applier) journaled(r *Record) (JournalEntry, bool) {
	return a.j.Lookup(r.Kind, r.SourceID)
}

// --- products ---

func (a *applier) products(ctx context.Context) error {
	a.kind = KindProduct
	var idx *targetIndex
	for _, pr := range a.p.Products {
		result := ResultCreated
		if !pr.Accepted() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e, ok := a.journaled(&pr.Record); ok {
			a.outcome(&pr.Record, e.ID, ResultExisting, nil)
			continue
		}
		if pr.Existing != "" {
			if err := a.done(&pr.Record, pr.Existing, ResultExisting); err != nil {
				return err
			}
			continue
		}
		find := func() (string, error) {
			if idx == nil {
				idx = &targetIndex{productsBySource: map[string]*licentric.Product{}, productsByCode: map[string]*licentric.Product{}, productsByID: map[string]*licentric.Product{}}
			}
			if err := idx.loadProducts(ctx, a.c, a.p.System); err != nil {
				return "", err
			}
			if t := idx.productsBySource[pr.SourceID]; t != nil {
				return t.ID, nil
			}
			if t := idx.productsByCode[pr.Code]; t != nil {
				// The target has the product: it is used, as the plan would.
				result = ResultExisting
				return t.ID, nil
			}
			return "", nil
		}
		req := &licentric.ProductRequest{Name: &pr.Name, Code: &pr.Code, Metadata: pr.Metadata}
		if pr.Description != "" {
			req.Description = &pr.Description
		}
		var id string
		err := a.try(ctx, func(retry bool) error {
			if retry {
				found, err := find()
				if err != nil || found != "" {
					id = found
					return err
				}
			}
			got, err := a.c.Products.Create(ctx, req)
			if err == nil {
				id = got.ID
				return nil
			}
			if errors.Is(err, licentric.ErrConflict) {
				found, ferr := find()
				if ferr == nil && found == "" {
					ferr = failf("code_taken", "product code %q is taken in the target", pr.Code)
				}
				id = found
				return ferr
			}
			return err
		})
		if err != nil {
			if err := a.settle(ctx, &pr.Record, "", err); err != nil {
				return err
			}
			continue
		}
		if err := a.done(&pr.Record, id, result); err != nil {
			return err
		}
	}
	return nil
}

// --- entitlements ---

func (a *applier) entitlements(ctx context.Context) error {
	a.kind = KindEntitlement
	var idx *targetIndex
	for _, e := range a.p.Entitlements {
		if !e.Accepted() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if je, ok := a.journaled(&e.Record); ok {
			a.entIDs[e.Code] = je.ID
			a.outcome(&e.Record, je.ID, ResultExisting, nil)
			continue
		}
		if e.Existing != "" {
			a.entIDs[e.Code] = e.Existing
			if err := a.done(&e.Record, e.Existing, ResultExisting); err != nil {
				return err
			}
			continue
		}
		find := func() (string, error) {
			if idx == nil {
				idx = &targetIndex{entsByCode: map[string]*licentric.Entitlement{}}
			}
			if err := idx.loadEntitlements(ctx, a.c); err != nil {
				return "", err
			}
			if t := idx.entsByCode[e.Code]; t != nil {
				return t.ID, nil
			}
			return "", nil
		}
		req := &licentric.EntitlementRequest{Code: &e.Code, Name: &e.Name, Metadata: e.Metadata}
		var id string
		result := ResultCreated
		err := a.try(ctx, func(retry bool) error {
			if retry {
				found, err := find()
				if err != nil || found != "" {
					id = found
					return err
				}
			}
			got, err := a.c.Entitlements.Create(ctx, req)
			if err == nil {
				id = got.ID
				return nil
			}
			if errors.Is(err, licentric.ErrConflict) {
				found, ferr := find()
				if ferr == nil && found == "" {
					ferr = failf("code_taken", "entitlement code %q is taken in the target", e.Code)
				}
				id, result = found, ResultExisting
				return ferr
			}
			return err
		})
		if err != nil {
			if err := a.settle(ctx, &e.Record, "", err); err != nil {
				return err
			}
			continue
		}
		a.entIDs[e.Code] = id
		if err := a.done(&e.Record, id, result); err != nil {
			return err
		}
	}
	return nil
}

// --- policies ---

func policyRequest(p *Policy, productID string) *licentric.PolicyRequest {
	req := &licentric.PolicyRequest{
		ProductID:             &productID,
		Name:                  &p.Name,
		MaxMachines:           licentric.Null[int](),
		MaxUses:               licentric.Null[int](),
		DurationDays:          licentric.Null[int](),
		Floating:              licentric.Ptr(p.Floating),
		ExpirationStrategy:    licentric.Ptr(p.ExpirationStrategy),
		RequireHeartbeat:      licentric.Ptr(p.RequireHeartbeat),
		RequireFingerprint:    licentric.Ptr(p.RequireFingerprint),
		FingerprintUniqueness: licentric.Ptr(p.FingerprintUniqueness),
		OfflineAllowed:        licentric.Ptr(p.OfflineAllowed),
		IsTrial:               licentric.Ptr(p.IsTrial),
		Overridable:           licentric.Ptr(p.Overridable),
		Metadata:              p.Metadata,
	}
	if p.MaxMachines != nil {
		req.MaxMachines = licentric.Value(*p.MaxMachines)
	} else {
		req.AllowUnlimitedActivations = licentric.Ptr(true)
	}
	if p.MaxUses != nil {
		req.MaxUses = licentric.Value(*p.MaxUses)
	}
	if p.DurationDays != nil {
		req.DurationDays = licentric.Value(*p.DurationDays)
	}
	if p.HeartbeatIntervalMinutes > 0 {
		req.HeartbeatIntervalMinutes = licentric.Ptr(p.HeartbeatIntervalMinutes)
	}
	if p.HeartbeatCullStrategy != "" {
		req.HeartbeatCullStrategy = licentric.Ptr(p.HeartbeatCullStrategy)
	}
	if p.OfflineAllowed && p.OfflineMaxDays > 0 {
		req.OfflineMaxDays = licentric.Ptr(p.OfflineMaxDays)
	}
	if p.IsTrial && p.TrialDurationDays != nil {
		req.TrialDurationDays = licentric.Value(*p.TrialDurationDays)
	}
	return req
}

func (a *applier) policies(ctx context.Context) error {
	a.kind = KindPolicy
	var idx *targetIndex
	for _, pol := range a.p.Policies {
		if !pol.Accepted() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		var id string
		have := []string(nil) // entitlement codes it has, when known
		known := false
		if e, ok := a.journaled(&pol.Record); ok {
			if e.State == StateDone {
				a.outcome(&pol.Record, e.ID, ResultExisting, nil)
				continue
			}
			id = e.ID
		} else if pol.Existing != "" {
			id = pol.Existing
			if t, ok := pol.observed.(*licentric.Policy); ok {
				have, known = t.Entitlements, true
			}
		}
		if id == "" && idx == nil {
			// Policies have no unique key: one created by an earlier run
			// that did not journal it is found only by its _source.
			idx = &targetIndex{policiesBySource: map[string]*licentric.Policy{}}
			err := a.try(ctx, func(bool) error { return idx.loadPolicies(ctx, a.c, a.p.System) })
			if err != nil {
				if f := a.fatal(ctx, err); f != nil {
					return f
				}
				return fmt.Errorf("%w: list the target's policies: %v", ErrTargetUnavailable, err)
			}
		}
		if id == "" {
			if t := idx.policiesBySource[pol.SourceID]; t != nil {
				id, have, known = t.ID, t.Entitlements, true
			}
		}
		result := ResultExisting
		if id == "" {
			productID := a.ids[KindProduct][pol.ProductSource]
			if productID == "" {
				a.outcome(&pol.Record, "", ResultFailed, failf("dependency_failed", "its product %s was not imported", pol.ProductSource))
				continue
			}
			req := policyRequest(pol, productID)
			err := a.try(ctx, func(retry bool) error {
				if retry {
					// The earlier try may have created it: look for it.
					if err := idx.loadPolicies(ctx, a.c, a.p.System); err != nil {
						return err
					}
					if t := idx.policiesBySource[pol.SourceID]; t != nil {
						id, have, known = t.ID, t.Entitlements, true
						return nil
					}
				}
				got, err := a.c.Policies.Create(ctx, req)
				if err == nil {
					id, have, known = got.ID, got.Entitlements, true
				}
				return err
			})
			if err != nil {
				if err := a.settle(ctx, &pol.Record, "", err); err != nil {
					return err
				}
				continue
			}
			result = ResultCreated
		}
		missing := pol.Entitlements
		if known {
			missing = minus(pol.Entitlements, have)
		}
		if len(missing) > 0 {
			if err := a.journal(&pol.Record, id, StateCreated); err != nil {
				return err
			}
			err := a.try(ctx, func(bool) error {
				_, err := a.c.Policies.AttachEntitlements(ctx, id, missing...)
				return err
			})
			if err != nil {
				if err := a.settle(ctx, &pol.Record, id, err); err != nil {
					return err
				}
				continue
			}
		}
		if err := a.done(&pol.Record, id, result); err != nil {
			return err
		}
	}
	return nil
}

// --- licenses ---

func ts(t time.Time) licentric.Nullable[licentric.Timestamp] {
	if t.IsZero() {
		return licentric.Null[licentric.Timestamp]()
	}
	return licentric.Value(licentric.Timestamp{Time: t.UTC().Truncate(time.Millisecond)})
}

func sameTime(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() && b.IsZero()
	}
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
}

func (a *applier) licenses(ctx context.Context) error {
	a.kind = KindLicense
	machines := map[string]int{}
	for _, m := range a.p.Machines {
		if m.Accepted() {
			machines[m.LicenseSource]++
		}
	}
	for _, l := range a.p.Licenses {
		if !l.Accepted() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e, ok := a.journaled(&l.Record); ok {
			a.outcome(&l.Record, e.ID, ResultExisting, nil)
			if e.State != StateDone {
				a.pending = append(a.pending, &licState{lic: l, id: e.ID})
			}
			continue
		}
		if l.Existing != "" {
			cur, _ := l.observed.(*licentric.License)
			if err := a.adopt(l, l.Existing, cur, machines[l.SourceID] > 0, ResultExisting); err != nil {
				return err
			}
			continue
		}
		policyID := a.ids[KindPolicy][l.PolicySource]
		productID := a.ids[KindProduct][l.ProductSource]
		if policyID == "" || productID == "" {
			a.outcome(&l.Record, "", ResultFailed, failf("dependency_failed", "its policy %s was not imported", l.PolicySource))
			continue
		}
		var entIDs []string
		var missingEnt string
		for _, code := range l.Entitlements {
			id := a.entIDs[code]
			if id == "" {
				missingEnt = code
				break
			}
			entIDs = append(entIDs, id)
		}
		if missingEnt != "" {
			a.outcome(&l.Record, "", ResultFailed, failf("dependency_failed", "its entitlement %q was not imported", missingEnt))
			continue
		}
		later := machines[l.SourceID] > 0 || l.Status != licentric.StatusActive
		expiry := l.ExpiresAt
		if later && !expiry.IsZero() && expiry.Before(a.clock.Now().Add(interimHorizon)) {
			expiry = time.Time{}
		}
		key := string(l.Key)
		req := &licentric.LicenseRequest{
			ProductID: &productID, PolicyID: &policyID, Key: &key,
			ExpiresAt: ts(expiry), EntitlementIDs: entIDs, Metadata: l.Metadata,
		}
		if l.Name != "" {
			req.Name = &l.Name
		}
		if l.UserEmail != "" {
			req.UserEmail = &l.UserEmail
		}
		if l.UserName != "" {
			req.UserName = &l.UserName
		}
		if l.MaxMachinesOverride != nil {
			req.MaxMachinesOverride = licentric.Value(*l.MaxMachinesOverride)
		}
		if l.MaxUsesOverride != nil {
			req.MaxUsesOverride = licentric.Value(*l.MaxUsesOverride)
		}
		var got *licentric.License
		adopted := false
		err := a.try(ctx, func(bool) error {
			lic, err := a.c.Licenses.Create(ctx, req)
			if err == nil {
				got = lic
				return nil
			}
			if !errors.Is(err, licentric.ErrConflict) {
				return err
			}
			// The key is taken: by this record (an earlier run or try), or
			// by another.
			cur, gerr := a.c.Licenses.GetByKey(ctx, key)
			switch {
			case gerr == nil && ours(cur.Metadata, a.p.System, l.SourceID):
				got, adopted = cur, true
				return nil
			case gerr == nil:
				return failf("key_taken", "the key is used in the target by license %s, which does not come from this source record", cur.ID)
			case errors.Is(gerr, licentric.ErrNotFound):
				return failf("key_taken", "the key is taken in the target by a license this API key cannot see (deleted, or in the other environment)")
			}
			return gerr
		})
		if err != nil {
			if err := a.settle(ctx, &l.Record, "", err); err != nil {
				return err
			}
			continue
		}
		result := ResultCreated
		if adopted {
			result = ResultExisting
		}
		if err := a.adopt(l, got.ID, got, machines[l.SourceID] > 0, result); err != nil {
			return err
		}
	}
	return nil
}

// adopt records a license that exists in the target (created now, or
// found): done when nothing is left, otherwise created and pending.
func (a *applier) adopt(l *License, id string, cur *licentric.License, hasMachines bool, result string) error {
	complete := cur != nil && !hasMachines && cur.Status == wantStatus(l, a.clock.Now()) && sameTime(cur.ExpiresAt.Time, l.ExpiresAt)
	if complete {
		return a.done(&l.Record, id, result)
	}
	if err := a.journal(&l.Record, id, StateCreated); err != nil {
		return err
	}
	a.outcome(&l.Record, id, result, nil)
	a.pending = append(a.pending, &licState{lic: l, id: id, cur: cur})
	return nil
}

// wantStatus is the status the target reports for l once imported.
func wantStatus(l *License, now time.Time) string {
	if l.Status == licentric.StatusActive && !l.ExpiresAt.IsZero() && !l.ExpiresAt.After(now) {
		return licentric.StatusExpired
	}
	return l.Status
}

// --- machines ---

func (a *applier) machines(ctx context.Context) error {
	a.kind = KindMachine
	for _, m := range a.p.Machines {
		if !m.Accepted() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e, ok := a.journaled(&m.Record); ok {
			a.outcome(&m.Record, e.ID, ResultExisting, nil)
			continue
		}
		licenseID := a.ids[KindLicense][m.LicenseSource]
		if licenseID == "" {
			a.outcome(&m.Record, "", ResultFailed, failf("dependency_failed", "its license %s was not imported", m.LicenseSource))
			continue
		}
		req := &licentric.MachineRequest{
			LicenseID: licenseID, Fingerprint: m.Fingerprint, Name: m.Name, Platform: m.Platform,
			Hostname: m.Hostname, Cores: m.Cores, Metadata: m.Metadata,
		}
		var id string
		result := ResultCreated
		err := a.try(ctx, func(bool) error {
			got, err := a.c.Machines.Create(ctx, req)
			if err == nil {
				id = got.ID
				return nil
			}
			var ae *licentric.APIError
			switch {
			case errors.Is(err, licentric.ErrFingerprintConflict) && errors.As(err, &ae) && ae.MachineID() != "":
				cur, gerr := a.c.Machines.Get(ctx, ae.MachineID())
				if gerr != nil {
					return gerr
				}
				if !ours(cur.Metadata, a.p.System, m.SourceID) {
					return failf("fingerprint_conflict", "the license has a machine with this fingerprint already (%s), not from this source record", cur.ID)
				}
				id, result = cur.ID, ResultExisting
				return nil
			case errors.Is(err, licentric.ErrFingerprintConflict):
				return failf("fingerprint_conflict", "the fingerprint is activated on another license under the policy's uniqueness rule")
			case errors.Is(err, licentric.ErrLicenseNotActive):
				// An earlier run may have created it and set the status.
				for mc, lerr := range a.c.Machines.List(ctx, &licentric.MachineListOptions{LicenseID: licenseID, ListOptions: licentric.ListOptions{Limit: 100}}) {
					if lerr != nil {
						return lerr
					}
					if mc.Fingerprint == m.Fingerprint && ours(mc.Metadata, a.p.System, m.SourceID) {
						id, result = mc.ID, ResultExisting
						return nil
					}
				}
				return failf("license_not_active", "the license is not active, so the machine cannot be activated")
			}
			return err
		})
		if err != nil {
			if err := a.settle(ctx, &m.Record, "", err); err != nil {
				return err
			}
			continue
		}
		if err := a.done(&m.Record, id, result); err != nil {
			return err
		}
	}
	return nil
}

// --- statuses and expiries ---

func (a *applier) finalize(ctx context.Context) error {
	a.kind = KindLicense
	for _, st := range a.pending {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := a.finish(ctx, st)
		if err != nil {
			if f := a.fatal(ctx, err); f != nil {
				return f
			}
			if err := a.settle(ctx, &st.lic.Record, st.id, err); err != nil {
				return err
			}
			continue
		}
		if err := a.journal(&st.lic.Record, st.id, StateDone); err != nil {
			return err
		}
		a.failedT = 0
	}
	return nil
}

// finish sets a pending license's status, then its expiry. It never moves
// a license out of a terminal status.
func (a *applier) finish(ctx context.Context, st *licState) error {
	l := st.lic
	get := func() error {
		return a.try(ctx, func(bool) error {
			cur, err := a.c.Licenses.Get(ctx, st.id)
			if err == nil {
				st.cur = cur
			}
			return err
		})
	}
	if st.cur == nil {
		if err := get(); err != nil {
			return err
		}
	}
	if l.Status == licentric.StatusSuspended || l.Status == licentric.StatusRevoked {
		if st.cur.Status == licentric.StatusExpired {
			// A transition is judged on the reported status: clear the
			// expiry first, it is set again below.
			if err := a.patchExpiry(ctx, st, time.Time{}); err != nil {
				return err
			}
		}
		switch cur := st.cur.Status; {
		case cur == l.Status:
		case cur == licentric.StatusRevoked || cur == licentric.StatusBanned:
			return failf("terminal_status", "the license is %s in the target; it is never revived", cur)
		default:
			err := a.try(ctx, func(bool) error {
				var got *licentric.License
				var err error
				if l.Status == licentric.StatusSuspended {
					got, err = a.c.Licenses.Suspend(ctx, st.id)
				} else {
					got, err = a.c.Licenses.Revoke(ctx, st.id)
				}
				if err == nil {
					st.cur = got
					return nil
				}
				if errors.Is(err, licentric.ErrConflict) {
					// Done by an earlier run? Then the status is there.
					cur, gerr := a.c.Licenses.Get(ctx, st.id)
					if gerr != nil {
						return gerr
					}
					st.cur = cur
					if cur.Status == l.Status {
						return nil
					}
					return failf("status_refused", "the target refused to make the %s license %s", cur.Status, l.Status)
				}
				return err
			})
			if err != nil {
				return err
			}
		}
	}
	if !sameTime(st.cur.ExpiresAt.Time, l.ExpiresAt) {
		return a.patchExpiry(ctx, st, l.ExpiresAt)
	}
	return nil
}

func (a *applier) patchExpiry(ctx context.Context, st *licState, t time.Time) error {
	return a.try(ctx, func(bool) error {
		got, err := a.c.Licenses.Update(ctx, st.id, &licentric.LicenseRequest{ExpiresAt: ts(t)})
		if err == nil {
			st.cur = got
		}
		return err
	})
}
