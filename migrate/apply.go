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

// WithRetry sets how many times at most Apply creates one record, and the
// waits between: doubling from minWait up to maxWait, with jitter. The
// default is 4 creates, 1 s to 30 s. Apply repeats a create only after a
// 5xx or a lost answer, which the client does not repeat because the
// create may have acted, and looks for what it made first; every other
// request (reads, updates, status changes, and a 429 on any request) is
// retried by the client alone, under its licentric.RetryPolicy. Values
// below 1 create or zero waits keep the defaults.
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
// IP). Retries are the client's (its RetryPolicy), except a create after
// a 5xx or a lost answer, which Apply repeats (WithRetry), and it stops
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
	cfg := applyConfig{attempts: 4, minWait: time.Second, maxWait: 30 * time.Second, maxFailures: 3}
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
		res: &Result{}, ids: map[Kind]map[string]string{}, index: map[string]int{},
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
		case errors.Is(err, licentric.ErrInvalidRequest):
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

// transient reports an error worth retrying: an outage, as the client
// classifies it (licentric.ErrUnavailable: 5xx and 429 after the client's
// retries, transport errors, answers that could not be read), never a
// record's own refusal.
func transient(err error) bool {
	var re *recordError
	return !errors.As(err, &re) && errors.Is(err, licentric.ErrUnavailable)
}

// ambiguous reports a failed create the client does not repeat because it
// may have acted: a 5xx, a transport error, an answer that could not be
// read. (The client repeats a 429 itself: the service refused it.)
func ambiguous(err error) bool {
	return transient(err) && !errors.Is(err, licentric.ErrRateLimited)
}

