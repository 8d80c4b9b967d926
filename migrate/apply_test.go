package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licentric/licentric-go"
	"github.com/licentric/licentric-go/licentrictest"
)

// writes counts the requests that change something.
func writes(srv *licentrictest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method != http.MethodGet {
			n++
		}
	}
	return n
}

// TestDryRunWritesNothing: a plan checked against the target sends only
// GET requests.
func TestDryRunWritesNothing(t *testing.T) {
	srv, c := newTarget(t)
	p, err := NewPlan(context.Background(), keygenFixture(), c, nil)
	require.NoError(t, err)
	assert.True(t, p.TargetChecked)
	assert.NotEmpty(t, srv.Requests())
	assert.Zero(t, writes(srv))
	assert.Equal(t, 21, p.ToImport())
}

// TestRerunIsIdempotent: a second run with the journal finds everything
// done and writes nothing; the target is unchanged.
func TestRerunIsIdempotent(t *testing.T) {
	srv, c := newTarget(t)
	path := filepath.Join(t.TempDir(), "journal")
	runImport(t, c, keygenFixture(), path)
	before := readTarget(t, c)
	srv.ResetRequests()
	p, res := runImport(t, c, keygenFixture(), path)
	assert.Zero(t, p.ToImport())
	assert.Zero(t, writes(srv), "a re-run after completion writes nothing")
	for _, k := range Kinds {
		c := res.Counts(k)
		assert.Zero(t, c.Created+c.Failed, k)
	}
	after := readTarget(t, c)
	assert.Equal(t, len(before.licenseList), len(after.licenseList))
	assert.Equal(t, len(before.machineList), len(after.machineList))
	checkAgainstPlan(t, c, p, path)
}

// TestRerunWithoutJournal: with the journal lost, the _source metadata
// still tells what was imported: nothing is duplicated, and the new
// journal ends up complete.
func TestRerunWithoutJournal(t *testing.T) {
	_, c := newTarget(t)
	runImport(t, c, keygenFixture(), filepath.Join(t.TempDir(), "first"))
	path := filepath.Join(t.TempDir(), "second")
	p, res := runImport(t, c, keygenFixture(), path)
	for _, k := range Kinds {
		assert.Zero(t, res.Counts(k).Created, k)
		assert.Zero(t, res.Counts(k).Failed, "%s: %+v", k, res.Outcomes)
	}
	checkAgainstPlan(t, c, p, path)
}

// TestRerunFindsKeysByKey: a record created in the target but not journaled
// (a crash between the two) is found by its key when the plan did not see
// it: create meets 409, GET /licenses/by-key finds the license with this
// record's _source, and it is adopted. The fixture's keys include a signed
// key/... key of 635 characters and keys with '/', '%', spaces and
// non-ASCII letters, which must be path-escaped.
func TestRerunFindsKeysByKey(t *testing.T) {
	_, c := newTarget(t)
	runImport(t, c, keygenFixture(), filepath.Join(t.TempDir(), "first"))
	path := filepath.Join(t.TempDir(), "second")
	j := openJournal(t, path)
	p, err := NewPlan(context.Background(), keygenFixture(), nil, nil) // no target: nothing known
	require.NoError(t, err)
	res, err := Apply(context.Background(), c, p, j, fastRetry())
	require.NoError(t, err)
	require.NoError(t, j.Close())
	for _, o := range res.Outcomes {
		assert.NotEqual(t, ResultFailed, o.Result, "%s %s: %+v", o.Kind, o.SourceID, o.Error)
	}
	assert.Zero(t, res.Counts(KindLicense).Created)
	checkAgainstPlan(t, c, p, path)
}

// TestKeyFromAnotherSourceIsAConflict: a key already used in the target by a
// license that does not come from the same source record is rejected by
// the plan, and by Apply when the plan did not see it; the existing license
// is never overwritten.
func TestKeyFromAnotherSourceIsAConflict(t *testing.T) {
	srv, c := newTarget(t)
	fx, err := srv.Seed(licentrictest.Seed{})
	require.NoError(t, err)
	const key = "A1B2C3-D4E5F6-A7B8C9-D0E1F2-A3B4C5-V3"
	other, err := srv.AddLicense(licentrictest.EnvTest, fx.Policy.ID, licentrictest.LicenseRequest{
		Key: licentric.Value(key), Name: licentric.Value("Somebody else"),
		Metadata: licentric.Metadata{SourceKey: map[string]any{"system": "keygen", "id": "another-record"}},
	})
	require.NoError(t, err)

	p, err := NewPlan(context.Background(), keygenFixture(), c, nil)
	require.NoError(t, err)
	var ada *License
	for _, l := range p.Licenses {
		if l.SourceID == kgLicense(1) {
			ada = l
		}
	}
	require.NotNil(t, ada.Rejection)
	assert.Equal(t, "key_taken", ada.Rejection.Code)
	assert.Contains(t, ada.Rejection.Message, other.ID)

	// Apply with a plan that did not look: the create's 409 is a conflict.
	blind, err := NewPlan(context.Background(), keygenFixture(), nil, nil)
	require.NoError(t, err)
	j := openJournal(t, filepath.Join(t.TempDir(), "journal"))
	res, err := Apply(context.Background(), c, blind, j, fastRetry())
	require.NoError(t, err)
	var got *Outcome
	for i, o := range res.Outcomes {
		if o.SourceID == kgLicense(1) {
			got = &res.Outcomes[i]
		}
	}
	require.NotNil(t, got)
	assert.Equal(t, ResultFailed, got.Result)
	assert.Equal(t, "key_taken", got.Error.Code)
	_, ok := j.Lookup(KindLicense, kgLicense(1))
	assert.False(t, ok, "a conflict is not journaled")
	// Its machines fail with it; the rest is imported.
	for _, o := range res.Outcomes {
		if o.SourceID == kgMachine(1) || o.SourceID == kgMachine(8) {
			assert.Equal(t, "dependency_failed", o.Error.Code)
		}
	}
	assert.Equal(t, 5, res.Counts(KindLicense).Created)
	now, err := c.Licenses.Get(context.Background(), other.ID)
	require.NoError(t, err)
	assert.Equal(t, "Somebody else", now.Name, "never overwritten")
	assert.Equal(t, jsonOf(t, other.Metadata), jsonOf(t, now.Metadata))
}

// TestProductCodeReused: a product whose code the target has already
// (made by hand) is used, not created, with a warning; its policies are
// created under it and every license is imported.
func TestProductCodeReused(t *testing.T) {
	_, c := newTarget(t)
	ctx := context.Background()
	theirs := map[string]string{} // code → id
	for _, code := range []string{"desktop-pro", "unicode-studio"} {
		got, err := c.Products.Create(ctx, &licentric.ProductRequest{Name: licentric.Value("Theirs"), Code: licentric.Value(code)})
		require.NoError(t, err)
		theirs[code] = got.ID
	}
	p, res := runImport(t, c, keygenFixture(), filepath.Join(t.TempDir(), "journal"))
	for _, pr := range p.Products {
		switch pr.SourceID {
		case kgP1, kgP2:
			require.True(t, pr.Accepted(), pr.SourceID)
			assert.Equal(t, theirs[pr.Code], pr.Existing)
			assert.Contains(t, issueCodes(&pr.Record), "product_reused")
		}
	}
	require.Zero(t, res.Failed(), "%+v", failures(res))
	assert.Equal(t, p.Counts(KindLicense).Accepted, res.Counts(KindLicense).Created)
	st := readTarget(t, c)
	for _, pol := range st.policies {
		_, src := withoutSource(pol.Metadata)
		if src["id"] == kgPol1 || src["id"] == kgPol2 {
			assert.Contains(t, []string{theirs["desktop-pro"], theirs["unicode-studio"]}, pol.ProductID, "created under the reused product")
		}
	}
	assert.Equal(t, "Theirs", st.products[theirs["desktop-pro"]].Name, "never overwritten")
}

// TestJournalOfAnotherImportIsRefused: a journal written for a Keygen
// import is not used for a Cryptlex one.
func TestJournalOfAnotherImportIsRefused(t *testing.T) {
	_, c := newTarget(t)
	path := filepath.Join(t.TempDir(), "journal")
	runImport(t, c, keygenFixture(), path)
	j := openJournal(t, path)
	_, err := NewPlan(context.Background(), cryptlexFixture(), c, &PlanOptions{Journal: j})
	require.ErrorIs(t, err, ErrJournalMismatch)
	p, err := NewPlan(context.Background(), cryptlexFixture(), c, nil)
	require.NoError(t, err)
	_, err = Apply(context.Background(), c, p, j)
	require.ErrorIs(t, err, ErrJournalMismatch)

	srv2, c2 := newTarget(t)
	_ = srv2
	p, err = NewPlan(context.Background(), keygenFixture(), c2, nil)
	require.NoError(t, err)
	_, err = Apply(context.Background(), c2, p, j)
	require.ErrorIs(t, err, ErrJournalMismatch, "another service")
}