// try runs a create until it succeeds, fails for good, or the creates run
// out; it is Apply's only retry. Before a repeat, op is told that the
// previous create may have acted.
func (a *applier) try(ctx context.Context, op func(retry bool) error) error {
	wait := a.cfg.minWait
	for i := 0; ; i++ {
		err := op(i > 0)
		if err == nil || !ambiguous(err) || i+1 >= a.cfg.attempts || ctx.Err() != nil {
			return err
		}
		d := wait/2 + rand.N(wait/2+1)
		a.cfg.logger.DebugContext(ctx, "migrate: creating again", "wait", d, "error", issueOf(err).Message)
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

// made is a record that exists in the target: its id, whether this run
// created it (ResultCreated) or found it (ResultExisting), and the record
// as the target returned it (*licentric.Policy, *licentric.License), when
// known.
type made struct {
	id, result string
	cur        any
}

// steps says how Apply imports one kind of record; importAll runs them for
// every accepted record of the kind, in order:
//
//  1. a record the journal holds as done is left alone (ResultExisting);
//     one it holds half-done goes to resume;
//  2. a record the plan found in the target (Record.Existing) goes to
//     finish;
//  3. prior may find it in the target (made by a run that did not journal
//     it);
//  4. needs may name a dependency that failed: the record fails;
//  5. create makes it, repeated by try; before a repeat, and after a
//     create error, find looks for what an earlier create made (or
//     resolves the conflict);
//  6. finish journals it (done by default).
//
// A record's error is its failure (settle), unless it stops the run.
type steps[T any] struct {
	kind   Kind
	rec    func(T) *Record
	resume func(x T, id string) made                                           // nil: as done; made{} when settled
	prior  func(ctx context.Context, x T) (made, bool, error)                  // nil: none
	needs  func(x T) error                                                     // nil: none
	create func(ctx context.Context, x T) (made, error)                        // required
	find   func(ctx context.Context, x T, createErr error) (made, bool, error) // nil: none
	finish func(ctx context.Context, x T, m made) error                        // nil: done
}

// stopError is an error of importOne that stops the whole run.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }

// importAll runs s for every accepted record of recs.
func importAll[T any](ctx context.Context, a *applier, recs []T, s steps[T]) error {
	a.kind = s.kind
	for _, x := range recs {
		r := s.rec(x)
		if !r.Accepted() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := importOne(ctx, a, x, r, s)
		var stop *stopError
		if errors.As(err, &stop) {
			return stop.err
		}
		if err == nil && m.id != "" {
			if s.finish != nil {
				err = s.finish(ctx, x, m)
			} else {
				err = a.done(r, m.id, m.result)
			}
		}
		if err != nil {
			if err := a.settle(ctx, r, m.id, err); err != nil {
				return err
			}
			continue
		}
		a.failedT = 0
	}
	return nil
}

// importOne finds or creates one record: what exists (m.id == "" when
// nothing is left to do), or the record's error.
func importOne[T any](ctx context.Context, a *applier, x T, r *Record, s steps[T]) (made, error) {
	if e, ok := a.journaled(r); ok {
		if e.State == StateDone || s.resume == nil {
			a.outcome(r, e.ID, ResultExisting, nil)
			return made{}, nil
		}
		return s.resume(x, e.ID), nil
	}
	if r.Existing != "" {
		return made{id: r.Existing, result: ResultExisting, cur: r.observed}, nil
	}
	if s.prior != nil {
		m, ok, err := s.prior(ctx, x)
		if f := a.fatal(ctx, err); f != nil {
			return made{}, &stopError{f}
		} else if err != nil {
			return made{}, &stopError{fmt.Errorf("%w: %v", ErrTargetUnavailable, err)}
		}
		if ok {
			return m, nil
		}
	}
	if s.needs != nil {
		if err := s.needs(x); err != nil {
			a.outcome(r, "", ResultFailed, err)
			return made{}, nil
		}
	}
	var m made
	err := a.try(ctx, func(retry bool) error {
		if retry && s.find != nil {
			got, ok, err := s.find(ctx, x, nil)
			if err != nil || ok {
				m = got
				return err
			}
		}
		got, err := s.create(ctx, x)
		if err == nil {
			m = got
			return nil
		}
		if s.find != nil {
			if got, ok, ferr := s.find(ctx, x, err); ferr != nil || ok {
				m = got
				return ferr
			}
		}
		return err
	})
	return m, err
}

// --- the kinds ---

func (a *applier) products(ctx context.Context) error {
	idx := &targetIndex{productsBySource: map[string]*licentric.Product{}, productsByCode: map[string]*licentric.Product{}, productsByID: map[string]*licentric.Product{}}
	return importAll(ctx, a, a.p.Products, steps[*Product]{
		kind: KindProduct,
		rec:  func(pr *Product) *Record { return &pr.Record },
		create: func(ctx context.Context, pr *Product) (made, error) {
			req := &licentric.ProductRequest{Name: licentric.Value(pr.Name), Code: licentric.Value(pr.Code), Metadata: pr.Metadata}
			if pr.Description != "" {
				req.Description = licentric.Value(pr.Description)
			}
			got, err := a.c.Products.Create(ctx, req)
			if err != nil {
				return made{}, err
			}
			return made{id: got.ID, result: ResultCreated}, nil
		},
		// Made by an earlier create (its _source), or a product of the
		// target with the code, used as the plan would.
		find: func(ctx context.Context, pr *Product, createErr error) (made, bool, error) {
			return byCode(createErr, "product", pr.Code, func(bool) (made, bool, error) {
				if err := idx.loadProducts(ctx, a.c, a.p.System); err != nil {
					return made{}, false, err
				}
				if t := idx.productsBySource[pr.SourceID]; t != nil {
					return made{id: t.ID, result: ResultCreated}, true, nil
				}
				if t := idx.productsByCode[pr.Code]; t != nil {
					return made{id: t.ID, result: ResultExisting}, true, nil
				}
				return made{}, false, nil
			})
		},
	})
}

// byCode is the find of a kind whose code is unique in the target: look
// (told whether the create met a conflict) returns what the target has;
// a conflict with nothing to show is code_taken.
func byCode(createErr error, what, code string, look func(conflict bool) (made, bool, error)) (made, bool, error) {
	conflict := errors.Is(createErr, licentric.ErrConflict)
	if createErr != nil && !conflict {
		return made{}, false, nil
	}
	m, ok, err := look(conflict)
	if err == nil && !ok && conflict {
		err = failf("code_taken", "%s code %q is taken in the target", what, code)
	}
	return m, ok, err
}

func (a *applier) entitlements(ctx context.Context) error {
	idx := &targetIndex{entsByCode: map[string]*licentric.Entitlement{}}
	return importAll(ctx, a, a.p.Entitlements, steps[*Entitlement]{
		kind: KindEntitlement,
		rec:  func(e *Entitlement) *Record { return &e.Record },
		create: func(ctx context.Context, e *Entitlement) (made, error) {
			got, err := a.c.Entitlements.Create(ctx, &licentric.EntitlementRequest{Code: licentric.Value(e.Code), Name: licentric.Value(e.Name), Metadata: e.Metadata})
			if err != nil {
				return made{}, err
			}
			return made{id: got.ID, result: ResultCreated}, nil
		},
		// Entitlements are found by their code: made by an earlier
		// create, or (after a conflict) there before.
		find: func(ctx context.Context, e *Entitlement, createErr error) (made, bool, error) {
			return byCode(createErr, "entitlement", e.Code, func(conflict bool) (made, bool, error) {
				if err := idx.loadEntitlements(ctx, a.c); err != nil {
					return made{}, false, err
				}
				t := idx.entsByCode[e.Code]
				if t == nil {
					return made{}, false, nil
				}
				if conflict {
					return made{id: t.ID, result: ResultExisting}, true, nil
				}
				return made{id: t.ID, result: ResultCreated}, true, nil
			})
		},
	})
}

func (a *applier) policies(ctx context.Context) error {
	var idx *targetIndex // loaded at the first policy neither journal nor plan knows
	lookup := func(ctx context.Context, pol *Policy) (made, bool, error) {
		if idx == nil {
			idx = &targetIndex{policiesBySource: map[string]*licentric.Policy{}}
			if err := idx.loadPolicies(ctx, a.c, a.p.System); err != nil {
				idx = nil
				return made{}, false, err
			}
		}
		if t := idx.policiesBySource[pol.SourceID]; t != nil {
			return made{id: t.ID, result: ResultExisting, cur: t}, true, nil
		}
		return made{}, false, nil
	}
	return importAll(ctx, a, a.p.Policies, steps[*Policy]{
		kind: KindPolicy,
		rec:  func(pol *Policy) *Record { return &pol.Record },
		// Half-done: created, its entitlements maybe not attached.
		resume: func(_ *Policy, id string) made { return made{id: id, result: ResultExisting} },
		// Policies have no unique key: one created by an earlier run that
		// did not journal it is found only by its _source.
		prior: lookup,
		needs: func(pol *Policy) error {
			if a.ids[KindProduct][pol.ProductSource] == "" {
				return failf("dependency_failed", "its product %s was not imported", pol.ProductSource)
			}
			return nil
		},
		create: func(ctx context.Context, pol *Policy) (made, error) {
			got, err := a.c.Policies.Create(ctx, policyRequest(pol, a.ids[KindProduct][pol.ProductSource]))
			if err != nil {
				return made{}, err
			}
			return made{id: got.ID, result: ResultCreated, cur: got}, nil
		},
		find: func(ctx context.Context, pol *Policy, createErr error) (made, bool, error) {
			if createErr != nil {
				return made{}, false, nil
			}
			idx = nil // an earlier create may have made it: list again
			m, ok, err := lookup(ctx, pol)
			m.result = ResultCreated
			return m, ok, err
		},
		finish: func(ctx context.Context, pol *Policy, m made) error {
			missing := pol.Entitlements
			if t, ok := m.cur.(*licentric.Policy); ok {
				missing = minus(pol.Entitlements, t.Entitlements)
			}
			if len(missing) > 0 {
				if err := a.journal(&pol.Record, m.id, StateCreated); err != nil {
					return err
				}
				if _, err := a.c.Policies.AttachEntitlements(ctx, m.id, missing...); err != nil {
					return err
				}
			}
			return a.done(&pol.Record, m.id, m.result)
		},
	})
}
func policyRequest(p *Policy, productID string) *licentric.PolicyRequest {
	req := &licentric.PolicyRequest{
		ProductID:             licentric.Value(productID),
		Name:                  licentric.Value(p.Name),
		MaxMachines:           licentric.Null[int](),
		MaxUses:               licentric.Null[int](),
		DurationDays:          licentric.Null[int](),
		Floating:              licentric.Value(p.Floating),
		ExpirationStrategy:    licentric.Value(p.ExpirationStrategy),
		RequireHeartbeat:      licentric.Value(p.RequireHeartbeat),
		RequireFingerprint:    licentric.Value(p.RequireFingerprint),
		FingerprintUniqueness: licentric.Value(p.FingerprintUniqueness),
		OfflineAllowed:        licentric.Value(p.OfflineAllowed),
		IsTrial:               licentric.Value(p.IsTrial),
		Overridable:           licentric.Value(p.Overridable),
		Metadata:              p.Metadata,
	}
	if p.MaxMachines != nil {
		req.MaxMachines = licentric.Value(*p.MaxMachines)
	} else {
		req.AllowUnlimitedActivations = licentric.Value(true)
	}
	if p.MaxUses != nil {
		req.MaxUses = licentric.Value(*p.MaxUses)
	}
	if p.DurationDays != nil {
		req.DurationDays = licentric.Value(*p.DurationDays)
	}
	if p.HeartbeatIntervalMinutes > 0 {
		req.HeartbeatIntervalMinutes = licentric.Value(p.HeartbeatIntervalMinutes)
	}
	if p.HeartbeatCullStrategy != "" {
		req.HeartbeatCullStrategy = licentric.Value(p.HeartbeatCullStrategy)
	}
	if p.OfflineAllowed && p.OfflineMaxDays > 0 {
		req.OfflineMaxDays = licentric.Value(p.OfflineMaxDays)
	}
	if p.IsTrial && p.TrialDurationDays != nil {
		req.TrialDurationDays = licentric.Value(*p.TrialDurationDays)
	}
	return req
}

// --- licenses ---

func sameTime(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() && b.IsZero()
	}
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
}

func (a *applier) licenses(ctx context.Context) error {
	machines := map[string]int{}
	for _, m := range a.p.Machines {
		if m.Accepted() {
			machines[m.LicenseSource]++
		}
	}
	entSource := map[string]string{} // entitlement code → its source id
	for _, e := range a.p.Entitlements {
		entSource[e.Code] = e.SourceID
	}
	entIDs := func(l *License) ([]string, error) {
		var ids []string
		for _, code := range l.Entitlements {
			id := a.ids[KindEntitlement][entSource[code]]
			if id == "" {
				return nil, failf("dependency_failed", "its entitlement %q was not imported", code)
			}
			ids = append(ids, id)
		}
		return ids, nil
	}
	return importAll(ctx, a, a.p.Licenses, steps[*License]{
		kind: KindLicense,
		rec:  func(l *License) *Record { return &l.Record },
		// Half-done: created; machines, status or expiry maybe not.
		resume: func(l *License, id string) made {
			a.outcome(&l.Record, id, ResultExisting, nil)
			a.pending = append(a.pending, &licState{lic: l, id: id})
			return made{}
		},
		needs: func(l *License) error {
			if a.ids[KindPolicy][l.PolicySource] == "" || a.ids[KindProduct][l.ProductSource] == "" {
				return failf("dependency_failed", "its policy %s was not imported", l.PolicySource)
			}
			_, err := entIDs(l)
			return err
		},
		create: func(ctx context.Context, l *License) (made, error) {
			ents, err := entIDs(l)
			if err != nil {
				return made{}, err
			}
			got, err := a.c.Licenses.Create(ctx, licenseRequest(l, a.ids[KindProduct][l.ProductSource], a.ids[KindPolicy][l.PolicySource],
				ents, machines[l.SourceID] > 0, a.clock.Now()))
			if err != nil {
				return made{}, err
			}
			return made{id: got.ID, result: ResultCreated, cur: got}, nil
		},
		// The key is taken: by this record (an earlier run or create), or
		// by another.
		find: func(ctx context.Context, l *License, createErr error) (made, bool, error) {
			if !errors.Is(createErr, licentric.ErrConflict) {
				return made{}, false, nil
			}
			cur, err := a.c.Licenses.GetByKey(ctx, string(l.Key))
			switch {
			case err == nil && ours(cur.Metadata, a.p.System, l.SourceID):
				return made{id: cur.ID, result: ResultExisting, cur: cur}, true, nil
			case err == nil:
				return made{}, false, failf("key_taken", "the key is used in the target by license %s, which does not come from this source record", cur.ID)
			case errors.Is(err, licentric.ErrNotFound):
				return made{}, false, failf("key_taken", "the key is taken in the target by a license this API key cannot see (deleted, or in the other environment)")
			}
			return made{}, false, err
		},
		finish: func(_ context.Context, l *License, m made) error {
			cur, _ := m.cur.(*licentric.License)
			return a.adopt(l, m.id, cur, machines[l.SourceID] > 0, m.result)
		},
	})
}

// licenseRequest is the create of l. A license with machines or a status
// still to set is created without an expiry that is past or near, which
// is set last.
func licenseRequest(l *License, productID, policyID string, entIDs []string, hasMachines bool, now time.Time) *licentric.LicenseRequest {
	later := hasMachines || l.Status != licentric.StatusActive
	expiry := l.ExpiresAt
	if later && !expiry.IsZero() && expiry.Before(now.Add(interimHorizon)) {
		expiry = time.Time{}
	}
	key := string(l.Key)
	req := &licentric.LicenseRequest{
		ProductID: licentric.Value(productID), PolicyID: licentric.Value(policyID), Key: licentric.Value(key),
		ExpiresAt: licentric.Date(expiry), EntitlementIDs: entIDs, Metadata: l.Metadata,
	}
	if l.Name != "" {
		req.Name = licentric.Value(l.Name)
	}
	if l.UserEmail != "" {
		req.UserEmail = licentric.Value(l.UserEmail)
	}
	if l.UserName != "" {
		req.UserName = licentric.Value(l.UserName)
	}
	if l.MaxMachinesOverride != nil {
		req.MaxMachinesOverride = licentric.Value(*l.MaxMachinesOverride)
	}
	if l.MaxUsesOverride != nil {
		req.MaxUsesOverride = licentric.Value(*l.MaxUsesOverride)
	}
	return req
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

func (a *applier) machines(ctx context.Context) error {
	return importAll(ctx, a, a.p.Machines, steps[*Machine]{
		kind: KindMachine,
		rec:  func(m *Machine) *Record { return &m.Record },
		needs: func(m *Machine) error {
			if a.ids[KindLicense][m.LicenseSource] == "" {
				return failf("dependency_failed", "its license %s was not imported", m.LicenseSource)
			}
			return nil
		},
		create: func(ctx context.Context, m *Machine) (made, error) {
			got, err := a.c.Machines.Create(ctx, &licentric.MachineRequest{
				LicenseID: a.ids[KindLicense][m.LicenseSource], Fingerprint: m.Fingerprint, Name: m.Name, Platform: m.Platform,
				Hostname: m.Hostname, Cores: m.Cores, Metadata: m.Metadata,
			})
			if err != nil {
				return made{}, err
			}
			return made{id: got.ID, result: ResultCreated}, nil
		},
		find: a.findMachine,
	})
}

// findMachine resolves a refused machine activation: the machine made by
// an earlier run or create, or a conflict.
func (a *applier) findMachine(ctx context.Context, m *Machine, createErr error) (made, bool, error) {
	var ae *licentric.APIError
	switch {
	case errors.Is(createErr, licentric.ErrFingerprintConflict) && errors.As(createErr, &ae) && ae.MachineID() != "":
		cur, err := a.c.Machines.Get(ctx, ae.MachineID())
		if err != nil {
			return made{}, false, err
		}
		if !ours(cur.Metadata, a.p.System, m.SourceID) {
			return made{}, false, failf("fingerprint_conflict", "the license has a machine with this fingerprint already (%s), not from this source record", cur.ID)
		}
		return made{id: cur.ID, result: ResultExisting}, true, nil
	case errors.Is(createErr, licentric.ErrFingerprintConflict):
		return made{}, false, failf("fingerprint_conflict", "the fingerprint is activated on another license under the policy's uniqueness rule")
	case errors.Is(createErr, licentric.ErrLicenseNotActive):
		// An earlier run may have created it and set the status.
		licenseID := a.ids[KindLicense][m.LicenseSource]
		for mc, err := range a.c.Machines.List(ctx, &licentric.MachineListOptions{LicenseID: licenseID, ListOptions: licentric.ListOptions{Limit: 100}}) {
			if err != nil {
				return made{}, false, err
			}
			if mc.Fingerprint == m.Fingerprint && ours(mc.Metadata, a.p.System, m.SourceID) {
				return made{id: mc.ID, result: ResultExisting}, true, nil
			}
		}
		return made{}, false, failf("license_not_active", "the license is not active, so the machine cannot be activated")
	}
	return made{}, false, nil
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
	if st.cur == nil {
		cur, err := a.c.Licenses.Get(ctx, st.id)
		if err != nil {
			return err
		}
		st.cur = cur
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
			if err := a.transition(ctx, st); err != nil {
				return err
			}
		}
	}
	if !sameTime(st.cur.ExpiresAt.Time, l.ExpiresAt) {
		return a.patchExpiry(ctx, st, l.ExpiresAt)
	}
	return nil
}

// transition suspends or revokes a pending license.
func (a *applier) transition(ctx context.Context, st *licState) error {
	l := st.lic
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
	if !errors.Is(err, licentric.ErrConflict) {
		return err
	}
	// Done by an earlier run? Then the status is there.
	cur, err := a.c.Licenses.Get(ctx, st.id)
	if err != nil {
		return err
	}
	st.cur = cur
	if cur.Status != l.Status {
		return failf("status_refused", "the target refused to make the %s license %s", cur.Status, l.Status)
	}
	return nil
}

func (a *applier) patchExpiry(ctx context.Context, st *licState, t time.Time) error {
	got, err := a.c.Licenses.Update(ctx, st.id, &licentric.LicenseRequest{ExpiresAt: licentric.Date(t)})
	if err == nil {
		st.cur = got
	}
	return err
}