// TestInterruptedByContext: cancelling the context at any point leaves a
// journal from which a re-run finishes with exactly one record per source
// record.
func TestInterruptedByContext(t *testing.T) {
	dir := t.TempDir()
	genKeygen(t, dir, 120)
	src := &Keygen{Dir: dir}
	for _, stopAt := range []int{1, 7, 60, 130, 150} {
		_, c := newTarget(t)
		path := filepath.Join(t.TempDir(), "journal")
		ctx, cancel := context.WithCancel(context.Background())
		j := openJournal(t, path)
		p, err := NewPlan(ctx, src, c, &PlanOptions{Journal: j})
		require.NoError(t, err)
		res, err := Apply(ctx, c, p, j, fastRetry(), WithProgress(func(pr Progress) {
			if pr.Done >= stopAt {
				cancel()
			}
		}))
		cancel()
		require.ErrorIs(t, err, context.Canceled, "stop at %d", stopAt)
		require.NotNil(t, res)
		require.NoError(t, j.Close())
		p, res = runImport(t, c, src, path)
		require.Zero(t, res.Failed(), "stop at %d: %+v", stopAt, res.Outcomes)
		checkAgainstPlan(t, c, p, path)
	}
}

// faultProxy sits between the client and the server and, for a share of
// the requests, answers 503, drops the connection before the server sees
// the request, or drops it after the server has acted (the response is
// lost).
type faultProxy struct {
	srv    *httptest.Server
	target *url.URL
	tr     *http.Transport
	rate   float64

	mu  sync.Mutex
	rnd *rand.Rand

	injected atomic.Int64
	total    atomic.Int64
}

func newFaultProxy(t *testing.T, target string, rate float64, seed uint64) *faultProxy {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	f := &faultProxy{target: u, tr: &http.Transport{Proxy: nil}, rate: rate, rnd: rand.New(rand.NewPCG(seed, seed^0x9e37))}
	f.srv = httptest.NewServer(f)
	t.Cleanup(func() {
		f.srv.Close()
		f.tr.CloseIdleConnections()
	})
	return f
}

func (f *faultProxy) roll() float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rnd.Float64()
}

func (f *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.total.Add(1)
	roll := f.roll()
	body, _ := io.ReadAll(r.Body)
	if roll < f.rate/3 {
		f.injected.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":"Injected","code":"INTERNAL_ERROR","status":503}`))
		return
	}
	if roll < 2*f.rate/3 {
		f.injected.Add(1)
		drop(w)
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, f.target.String()+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		drop(w)
		return
	}
	out.Header = r.Header.Clone()
	resp, err := f.tr.RoundTrip(out)
	if err != nil {
		drop(w)
		return
	}
	defer resp.Body.Close()
	if roll < f.rate {
		f.injected.Add(1)
		_, _ = io.Copy(io.Discard, resp.Body)
		drop(w)
		return
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func drop(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// TestFaults: with 10% of the requests answered 503 or dropped (before or
// after the server acted), the import ends in the same state as without
// faults.
func TestFaults(t *testing.T) {
	dir := t.TempDir()
	genKeygen(t, dir, 150)
	src := &Keygen{Dir: dir}
	srv, direct := newTarget(t)
	proxy := newFaultProxy(t, srv.URL, 0.10, 7)
	c := newClient(t, proxy.srv.URL, srv.TestAPIKey(), licentric.WithoutRateBudget())
	path := filepath.Join(t.TempDir(), "journal")
	j := openJournal(t, path)
	p, err := NewPlan(context.Background(), src, c, &PlanOptions{Journal: j})
	require.NoError(t, err)
	res, err := Apply(context.Background(), c, p, j, fastRetry())
	require.NoError(t, err)
	require.NoError(t, j.Close())
	require.Zero(t, res.Failed(), "%+v", failures(res))
	t.Logf("%d of %d requests faulted", proxy.injected.Load(), proxy.total.Load())
	assert.Greater(t, proxy.injected.Load(), int64(20))
	checkAgainstPlan(t, direct, p, path)
}

func failures(r *Result) []Outcome {
	var out []Outcome
	for _, o := range r.Outcomes {
		if o.Result == ResultFailed {
			out = append(out, o)
		}
	}
	return out
}

// TestTargetDownStops: a target that keeps failing stops Apply with
// ErrTargetUnavailable after a few records, and a refused API key stops it
// at once; the journal stays usable.
func TestTargetDownStops(t *testing.T) {
	srv, c := newTarget(t)
	srv.InjectFault(licentrictest.Fault{Status: http.StatusServiceUnavailable, Times: 10_000})
	path := filepath.Join(t.TempDir(), "journal")
	j := openJournal(t, path)
	p := planOf(t, keygenFixture())
	_, err := Apply(context.Background(), c, p, j, WithRetry(2, 1, 1))
	require.ErrorIs(t, err, ErrTargetUnavailable)
	require.NoError(t, j.Close())
	srv.ClearFaults()

	bad := newClient(t, srv.URL, srv.NewAPIKey(licentrictest.EnvTest, "licenses:read"), licentric.WithoutRateBudget())
	j = openJournal(t, path)
	_, err = Apply(context.Background(), bad, p, j, fastRetry())
	require.ErrorIs(t, err, ErrTargetUnavailable)
	assert.True(t, errors.Is(err, licentric.ErrForbidden) || strings.Contains(err.Error(), "refused"))
	require.NoError(t, j.Close())

	p, res := runImport(t, c, keygenFixture(), path)
	require.Zero(t, res.Failed())
	checkAgainstPlan(t, c, p, path)
}

// TestReportsNameNoKey: the text and JSON reports carry source ids and
// origins, never a license key.
func TestReportsNameNoKey(t *testing.T) {
	_, c := newTarget(t)
	p, res := runImport(t, c, keygenFixture(), filepath.Join(t.TempDir(), "journal"))
	var buf bytes.Buffer
	require.NoError(t, p.WriteText(&buf))
	require.NoError(t, p.WriteJSONLines(&buf))
	require.NoError(t, res.WriteText(&buf))
	require.NoError(t, res.WriteJSONLines(&buf))
	out := buf.String()
	for _, l := range p.Licenses {
		if l.Key != "" {
			assert.NotContains(t, out, string(l.Key), l.SourceID)
		}
	}
	assert.Contains(t, out, "licenses-2.json record 2")
	assert.Contains(t, out, `"level":"rejected"`)
	assert.Contains(t, out, `"type":"outcome"`)
	assert.Contains(t, out, kgLicense(7))
	// A plan printed with %v shows no key either.
	for _, l := range p.Licenses {
		if len(l.Key) > 8 {
			assert.NotContains(t, strings.Join([]string{
				sprint(l), sprint(*l), sprint(l.Key),
			}, "\n"), string(l.Key))
		}
	}
}

func sprint(v any) string {
	return fmt.Sprintf("%v %+v %#v %s %q", v, v, v, v, v)
}

// TestOneRetryLayer: against a target that answers 503 to everything, a
// record gets at most the WithRetry count of tries (4 by default): its
// create, then, since the create may have acted, look-ups for what it
// made; and each request is tried by the client under its own policy
// alone (1 + MaxRetries = 4 attempts for a look-up, 1 for a create): no
// step is retried on top of the client's retries.
func TestOneRetryLayer(t *testing.T) {
	srv, c := newTarget(t)
	srv.InjectFault(licentrictest.Fault{Status: http.StatusServiceUnavailable, Times: 10_000})
	j := openJournal(t, filepath.Join(t.TempDir(), "journal"))
	p := planOf(t, keygenFixture())
	res, err := Apply(context.Background(), c, p, j, WithRetry(0, time.Millisecond, time.Millisecond))
	require.ErrorIs(t, err, ErrTargetUnavailable)
	products := res.Counts(KindProduct).Failed
	require.Positive(t, products)
	assert.Equal(t, products, srv.CountRequests(http.MethodPost, "/products"), "one create a product")
	assert.Equal(t, products*3*4, srv.CountRequests(http.MethodGet, "/products"), "then 3 look-ups, each tried 4 times by the client")
	assert.Equal(t, res.Failed()*(1+3*4), len(srv.Requests()), "the same for every record tried")
}
